/** Single-object parsing, as the management API validates request bodies. */
import { describe, expect, it } from 'vitest';
import {
  configToJson,
  parseConfig,
  parseHostJson,
  parseNamespaceJson,
  parsePortJson,
  parseSubsystemJson,
  type NvmetConfig,
  type ParseOptions,
} from '../../target/config/index.js';

const api: ParseOptions = { unknownFields: 'reject', backingPaths: { allowedDirs: ['/srv/nvmet'] } };

describe('parse*Json (request bodies)', () => {
  it('reads a namespace with paths relative to the body', () => {
    const ok = parseNamespaceJson({ nsid: 5, enable: 1, device: { path: 'ns5.img' }, p2pmem: '05:00.0' }, api);
    expect(ok).toEqual({
      ok: true,
      value: { nsid: 5, enable: true, device: { path: 'ns5.img' }, p2pmem: '0000:05:00.0' },
      warnings: [],
    });
    const bad = parseNamespaceJson({ nsid: 0, enable: 1, device: { path: '../../etc/shadow' }, evil: 1 }, api);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors.map((e) => e.path)).toEqual(['nsid', 'evil', 'device.path']);
      expect(bad.errors[2]!.message).toMatch(/"\.\." segments/);
    }
  });

  it('uses a caller-given base path', () => {
    const bad = parsePortJson({ portid: 1, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '1.2.3', trsvcid: '4420' } }, api, 'body');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors).toEqual([{ path: 'body.addr.traddr', message: 'must be an IPv4 address for adrfam "ipv4", got "1.2.3"' }]);
  });

  it('refuses non-objects and non-JSON', () => {
    for (const raw of [null, 'x', [], 3, undefined]) {
      const r = parseHostJson(raw, api);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.errors[0]!.path).toBe('$');
    }
    const fn = parseSubsystemJson({ nqn: 'nqn.2024-01.io.example:s', attr: { model: () => 1 } }, api);
    expect(fn.ok).toBe(false);
  });

  it('checks a subsystem on its own; cross-references need the whole config', () => {
    const sub = parseSubsystemJson(
      { nqn: 'nqn.2024-01.io.example:s', attr: { allow_any_host: '0' }, allowed_hosts: ['nqn.2024-01.io.example:h'], namespaces: [] },
      api,
    );
    expect(sub.ok).toBe(true);
    if (!sub.ok) return;
    // The API puts the object into the running config and validates the result.
    const config: NvmetConfig = { hosts: [], ports: [], subsystems: [sub.value] };
    const whole = parseConfig(configToJson(config), { ...api, topologyValidator: false });
    expect(whole.ok).toBe(false);
    if (!whole.ok) expect(whole.errors).toEqual([{ path: 'subsystems[0].allowed_hosts[0]', message: 'host "nqn.2024-01.io.example:h" is not defined in hosts' }]);
  });
});
