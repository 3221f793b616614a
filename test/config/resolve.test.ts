import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  defaultNamespaceUuid,
  defaultSerial,
  parseConfig,
  parseSerial,
  parseUuid,
  resolveConfig,
  type NvmetConfig,
} from '../../target/config/index.js';

function config(doc: unknown): NvmetConfig {
  const r = parseConfig(doc, { topologyValidator: false });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.config;
}

describe('resolveConfig', () => {
  const minimal = {
    ports: [{ portid: 3, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0' }, subsystems: ['nqn.2024-01.io.example:r'] }],
    subsystems: [
      {
        nqn: 'nqn.2024-01.io.example:r',
        namespaces: [
          { nsid: 1, enable: 1, device: { path: 'ram:4M' } },
          { nsid: 2, enable: 1, device: { path: 'disks/two.img' }, ana_grpid: 3, ana: { grpid: '2' }, p2pmem: '0000:06:00.0', nvmet_ts: { block_size: 4096, nvme: '0000:05:00.0' } },
          { nsid: 3, enable: 0, device: { path: '(null)' }, ana: { grpid: '2' } },
        ],
      },
    ],
  };

  it('fills Linux defaults where the file is silent', () => {
    const r = resolveConfig(config(minimal), '/etc/nvmet');
    const s = r.subsystems[0]!;
    expect(s).toMatchObject({
      allowAnyHost: false,
      model: 'Linux',
      version: '1.3',
      vs: 0x10300,
      cntlidMin: 1,
      cntlidMax: 0xffef,
      qidMax: 128,
      ieeeOui: 0,
      piEnable: false,
      allowedHosts: [],
    });
    expect(s.namespaces[0]).toMatchObject({
      nsid: 1,
      enabled: true,
      backing: { kind: 'ram', bytes: 4 << 20 },
      blockSize: 512,
      nguid: DEFAULTS.nguid,
      anaGrpid: 1,
      p2pmem: false,
    });
    expect(s.namespaces[0]!.nvme).toBeUndefined();
    expect(s.namespaces[1]).toMatchObject({
      backing: { kind: 'file', path: '/etc/nvmet/disks/two.img' },
      blockSize: 4096,
      anaGrpid: 3, // top-level ana_grpid wins over the "ana" group, as nvmetcli restore applies it last
      p2pmem: '0000:06:00.0',
      nvme: '0000:05:00.0',
    });
    expect(s.namespaces[2]).toMatchObject({ enabled: false, backing: null, anaGrpid: 2 });
    expect(r.ports[0]).toEqual({
      portid: 3,
      trtype: 'tcp',
      adrfam: 'ipv4',
      traddr: '127.0.0.1',
      trsvcid: '0',
      treq: 'not specified',
      inlineDataSize: -1,
      maxQueueSize: -1,
      allowP2pmem: false,
      subsystems: ['nqn.2024-01.io.example:r'],
      anaGroups: [],
      referrals: [],
    });
    expect(r.hosts).toEqual([]);
    expect(r.topology).toBeUndefined();
  });

  it('derives a stable, valid serial and namespace UUIDs from the NQN', () => {
    const a = resolveConfig(config(minimal));
    const b = resolveConfig(config(minimal));
    const s = a.subsystems[0]!;
    expect(s.serial).toBe(b.subsystems[0]!.serial);
    expect(s.serial).toBe(defaultSerial('nqn.2024-01.io.example:r'));
    expect(parseSerial(s.serial).ok).toBe(true);
    expect(defaultSerial('nqn.2024-01.io.example:other')).not.toBe(s.serial);
    const uuids = s.namespaces.map((n) => n.uuid);
    expect(new Set(uuids).size).toBe(3);
    for (const [i, u] of uuids.entries()) {
      expect(parseUuid(u).ok).toBe(true);
      expect(u[14]).toBe('8'); // version 8
      expect('89ab').toContain(u[19]!); // RFC variant
      expect(u).toBe(defaultNamespaceUuid('nqn.2024-01.io.example:r', i + 1));
    }
  });

  it('keeps what the file says', () => {
    const doc = structuredClone(minimal) as typeof minimal & { subsystems: { attr?: object }[] };
    doc.subsystems[0]!.attr = { allow_any_host: '1', serial: 'S1', model: 'M', version: '2.0', cntlid_min: '5', cntlid_max: '9', firmware: 'fw' };
    const s = resolveConfig(config(doc)).subsystems[0]!;
    expect(s).toMatchObject({ allowAnyHost: true, serial: 'S1', model: 'M', version: '2.0', vs: 0x20000, cntlidMin: 5, cntlidMax: 9, firmware: 'fw' });
  });
});
