/**
 * The runner-side validators on real nvme-cli 2.3 output captured from the
 * guest against nvmet-ts (fixtures/), and on the same output with one field
 * wrong — the suite must notice every one of those.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../lib/plan.js';
import { checkDiscovery, checkIdCtrl, checkIdNs, checkList, checkNsDescs, readJson } from '../lib/validate.js';

const fx = (f: string) => join(import.meta.dirname, 'fixtures', f);
const plan = JSON.parse(readFileSync(fx('plan.json'), 'utf8')) as Plan;
const ns1 = plan.namespaces[0]!;
type J = Record<string, unknown>;
const load = (f: string): J => readJson(fx(f));
const withField = (o: J, k: string, v: unknown): J => ({ ...o, [k]: v });

describe('id-ctrl', () => {
  const id = load('id-ctrl.json');
  it('accepts the real output', () => expect(checkIdCtrl(id, plan, 1)).toBeNull());
  it.each([
    ['sn', 'OTHER', /sn "OTHER"/],
    ['mn', 'Linux', /mn "Linux"/],
    ['subnqn', 'nqn.2014-08.org.nvmexpress:other', /subnqn/],
    ['sqes', 0x77, /sqes 0x77/],
    ['cqes', 0x55, /cqes 0x55/],
    ['nn', 1, /nn 1 < 3/],
    ['ioccsz', 3, /ioccsz 3/],
    ['iorcsz', 2, /iorcsz 2/],
    ['ver', 0x10100, /ver 0x10100/],
    ['kas', 0, /kas 0/],
    ['maxcmd', 0, /maxcmd 0/],
    ['fr', '        ', /empty fr/],
  ])('rejects a wrong %s', (k, v, msg) => {
    expect(checkIdCtrl(withField(id, k, v), plan, 1)).toMatch(msg);
  });
  it('rejects a cntlid other than the one Connect returned', () => expect(checkIdCtrl(id, plan, 2)).toMatch(/cntlid 1/));
  it('requires cntrltype 1 from NVMe 1.4 on', () => {
    expect(checkIdCtrl(withField(withField(id, 'ver', 0x10400), 'cntrltype', 0), plan, 1)).toMatch(/cntrltype 0/);
  });
  it('reads JSON after a leading command echo', () => {
    expect(readJson(fx('id-ctrl.json')).sn).toBe(id.sn);
  });
});

describe('id-ns', () => {
  const id = load('id-ns-1.json');
  it('accepts the real output', () => expect(checkIdNs(id, ns1.bytes, ns1)).toBeNull());
  it('rejects a size that is not the backing size', () => {
    expect(checkIdNs(withField(id, 'nsze', Number(id.nsze) - 1), null, ns1)).toMatch(/nsze/);
    expect(checkIdNs(id, ns1.bytes + 4096, ns1)).toMatch(/block device/);
  });
  it('rejects ncap != nsze and nuse > nsze', () => {
    expect(checkIdNs(withField(id, 'ncap', 1), null, ns1)).toMatch(/ncap/);
    expect(checkIdNs(withField(id, 'nuse', Number(id.nsze) + 1), null, ns1)).toMatch(/nuse/);
  });
  it('rejects a wrong NGUID but tolerates an all-zero one', () => {
    expect(checkIdNs(withField(id, 'nguid', 'ff'.repeat(16)), null, ns1)).toMatch(/nguid/);
    expect(checkIdNs(withField(id, 'nguid', '0'.repeat(32)), null, ns1)).toBeNull();
  });
  it('rejects an FLBAS that points past the LBA formats', () => {
    expect(checkIdNs(withField(id, 'flbas', 5), null, ns1)).toMatch(/LBA format 5/);
  });
});

describe('ns-descs', () => {
  const d = load('ns-descs-1.json');
  it('accepts the real output', () => expect(checkNsDescs(d, ns1)).toBeNull());
  it('rejects a missing or wrong UUID', () => {
    const list = d['ns-descs'] as J[];
    expect(checkNsDescs({ 'ns-descs': list.filter((x) => x.type !== 'uuid') }, ns1)).toMatch(/no UUID/);
    expect(checkNsDescs({ 'ns-descs': list.map((x) => (x.type === 'uuid' ? { ...x, uuid: '00000000-0000-0000-0000-000000000001' } : x)) }, ns1)).toMatch(/uuid/);
  });
});

describe('list', () => {
  const l = load('list.json');
  it('accepts the real output', () => expect(checkList(l, plan)).toBeNull());
  it('rejects a wrong serial or model', () => {
    const devs = l.Devices as J[];
    expect(checkList({ Devices: devs.map((x) => ({ ...x, SerialNumber: 'X' })) }, plan)).toMatch(/0 device/);
    expect(checkList({ Devices: devs.map((x) => ({ ...x, ModelNumber: 'Linux' })) }, plan)).toMatch(/model "Linux"/);
  });
});

describe('discovery log', () => {
  const log = load('discover-4420.json');
  it('accepts the real output', () => expect(checkDiscovery(log, plan, 4420)).toBeNull());
  it('rejects a log without the subsystem, or with it on another port', () => {
    expect(checkDiscovery({ ...log, records: [] }, plan, 4420)).toMatch(/not in the log/);
    expect(checkDiscovery(log, plan, 8009)).toMatch(/trsvcid 8009/);
    expect(checkDiscovery({ records: log.records }, plan, 4420)).toMatch(/genctr/);
  });
  it('requires the current discovery subsystem as record 0, on the same port and address', () => {
    const recs = log.records as J[];
    expect(recs[0]!.subtype).toBe('current discovery subsystem');
    const others = recs.filter((r) => r.subtype !== 'current discovery subsystem');
    expect(checkDiscovery({ ...log, records: others }, plan, 4420)).toMatch(/0 "current discovery subsystem" records/);
    expect(checkDiscovery({ ...log, records: [...others, recs[0]] }, plan, 4420)).toMatch(/not record 0/);
    const swap = (patch: J): J => ({ ...log, records: [{ ...recs[0], ...patch }, ...others] });
    expect(checkDiscovery(swap({ subnqn: 'nqn.2014-08.org.example:other' }), plan, 4420)).toMatch(/subnqn "nqn.2014-08.org.example:other"/);
    expect(checkDiscovery(swap({ trsvcid: '8009' }), plan, 4420)).toMatch(/trsvcid 8009/);
    expect(checkDiscovery(swap({ portid: 9 }), plan, 4420)).toMatch(/portid 9/);
    expect(checkDiscovery(swap({ traddr: '10.0.0.9' }), plan, 4420)).toMatch(/10\.0\.0\.9/);
  });
});
