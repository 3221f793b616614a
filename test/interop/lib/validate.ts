/**
 * Runner-side checks of what nvme-cli printed in the guest: the guest only
 * knows a command ran; these compare the decoded fields with the plan.
 * Each validator returns null when the artifact is right, else the first problem.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from './plan.js';
import type { WireStats } from './wire.js';

type Json = Record<string, unknown>;

const DISCOVERY_NQN = 'nqn.2014-08.org.nvmexpress.discovery';

/** nvme-cli JSON output, tolerating anything printed before the object. */
export function readJson(file: string): Json {
  if (!existsSync(file)) throw new Error(`${file.split('/').pop()} missing`);
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf('{');
  if (at < 0) throw new Error(`${file.split('/').pop()}: no JSON object in output`);
  return JSON.parse(text.slice(at)) as Json;
}

const trim = (v: unknown): string => String(v ?? '').trim();
const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

export function checkDiscovery(log: Json, plan: Plan, port: number): string | null {
  const recs = log.records;
  if (!Array.isArray(recs)) return 'no records array';
  if (typeof log.genctr !== 'number') return 'no genctr';
  const mine = (recs as Json[]).filter((r) => r.subnqn === plan.subnqn);
  if (mine.length === 0) return `${plan.subnqn} not in the log (${recs.length} records)`;
  const here = mine.find((r) => trim(r.trsvcid) === String(port));
  if (!here) return `${plan.subnqn} listed, but not with trsvcid ${port} (got ${mine.map((r) => trim(r.trsvcid)).join(',')})`;
  if (here.trtype !== 'tcp') return `trtype ${String(here.trtype)}, expected tcp`;
  if (here.adrfam !== 'ipv4') return `adrfam ${String(here.adrfam)}, expected ipv4`;
  if (here.subtype !== 'nvme subsystem') return `subtype "${String(here.subtype)}", expected "nvme subsystem"`;
  // Linux nvmet (>= 5.19, TP8014) lists the discovery subsystem itself first, on the port the host asked.
  const curr = (recs as Json[]).filter((r) => r.subtype === 'current discovery subsystem');
  if (curr.length !== 1) return `${curr.length} "current discovery subsystem" records, expected 1`;
  const c = curr[0]!;
  if (recs[0] !== c) return 'the "current discovery subsystem" record is not record 0';
  if (c.subnqn !== DISCOVERY_NQN) return `current discovery subsystem subnqn "${String(c.subnqn)}", expected "${DISCOVERY_NQN}"`;
  if (trim(c.trsvcid) !== String(port)) return `current discovery subsystem trsvcid ${trim(c.trsvcid)}, expected ${port}`;
  if (c.trtype !== 'tcp' || c.adrfam !== 'ipv4') return `current discovery subsystem ${String(c.trtype)}/${String(c.adrfam)}, expected tcp/ipv4`;
  if (c.portid !== here.portid || trim(c.traddr) !== trim(here.traddr)) {
    return `current discovery subsystem at portid ${String(c.portid)} ${trim(c.traddr)}, but ${plan.subnqn} at portid ${String(here.portid)} ${trim(here.traddr)}`;
  }
  return null;
}

export function checkList(list: Json, plan: Plan): string | null {
  const devs = list.Devices;
  if (!Array.isArray(devs)) return 'no Devices array';
  const mine = (devs as Json[]).filter((d) => trim(d.SerialNumber) === plan.serial);
  if (mine.length < plan.namespaces.length) {
    return `${mine.length} device(s) with serial ${plan.serial}, expected ${plan.namespaces.length} (serials: ${(devs as Json[]).map((d) => trim(d.SerialNumber)).join(',')})`;
  }
  for (const d of mine) {
    if (trim(d.ModelNumber) !== plan.model) return `${String(d.DevicePath)}: model "${trim(d.ModelNumber)}", expected "${plan.model}"`;
    const ns = plan.namespaces.find((n) => n.nsid === d.NameSpace);
    if (ns && num(d.PhysicalSize) !== ns.bytes) return `${String(d.DevicePath)}: size ${String(d.PhysicalSize)}, expected ${ns.bytes}`;
  }
  return null;
}

export function checkIdCtrl(id: Json, plan: Plan, cntlid: number): string | null {
  if (trim(id.sn) !== plan.serial) return `sn "${trim(id.sn)}", expected "${plan.serial}"`;
  if (trim(id.mn) !== plan.model) return `mn "${trim(id.mn)}", expected "${plan.model}"`;
  if (id.subnqn !== plan.subnqn) return `subnqn "${String(id.subnqn)}", expected "${plan.subnqn}"`;
  if (num(id.cntlid) !== cntlid) return `cntlid ${String(id.cntlid)}, but the Connect response gave ${cntlid}`;
  if (num(id.sqes) !== 0x66) return `sqes 0x${num(id.sqes).toString(16)}, expected 0x66`;
  if (num(id.cqes) !== 0x44) return `cqes 0x${num(id.cqes).toString(16)}, expected 0x44`;
  const maxNsid = Math.max(plan.added.nsid, ...plan.namespaces.map((n) => n.nsid));
  if (!(num(id.nn) >= maxNsid)) return `nn ${String(id.nn)} < ${maxNsid}`;
  if (!(num(id.ioccsz) >= 4)) return `ioccsz ${String(id.ioccsz)} < 4 (a 64-byte SQE)`;
  if (num(id.iorcsz) !== 1) return `iorcsz ${String(id.iorcsz)}, expected 1 (16-byte CQE)`;
  if (!(num(id.ver) >= 0x10200)) return `ver 0x${num(id.ver).toString(16)} < 1.2`;
  if (num(id.ver) >= 0x10400 && num(id.cntrltype) !== 1) return `cntrltype ${String(id.cntrltype)}, expected 1 (I/O controller)`;
  if (!(num(id.kas) > 0)) return 'kas 0: keep-alive is mandatory on fabrics';
  if (!(num(id.maxcmd) > 0)) return 'maxcmd 0';
  if (trim(id.fr) === '') return 'empty fr (firmware revision)';
  return null;
}

