/**
 * `namespaces[].nvmet_ts.eui64` (an nvmet-ts extension: Linux nvmet's configfs has
 * device_uuid and device_nguid but no EUI-64 attribute): parsed with errors naming
 * the JSON path, written back, and reported by the running service in Identify
 * Namespace (EUI64, bytes 120-127) and the NS Identification Descriptor list (NIDT 1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NvmetService } from '../../target/service/index.js';
import { parseConfig } from '../../target/config/index.js';
import { configToJson } from '../../target/config/serialize.js';
import { silentLogger } from '../../target/core/log.js';
import { connect, type Controller } from '../../initiator/index.js';
import { Nidt } from '../../src/nvme/identify-lists.js';

const SUBNQN = 'nqn.2024-01.io.nvmet-ts:eui64';
const HOST = { hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:eeeeeeee-0000-4000-8000-00000000000e', hostid: 'eeeeeeee-0000-4000-8000-00000000000e' };

function doc(nvmetTs: Record<string, unknown> | null, nsid2 = false): Record<string, unknown> {
  const ns = (nsid: number, extra: Record<string, unknown> | null) => ({
    nsid,
    enable: 1,
    device: { path: 'ram:1M', uuid: `4a9e9a2c-4c1e-4b8f-9d11-2f3a4b5c6d7${nsid}`, nguid: `01234567-89ab-cdef-0123-456789abcde${nsid}` },
    ...(extra === null ? {} : { nvmet_ts: extra }),
  });
  return {
    hosts: [],
    ports: [
      {
        portid: 1,
        addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0', treq: 'not specified' },
        param: {},
        subsystems: [SUBNQN],
        referrals: [],
      },
    ],
    subsystems: [
      {
        nqn: SUBNQN,
        allowed_hosts: [],
        attr: { allow_any_host: '1', serial: 'eui64test' },
        namespaces: nsid2 ? [ns(1, nvmetTs), ns(2, null)] : [ns(1, nvmetTs)],
      },
    ],
  };
}

let svc: NvmetService | null = null;
let ctrl: Controller | null = null;
afterEach(async () => {
  await ctrl?.close().catch(() => undefined);
  ctrl = null;
  await svc?.stop();
  svc = null;
});

describe('namespaces[].nvmet_ts.eui64', () => {
  it.each([
    ['00-11-22-33-44-55-66-77', '0011223344556677'],
    ['00:11:22:33:44:55:66:77', '0011223344556677'],
    ['AABBCCDDEEFF0011', 'aabbccddeeff0011'],
  ])('%s is read as %s and written back in that form', (input, norm) => {
    const r = parseConfig(doc({ eui64: input }));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const out = configToJson(r.config) as unknown as { subsystems: { namespaces: { nvmet_ts?: { eui64?: string } }[] }[] };
    expect(out.subsystems[0]!.namespaces[0]!.nvmet_ts?.eui64).toBe(norm);
  });

  it.each([['00112233445566'], ['001122334455667788'], ['zz11223344556677'], ['0011-2233-4455-6677-'], [42]])(
    '%s is a configuration error naming subsystems[0].namespaces[0].nvmet_ts.eui64',
    (bad) => {
      const r = parseConfig(doc({ eui64: bad }));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.errors.map((e) => e.path)).toEqual(['subsystems[0].namespaces[0].nvmet_ts.eui64']);
    },
  );

  it('is reported in Identify Namespace and the descriptor list; a namespace without one reports none', async () => {
    const r = parseConfig(doc({ eui64: '00-11-22-33-44-55-66-77' }, true));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    svc = await NvmetService.start({ config: r.config, logger: silentLogger, dataPath: false });
    const port = Number(svc.port(1)!.addr.trsvcid);
    ctrl = await connect({ host: '127.0.0.1', port, subnqn: SUBNQN, queues: 1, kato: 0, ...HOST });

    const id1 = await ctrl.identifyNamespace(1);
    expect(Buffer.from(id1.eui64).toString('hex')).toBe('0011223344556677');
    const d1 = await ctrl.namespaceDescriptors(1);
    const eui = d1.filter((d) => d.nidt === Nidt.Eui64);
    expect(eui.map((d) => Buffer.from(d.nid).toString('hex'))).toEqual(['0011223344556677']);
    // the NGUID and UUID are still there beside it
    expect(d1.map((d) => d.nidt)).toEqual(expect.arrayContaining([Nidt.Eui64, Nidt.Nguid, Nidt.Uuid]));

    const id2 = await ctrl.identifyNamespace(2);
    expect(Buffer.from(id2.eui64).toString('hex')).toBe('0000000000000000');
    const d2 = await ctrl.namespaceDescriptors(2);
    expect(d2.some((d) => d.nidt === Nidt.Eui64)).toBe(false);
  });
});