export function checkIdNs(id: Json, bdevBytes: number | null, ns: Plan['namespaces'][number]): string | null {
  const flbas = num(id.flbas) & 0xf;
  const lbafs = id.lbafs;
  if (!Array.isArray(lbafs) || lbafs.length <= flbas) return `no LBA format ${flbas}`;
  const ds = num((lbafs[flbas] as Json).ds);
  if (!(ds >= 9 && ds <= 16)) return `LBA data size 2^${ds}`;
  const nsze = num(id.nsze);
  if (nsze * 2 ** ds !== ns.bytes) return `nsid ${ns.nsid}: nsze ${nsze} x ${2 ** ds} = ${nsze * 2 ** ds} bytes, expected ${ns.bytes}`;
  if (num(id.ncap) !== nsze) return `nsid ${ns.nsid}: ncap ${String(id.ncap)} != nsze ${nsze}`;
  if (num(id.nuse) > nsze) return `nsid ${ns.nsid}: nuse > nsze`;
  const nguid = trim(id.nguid);
  if (nguid !== '' && !/^0+$/.test(nguid) && nguid !== ns.nguid) return `nsid ${ns.nsid}: nguid ${nguid}, expected ${ns.nguid}`;
  if (bdevBytes !== null && bdevBytes !== ns.bytes) return `nsid ${ns.nsid}: block device is ${bdevBytes} bytes, expected ${ns.bytes}`;
  return null;
}

export function checkNsDescs(d: Json, ns: Plan['namespaces'][number]): string | null {
  const list = d['ns-descs'];
  if (!Array.isArray(list)) return `nsid ${ns.nsid}: no ns-descs array`;
  const uuid = (list as Json[]).find((x) => x.type === 'uuid');
  const nguid = (list as Json[]).find((x) => x.type === 'nguid');
  if (!uuid) return `nsid ${ns.nsid}: no UUID descriptor`;
  if (trim(uuid.uuid) !== ns.uuid) return `nsid ${ns.nsid}: uuid ${trim(uuid.uuid)}, expected ${ns.uuid}`;
  if (nguid && trim(nguid.nguid) !== ns.nguid) return `nsid ${ns.nsid}: nguid ${trim(nguid.nguid)}, expected ${ns.nguid}`;
  return null;
}

/** Runner-side verdict for row `id`, or null when it has nothing to add. */
export function validateRow(id: string, artifacts: string, plan: Plan, wire: WireStats | null): string | null {
  const a = (f: string) => join(artifacts, f);
  try {
    switch (id) {
      case 'discover-json': return checkDiscovery(readJson(a(`discover-${plan.port}.json`)), plan, plan.port);
      case 'discover-8009-json': return plan.discPort === null ? null : checkDiscovery(readJson(a(`discover-${plan.discPort}.json`)), plan, plan.discPort);
      case 'list': return checkList(readJson(a('list.json')), plan);
      case 'id-ctrl': return checkIdCtrl(readJson(a('id-ctrl.json')), plan, Number.parseInt(readFileSync(a('cntlid.txt'), 'utf8'), 10));
      case 'id-ns':
        for (const ns of plan.namespaces) {
          const bf = a(`bdev-bytes-${ns.nsid}.txt`);
          const r = checkIdNs(readJson(a(`id-ns-${ns.nsid}.json`)), existsSync(bf) ? Number(readFileSync(bf, 'utf8')) : null, ns);
          if (r) return r;
        }
        return null;
      case 'ns-descs':
        for (const ns of plan.namespaces) {
          const r = checkNsDescs(readJson(a(`ns-descs-${ns.nsid}.json`)), ns);
          if (r) return r;
        }
        return null;
      case 'connect-digests':
        if (wire === null) return 'no capture to confirm digests';
        if (wire.hdgstGood === 0) return 'no PDU with a header digest on the wire';
        if (wire.ddgstGood === 0) return 'no PDU with a data digest on the wire';
        return null;
      default: return null;
    }
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** What a passing validator has established, for the table. */
export const VALIDATED: Readonly<Record<string, string>> = {
  'discover-json': 'subsystem listed: tcp/ipv4, trsvcid, subtype, genctr; current discovery subsystem is record 0',
  'discover-8009-json': 'subsystem listed: tcp/ipv4, trsvcid, subtype, genctr; current discovery subsystem is record 0',
  list: 'serial, model and size of every namespace match the config',
  'id-ctrl': 'sn, mn, subnqn, cntlid, sqes/cqes, nn, ioccsz/iorcsz, ver, kas, maxcmd, fr ok',
  'id-ns': 'nsze/ncap/nuse, LBA format, NGUID and block device size match',
  'ns-descs': 'UUID and NGUID descriptors match the config',
};
