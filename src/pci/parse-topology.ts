/**
 * Topology JSON → validated `PciTopology`.
 *
 * Shape (all lists flat; ports name their children by BDF or by switch/bridge name):
 *
 *   {
 *     "name": "jbof",
 *     "rootComplex": { "domain": 0, "bus": 0, "busOffset": "0x0", "p2pBetweenRootPorts": false,
 *                      "mmioBase": "0x4000000000", "dram": { "bandwidth": 51200000000 } },
 *     "rootPorts": [ { "bdf": "0000:00:01.0", "link": { "gen": 3, "width": 16 }, "acs": ["RR"],
 *                      "children": ["sw0"] } ],
 *     "switches":  [ { "name": "sw0", "upstream": { "bdf": "0000:01:00.0", "link": { … } },
 *                      "downstream": [ { "bdf": "0000:02:00.0", "link": { … }, "children": ["0000:03:00.0"] } ] } ],
 *     "bridges":   [ { "name": "pcibr0", "bdf": "…", "bus": { "mhz": 33, "bits": 32 }, "children": [ … ] } ],
 *     "endpoints": [ { "bdf": "0000:03:00.0", "kind": "nvme", "vendor": "0x144d", "device": "0xa808",
 *                      "bars": [ { "index": 0, "size": "16K" }, { "index": 2, "size": "256M", "prefetchable": true } ],
 *                      "cmb": { "bar": 2, "size": "256M", "wds": true, "rds": true } },
 *                    { "bdf": "0000:04:00.0", "kind": "rnic", "nic": "tcp-ddp" } ]
 *   }
 *
 * A NIC (kind "rnic") has a NIC kind, "nic": "rdma" | "tcp-ddp" | "tcp" (model.ts NicKind),
 * "rdma" when omitted (the endpoint kind names an RDMA NIC); other kinds may not have one.
 *
 * Every problem is reported with the JSON path it was found at (prefixed with
 * `pathPrefix`, "topology" by default, because the nvmetcli-style config embeds this
 * object under a "topology" key). Parsing never throws on bad input.
 */

import { bdfOrder, formatBdf, formatSlot, parseBdf, type Bdf } from './bdf.js';
import { ACS_FLAGS, isAcsFlagName } from './acs.js';
import { linkId, PCIE_GENS, PCIE_WIDTHS, pciBusBandwidth, pcieBandwidth, type Link, type LinkKind, type PcieGen } from './link.js';
import { Bar, HostBridge, PciFunction, PciSwitch, type BarType, type CmbConfig, type EndpointKind, type NicKind, type P2pmemConfig, type PciRole, NIC_KINDS } from './model.js';
import { PciTopology } from './topology.js';
import { parseBootConfig, parseCpu, applyBootAcs } from './boot.js';
import { describe, hexAddr, parseAddress, parseId16, parseSignedAddress, parseSize } from './units.js';

export interface TopologyIssue {
  /** JSON path, e.g. "topology.switches[0].downstream[2].children". */
  readonly path: string;
  readonly message: string;
}

export type TopologyParseResult =
  | { readonly ok: true; readonly topology: PciTopology }
  | { readonly ok: false; readonly errors: readonly TopologyIssue[] };

export class TopologyError extends Error {
  constructor(readonly errors: readonly TopologyIssue[]) {
    super(formatTopologyIssues(errors));
    this.name = 'TopologyError';
  }
}

export function formatTopologyIssues(errors: readonly TopologyIssue[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('\n');
}

/** Default 64-bit MMIO window start (CPU physical) for BARs without an explicit address. */
export const DEFAULT_MMIO_BASE = 0x40_0000_0000;
/** Default bus-address start for 32-bit BARs without an explicit address. */
export const DEFAULT_MMIO32_BUS_BASE = 0x8000_0000;
/** Default DRAM bandwidth: two channels of DDR4-3200. */
export const DEFAULT_DRAM_BANDWIDTH = 51.2e9;

// Defaults are QEMU's devices (pcie-root-port 1b36:000c) so that an undeclared root port
// never lands on the 6.1 p2pdma allow list by accident (8086:2030 is on it).
const DEFAULT_IDS: Record<PciRole | EndpointKind, [number, number, string]> = {
  'host-bridge': [0x8086, 0x29c0, 'Host bridge'],
  'root-port': [0x1b36, 0x000c, 'PCIe Root Port'],
  'switch-upstream': [0x11f8, 0x8546, 'PCIe Switch Upstream Port'],
  'switch-downstream': [0x11f8, 0x8546, 'PCIe Switch Downstream Port'],
  'pci-bridge': [0x1b36, 0x0001, 'PCI-to-PCI Bridge'],
  endpoint: [0x1b36, 0x0000, 'PCI device'],
  rnic: [0x15b3, 0x1017, 'RDMA NIC'],
  nvme: [0x144d, 0xa808, 'NVMe SSD'],
  p2pmem: [0x1de5, 0x1000, 'p2pmem card'],
  other: [0x1b36, 0x0000, 'PCI device'],
};

const ENDPOINT_KINDS: readonly EndpointKind[] = ['rnic', 'nvme', 'p2pmem', 'other'];

type Obj = Record<string, unknown>;

interface LinkSpec {
  gen?: PcieGen;
  width?: number;
  bandwidth?: number;
}

interface BarDecl {
  path: string;
  index: number;
  type: BarType;
  size: number;
  prefetchable: boolean;
  bits: 32 | 64;
  cpuAddr: number | null;
  busAddr: number | null;
}

interface ChildList {
  path: string;
  items: { ref: string; path: string }[];
}

interface FnDecl {
  path: string;
  bdf: Bdf;
  role: PciRole;
  kind: EndpointKind | null;
  vendor: number;
  device: number;
  label: string;
  acs: number;
  /** ACS Capability register; null = no ACS capability. */
  acsCap: number | null;
  driver: string | null;
  virtDmaOps: boolean;
  link: LinkSpec | null;
  rcLink: LinkSpec | null;
  bars: BarDecl[];
  cmbRaw: { value: unknown; path: string } | null;
  p2pmemRaw: { value: unknown; path: string } | null;
  nicKind: NicKind | null;
  secondaryBus: number | null;
  children: ChildList | null;
  pciBus: { mhz: number; bits: number } | null;
  fn: PciFunction | null;
}

type Unit =
  | { type: 'endpoint'; path: string; head: FnDecl }
  | { type: 'switch'; path: string; name: string; head: FnDecl; dsps: FnDecl[]; sw: PciSwitch | null }
  | { type: 'bridge'; path: string; name: string; head: FnDecl };

class Ctx {
  readonly errors: TopologyIssue[] = [];
  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  obj(v: unknown, path: string): Obj | null {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.err(path, `expected an object, got ${describe(v)}`);
      return null;
    }
    return v as Obj;
  }

  arr(v: unknown, path: string): unknown[] | null {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.err(path, `expected an array, got ${describe(v)}`);
      return null;
    }
    return v;
  }

  /** Reject unknown keys (typos such as "ACS" or "childs" would otherwise be silently ignored). */
  keys(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k) || k.startsWith('_') || k === 'comment' || k === 'description') continue;
      this.err(`${path}.${k}`, `unknown field "${k}" (expected one of: ${allowed.join(', ')})`);
    }
  }

  bool(o: Obj, key: string, path: string, dflt: boolean): boolean {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      this.err(`${path}.${key}`, `expected true or false, got ${describe(v)}`);
      return dflt;
    }
    return v;
  }

  str(o: Obj, key: string, path: string): string | null {
    const v = o[key];
    if (v === undefined) return null;
    if (typeof v !== 'string' || v.length === 0) {
      this.err(`${path}.${key}`, `expected a non-empty string, got ${describe(v)}`);
      return null;
    }
    return v;
  }

  int(o: Obj, key: string, path: string, dflt: number, min: number, max: number): number {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.err(`${path}.${key}`, `expected an integer in ${min}..${max}, got ${describe(v)}`);
      return dflt;
    }
    return v;
  }

  num<T>(o: Obj, key: string, path: string, parse: (v: unknown) => T | string): T | null {
    const v = o[key];
    if (v === undefined) return null;
    const r = parse(v);
    if (typeof r === 'string') {
      this.err(`${path}.${key}`, r);
      return null;
    }
    return r;
  }
}

/**
 * Parse and validate a topology object. `pathPrefix` is prepended to every error path
 * ("topology" by default; pass "" for a bare file).
 */
export function parseTopology(json: unknown, pathPrefix = 'topology'): TopologyParseResult {
  const ctx = new Ctx();
  const topology = build(ctx, json, pathPrefix);
  if (ctx.errors.length > 0 || topology === null) {
    if (ctx.errors.length === 0) ctx.err(pathPrefix || '$', 'invalid topology');
    return { ok: false, errors: ctx.errors };
  }
  return { ok: true, topology };
}

/** Like `parseTopology` but throws a `TopologyError` listing every problem. */
export function parseTopologyOrThrow(json: unknown, pathPrefix = 'topology'): PciTopology {
  const r = parseTopology(json, pathPrefix);
  if (!r.ok) throw new TopologyError(r.errors);
  return r.topology;
}

const join = (prefix: string, key: string): string => (prefix ? `${prefix}.${key}` : key);

function build(ctx: Ctx, json: unknown, prefix: string): PciTopology | null {
  const root = ctx.obj(json, prefix || '$');
  if (!root) return null;
  ctx.keys(root, prefix || '$', ['name', 'rootComplex', 'hostBridges', 'cpu', 'boot', 'rootPorts', 'switches', 'bridges', 'endpoints']);

  // ---- host bridges (root buses) -----------------------------------------
  // One "rootComplex" object, or a "hostBridges" list for several root buses (a second
  // socket, QEMU's pxb-pcie). Each may name the vendor:device of the host bridge function
  // at devfn 00.0 of its root bus, which the 6.1 allow list looks up.
  const hbDecls: HbDecl[] = [];
  if (root['rootComplex'] !== undefined && root['hostBridges'] !== undefined) {
    ctx.err(join(prefix, 'hostBridges'), 'give either "rootComplex" (one host bridge) or "hostBridges" (a list), not both');
  }
  if (root['hostBridges'] !== undefined) {
    const hbPath = join(prefix, 'hostBridges');
    const list = ctx.arr(root['hostBridges'], hbPath) ?? [];
    if (Array.isArray(root['hostBridges']) && list.length === 0) ctx.err(hbPath, 'a topology needs at least one host bridge');
    list.forEach((raw, i) => {
      const o = ctx.obj(raw, `${hbPath}[${i}]`);
      if (o) hbDecls.push(parseHostBridge(ctx, o, `${hbPath}[${i}]`, i === 0));
    });
  } else {
    const rcPath = join(prefix, 'rootComplex');
    const rcRaw = root['rootComplex'] === undefined ? {} : ctx.obj(root['rootComplex'], rcPath) ?? {};
    hbDecls.push(parseHostBridge(ctx, rcRaw, rcPath, true));
  }
  if (hbDecls.length === 0) hbDecls.push(parseHostBridge(ctx, {}, join(prefix, 'rootComplex'), true));
  const seenRoot = new Map<string, HbDecl>();
  for (const h of hbDecls) {
    const key = `${h.domain}:${h.bus}`;
    const prev = seenRoot.get(key);
    if (prev) ctx.err(`${h.path}.bus`, `root bus ${hex4(h.domain)}:${hex2(h.bus)} is already declared at ${prev.path}`);
    else seenRoot.set(key, h);
  }
  const domain = hbDecls[0]!.domain;
  const dramLink = makeLink('dram', hbDecls[0]!.name, 'dram', hbDecls[0]!.dram ?? { bandwidth: DEFAULT_DRAM_BANDWIDTH });
  for (const h of hbDecls) h.hb = new HostBridge(h.name, h.label, h.domain, h.bus, h.busOffset, dramLink, h.path);
  const hbOfRoot = (dom: number, bus: number): HbDecl | undefined => seenRoot.get(`${dom}:${bus}`);
  const cpu = parseCpu(ctx, root['cpu'], join(prefix, 'cpu'));
  const boot = parseBootConfig(ctx, root['boot'], join(prefix, 'boot'));

  // ---- declarations -------------------------------------------------------
  const decls: FnDecl[] = [];
  const units: Unit[] = [];
  const rootPortDecls: FnDecl[] = [];
  const namedUnits = new Map<string, Unit>();

  // The host bridge function at 00.0 of a root bus, when declared.
  for (const h of hbDecls) {
    if (h.fnVendor === null) continue;
    const d: FnDecl = {
      path: h.path, bdf: { domain: h.domain, bus: h.bus, device: 0, fn: 0 }, role: 'host-bridge', kind: null,
      vendor: h.fnVendor, device: h.fnDevice ?? 0, label: h.label, acs: 0, acsCap: null, driver: null, virtDmaOps: false,
      link: null, rcLink: null, bars: [], cmbRaw: null, p2pmemRaw: null, nicKind: null, secondaryBus: null, children: null, pciBus: null, fn: null,
    };
    decls.push(d);
    units.push({ type: 'endpoint', path: h.path, head: d });
  }

  const rpPath = join(prefix, 'rootPorts');
  const rpList = ctx.arr(root['rootPorts'], rpPath) ?? [];
  const epList = Array.isArray(root['endpoints']) ? root['endpoints'] : [];
  if (rpList.length === 0 && epList.length === 0 && !hbDecls.some((h) => h.fnVendor !== null) && ctx.errors.length === 0) {
    ctx.err(rpPath, 'a topology needs at least one root port or root-bus device (an endpoint on a root bus is a root-complex integrated endpoint)');
  }
  rpList.forEach((raw, i) => {
    const p = `${rpPath}[${i}]`;
    const o = ctx.obj(raw, p);
    if (!o) return;
    ctx.keys(o, p, ['bdf', 'label', 'vendor', 'device', 'link', 'rcLink', 'acs', 'acsCap', 'driver', 'children', 'secondaryBus', 'bars']);
    const d = parseFnDecl(ctx, o, p, 'root-port', null, domain);
    if (!d) return;
    if (o['rcLink'] !== undefined) d.rcLink = parseLinkSpec(ctx, o['rcLink'], `${p}.rcLink`);
    decls.push(d);
    rootPortDecls.push(d);
  });

  const swPath = join(prefix, 'switches');
  (ctx.arr(root['switches'], swPath) ?? []).forEach((raw, i) => {
    const p = `${swPath}[${i}]`;
    const o = ctx.obj(raw, p);
    if (!o) return;
    ctx.keys(o, p, ['name', 'label', 'vendor', 'device', 'upstream', 'downstream']);
    const name = ctx.str(o, 'name', p);
    if (name === null && o['name'] === undefined) ctx.err(`${p}.name`, 'a switch needs a name (ports list it in "children")');
    const vendor = ctx.num(o, 'vendor', p, parseId16);
    const device = ctx.num(o, 'device', p, parseId16);
    const upPath = `${p}.upstream`;
    const upRaw = ctx.obj(o['upstream'], upPath);
    let usp: FnDecl | null = null;
    if (upRaw) {
      ctx.keys(upRaw, upPath, ['bdf', 'label', 'vendor', 'device', 'link', 'acs', 'acsCap', 'driver', 'bars']);
      usp = parseFnDecl(ctx, upRaw, upPath, 'switch-upstream', null, domain, vendor, device);
      if (usp) decls.push(usp);
    }
    const dsPath = `${p}.downstream`;
    const dsList = ctx.arr(o['downstream'], dsPath) ?? [];
    if (Array.isArray(o['downstream']) && dsList.length === 0) ctx.err(dsPath, 'a switch needs at least one downstream port');
    if (o['downstream'] === undefined) ctx.err(dsPath, 'a switch needs a "downstream" list of ports');
    const dsps: FnDecl[] = [];
    dsList.forEach((rawDs, j) => {
      const dp = `${dsPath}[${j}]`;
      const od = ctx.obj(rawDs, dp);
      if (!od) return;
      ctx.keys(od, dp, ['bdf', 'label', 'vendor', 'device', 'link', 'acs', 'acsCap', 'driver', 'children', 'secondaryBus', 'bars']);
      const d = parseFnDecl(ctx, od, dp, 'switch-downstream', null, domain, vendor, device);
      if (d) {
        decls.push(d);
        dsps.push(d);
      }
    });
    if (usp && name !== null) {
      const u: Unit = { type: 'switch', path: p, name, head: usp, dsps, sw: null };
      units.push(u);
      addName(ctx, namedUnits, name, u, `${p}.name`);
    }
  });

  const brPath = join(prefix, 'bridges');
  (ctx.arr(root['bridges'], brPath) ?? []).forEach((raw, i) => {
    const p = `${brPath}[${i}]`;
    const o = ctx.obj(raw, p);
    if (!o) return;
    ctx.keys(o, p, ['name', 'bdf', 'label', 'vendor', 'device', 'link', 'bus', 'acs', 'acsCap', 'driver', 'children', 'secondaryBus', 'bars']);
    const d = parseFnDecl(ctx, o, p, 'pci-bridge', null, domain);
    const name = ctx.str(o, 'name', p) ?? (d ? formatBdf(d.bdf) : null);
    let bus = { mhz: 33, bits: 32 };
    if (o['bus'] !== undefined) {
      const bo = ctx.obj(o['bus'], `${p}.bus`);
      if (bo) {
        ctx.keys(bo, `${p}.bus`, ['mhz', 'bits']);
        const mhz = ctx.int(bo, 'mhz', `${p}.bus`, 33, 1, 1066);
        const bits = ctx.int(bo, 'bits', `${p}.bus`, 32, 8, 64);
        if (bits !== 32 && bits !== 64) ctx.err(`${p}.bus.bits`, `a conventional PCI bus is 32 or 64 bits wide, got ${bits}`);
        bus = { mhz, bits };
      }
    }
    if (!d || name === null) return;
    d.pciBus = bus;
    decls.push(d);
    const u: Unit = { type: 'bridge', path: p, name, head: d };
    units.push(u);
    addName(ctx, namedUnits, name, u, `${p}.name`);
  });

  const epPath = join(prefix, 'endpoints');
  (ctx.arr(root['endpoints'], epPath) ?? []).forEach((raw, i) => {
    const p = `${epPath}[${i}]`;
    const o = ctx.obj(raw, p);
    if (!o) return;
    ctx.keys(o, p, ['bdf', 'kind', 'nic', 'label', 'vendor', 'device', 'link', 'acs', 'acsCap', 'driver', 'bars', 'cmb', 'p2pmem', 'virtDmaOps']);
    let kind: EndpointKind = 'other';
    const k = o['kind'];
    if (k === undefined) ctx.err(`${p}.kind`, `an endpoint needs a kind (${ENDPOINT_KINDS.join(', ')})`);
    else if (typeof k !== 'string' || !(ENDPOINT_KINDS as readonly string[]).includes(k)) ctx.err(`${p}.kind`, `unknown endpoint kind ${describe(k)} (expected ${ENDPOINT_KINDS.join(', ')})`);
    else kind = k as EndpointKind;
    const d = parseFnDecl(ctx, o, p, 'endpoint', kind, domain);
    if (!d) return;
    d.virtDmaOps = ctx.bool(o, 'virtDmaOps', p, false);
    if (o['cmb'] !== undefined) {
      if (kind !== 'nvme') ctx.err(`${p}.cmb`, `only an nvme endpoint has a CMB (this one is "${kind}")`);
      else d.cmbRaw = { value: o['cmb'], path: `${p}.cmb` };
    }
    if (o['p2pmem'] !== undefined) {
      if (kind !== 'p2pmem') ctx.err(`${p}.p2pmem`, `"p2pmem" settings belong to a p2pmem endpoint (this one is "${kind}")`);
      else d.p2pmemRaw = { value: o['p2pmem'], path: `${p}.p2pmem` };
    } else if (kind === 'p2pmem') d.p2pmemRaw = { value: {}, path: `${p}.p2pmem` };
    // Every NIC has a kind: what it does with payload decides what p2pmem can save (model.ts NicKind).
    const nk = o['nic'];
    if (nk !== undefined && kind !== 'rnic') ctx.err(`${p}.nic`, `"nic" is the kind of a NIC endpoint (this one is "${kind}")`);
    else if (nk !== undefined && (typeof nk !== 'string' || !(NIC_KINDS as readonly string[]).includes(nk))) {
      ctx.err(`${p}.nic`, `unknown NIC kind ${describe(nk)} (expected ${NIC_KINDS.join(', ')})`);
    } else if (kind === 'rnic') d.nicKind = (nk as NicKind | undefined) ?? 'rdma';
    decls.push(d);
    units.push({ type: 'endpoint', path: p, head: d });
  });

  // ---- duplicate BDFs, domains, multi-function devices --------------------
  const byBdf = new Map<string, FnDecl>();
  for (const d of decls) {
    const key = formatBdf(d.bdf);
    const prev = byBdf.get(key);
    if (prev) ctx.err(`${d.path}.bdf`, `duplicate BDF ${key} (also at ${prev.path}.bdf)`);
    else byBdf.set(key, d);
    if (!hbDecls.some((h) => h.domain === d.bdf.domain)) ctx.err(`${d.path}.bdf`, `${key} is in PCI domain ${hex4(d.bdf.domain)} but no host bridge is (${hbDecls.map((h) => h.name).join(', ')})`);
  }
  const slots = new Map<string, FnDecl[]>();
  for (const d of decls) {
    const s = formatSlot(d.bdf);
    const list = slots.get(s) ?? [];
    list.push(d);
    slots.set(s, list);
  }
  for (const [slot, list] of slots) {
    if (list.length > 1 && !list.some((d) => d.bdf.fn === 0)) {
      ctx.err(`${list[0]!.path}.bdf`, `multi-function device ${slot} has no function 0 (every PCI device implements function 0)`);
    }
  }

  // ---- CMB / p2pmem (need only the declared BARs) ---------------------------
  const cmbOf = new Map<FnDecl, CmbConfig | null>();
  const p2pOf = new Map<FnDecl, P2pmemConfig | null>();
  for (const d of decls) {
    if (d.cmbRaw) cmbOf.set(d, parseCmb(ctx, d, d.cmbRaw.value, d.cmbRaw.path));
    if (d.p2pmemRaw) p2pOf.set(d, parseP2pmem(ctx, d, d.p2pmemRaw.value, d.p2pmemRaw.path));
  }

  // ---- objects ------------------------------------------------------------
  for (const d of decls) {
    d.fn = new PciFunction(d.bdf, d.role, d.kind, d.vendor, d.device, d.label, d.acs, d.virtDmaOps,
      cmbOf.get(d) ?? null, p2pOf.get(d) ?? null, d.path);
    d.fn._setAcs(d.acsCap, d.acs);
    d.fn._setDriver(d.driver ?? defaultDriver(d.role, d.kind));
    d.fn.nicKind = d.nicKind;
  }

  // ---- resolve children ---------------------------------------------------
  const unitByBdf = new Map<string, Unit>();
  for (const u of units) unitByBdf.set(formatBdf(u.head.bdf), u);
  const parentOf = new Map<Unit, string>();
  const kidsOf = new Map<FnDecl, Unit[]>();
  const ports = decls.filter((d) => d.children !== null);
  for (const port of ports) {
    const list = port.children!;
    const kids: Unit[] = [];
    for (const item of list.items) {
      let u = namedUnits.get(item.ref);
      if (!u) {
        const b = parseBdf(item.ref, domain);
        if (typeof b !== 'string') u = unitByBdf.get(formatBdf(b));
      }
      if (!u) {
        const isPort = byBdf.get(normalizeRef(item.ref, domain) ?? '');
        ctx.err(item.path, isPort
          ? `"${item.ref}" is a ${isPort.role.replace('-', ' ')} (${isPort.path}); list the switch by name or an endpoint/bridge instead`
          : `unknown child "${item.ref}": no endpoint, switch or bridge with that BDF or name`);
        continue;
      }
      const prev = parentOf.get(u);
      if (prev !== undefined) {
        ctx.err(item.path, `"${item.ref}" already has a parent port (listed at ${prev})`);
        continue;
      }
      parentOf.set(u, item.path);
      kids.push(u);
    }
    kidsOf.set(port, kids);
  }

  // ---- walk from the root ports: attach, buses, links ---------------------
  // Bus numbers are per PCI domain.
  const busOwner = new Map<string, string>(hbDecls.map((h) => [`${h.domain}:${h.bus}`, `host bridge ${h.name}`]));
  const busKey = (dom: number, bus: number): string => `${dom}:${bus}`;
  const links: Link[] = [dramLink];
  const reached = new Set<Unit>();
  const childless: FnDecl[] = [];
  const switches: PciSwitch[] = [];

  const claimBus = (bus: number, owner: FnDecl, path: string): void => {
    const prev = busOwner.get(busKey(owner.bdf.domain, bus));
    if (prev !== undefined) ctx.err(path, `bus ${hex2(bus)} is already ${prev.startsWith('host bridge') ? 'the root bus of' : 'the secondary bus of'} ${prev}`);
    else busOwner.set(busKey(owner.bdf.domain, bus), `${formatBdf(owner.bdf)} (${owner.path})`);
  };

  const visitPort = (port: FnDecl, depth: number): void => {
    if (depth > 64) {
      ctx.err(port.path, 'hierarchy deeper than 64 levels');
      return;
    }
    const kids = kidsOf.get(port) ?? [];
    const pcie = port.role !== 'pci-bridge';
    const childPath = port.children?.path ?? `${port.path}.children`;
    if (kids.length === 0) {
      childless.push(port);
      if (port.role === 'root-port') makeRcLink(port, null);
      return;
    }
    const buses = [...new Set(kids.map((u) => u.head.bdf.bus))];
    const secondary = kids[0]!.head.bdf.bus;
    if (buses.length > 1) ctx.err(childPath, `devices below one port sit on its secondary bus; found buses ${buses.map(hex2).join(' and ')}`);
    if (port.secondaryBus !== null && port.secondaryBus !== secondary) ctx.err(`${port.path}.secondaryBus`, `secondaryBus ${hex2(port.secondaryBus)} does not match the bus of its children (${hex2(secondary)})`);
    if (secondary <= port.bdf.bus) ctx.err(childPath, `children are on bus ${hex2(secondary)}, which must be greater than the port's own bus ${hex2(port.bdf.bus)}`);
    claimBus(secondary, port, childPath);
    port.secondaryBus = secondary;

    // Group children by device (slot): one link per device.
    const bySlot = new Map<string, Unit[]>();
    for (const u of kids) {
      const s = formatSlot(u.head.bdf);
      bySlot.set(s, [...(bySlot.get(s) ?? []), u]);
    }
    if (pcie && bySlot.size > 1) {
      ctx.err(childPath, `a PCIe ${port.role === 'root-port' ? 'root' : 'downstream'} port links to exactly one device; found ${[...bySlot.keys()].join(' and ')}`);
    }
    let rcChildSpec: LinkSpec | null = null;
    for (const [slot, group] of bySlot) {
      const head = group.find((u) => u.head.bdf.fn === 0) ?? group[0]!;
      if (pcie && head.head.bdf.device !== 0) {
        ctx.err(parentOf.get(head) ?? childPath, `below a PCIe port the device number must be 0 (got ${slot}); the link carries a single device`);
      }
      let link: Link | null;
      if (pcie) {
        let devSpec: LinkSpec | null = null;
        for (const u of group) devSpec = combine(devSpec, u.head.link);
        const spec = combine(port.link, devSpec);
        if (!spec || !(spec.bandwidth !== undefined || (spec.gen !== undefined && spec.width !== undefined))) {
          ctx.err(`${port.path}.link`, `no link attributes for the link to ${slot}: give { "gen", "width" } on the port or on the device`);
          link = null;
        } else {
          link = makeLink('pcie', formatBdf(port.bdf), formatBdf(head.head.bdf), spec);
          rcChildSpec = spec;
        }
      } else {
        const bus = port.pciBus ?? { mhz: 33, bits: 32 };
        link = {
          id: linkId(formatBdf(port.bdf), formatBdf(head.head.bdf)),
          kind: 'pci',
          upstream: formatBdf(port.bdf),
          downstream: formatBdf(head.head.bdf),
          gen: null,
          width: bus.bits,
          bandwidth: pciBusBandwidth(bus.mhz, bus.bits),
        };
      }
      if (link) links.push(link);
      for (const u of group) {
        if (u.type === 'switch' && !pcie) ctx.err(parentOf.get(u) ?? childPath, `switch "${u.name}" is a PCIe device and cannot sit on the conventional PCI bus of bridge ${formatBdf(port.bdf)}`);
        u.head.fn!._attach(port.fn!);
        u.head.fn!._setLink(link);
        reached.add(u);
        if (u.type === 'switch') visitSwitch(u, depth);
        else if (u.type === 'bridge') visitPort(u.head, depth + 1);
      }
    }
    if (port.role === 'root-port') makeRcLink(port, rcChildSpec);
  };

  const makeRcLink = (port: FnDecl, childSpec: LinkSpec | null): void => {
    const spec = port.rcLink ?? port.link ?? childSpec;
    if (!spec) {
      ctx.err(`${port.path}.link`, 'no link attributes: give { "gen", "width" } on the root port (or "rcLink")');
      return;
    }
    const l = makeLink('root-complex', hbOfRoot(port.bdf.domain, port.bdf.bus)?.name ?? hbDecls[0]!.name, formatBdf(port.bdf), spec);
    port.fn!._setRcLink(l);
    links.push(l);
  };

  const visitSwitch = (u: Extract<Unit, { type: 'switch' }>, depth: number): void => {
    const usp = u.head;
    const dsPath = `${u.path}.downstream`;
    if (u.dsps.length > 0) {
      const buses = [...new Set(u.dsps.map((d) => d.bdf.bus))];
      const internal = u.dsps[0]!.bdf.bus;
      if (buses.length > 1) ctx.err(dsPath, `downstream ports sit on the switch's internal bus; found buses ${buses.map(hex2).join(' and ')}`);
      if (internal <= usp.bdf.bus) ctx.err(dsPath, `downstream ports are on bus ${hex2(internal)}, which must be greater than the upstream port's bus ${hex2(usp.bdf.bus)}`);
      claimBus(internal, usp, dsPath);
      usp.secondaryBus = internal;
    }
    const sw = new PciSwitch(u.name, usp.fn!, u.dsps.map((d) => d.fn!), u.path);
    u.sw = sw;
    switches.push(sw);
    usp.fn!._setSwitch(sw);
    for (const d of u.dsps) {
      d.fn!._setSwitch(sw);
      d.fn!._attach(usp.fn!);
      d.fn!._setLink(null);
      visitPort(d, depth + 1);
    }
  };

  for (const rp of rootPortDecls) {
    if (!hbOfRoot(rp.bdf.domain, rp.bdf.bus)) {
      ctx.err(`${rp.path}.bdf`, hbDecls.length === 1
        ? `a root port sits on the root bus ${hex2(hbDecls[0]!.bus)}, not bus ${hex2(rp.bdf.bus)}`
        : `a root port sits on a root bus (${hbDecls.map((h) => `${hex4(h.domain)}:${hex2(h.bus)}`).join(', ')}), not bus ${hex4(rp.bdf.domain)}:${hex2(rp.bdf.bus)}`);
    }
    visitPort(rp, 0);
  }
  // Devices on a root bus that no port lists: root-complex integrated endpoints (no root
  // port above them; pci_upstream_bridge() is NULL), the host bridge function, or a
  // PCIe-to-PCI bridge integrated in the root complex.
  for (const u of units) {
    if (reached.has(u) || parentOf.has(u)) continue;
    if (!hbOfRoot(u.head.bdf.domain, u.head.bdf.bus)) continue;
    if (u.type === 'switch') {
      ctx.err(`${u.head.path}.bdf`, `switch "${u.name}": an upstream port links to a root or downstream port; it cannot sit on root bus ${hex2(u.head.bdf.bus)}`);
      reached.add(u);
      continue;
    }
    reached.add(u);
    u.head.fn!._setLink(null);
    if (u.type === 'bridge') visitPort(u.head, 0);
  }
  for (const u of units) {
    if (reached.has(u)) continue;
    const where = u.type === 'endpoint' ? `${u.path}` : u.path;
    if (parentOf.has(u)) ctx.err(where, `${describeUnit(u)} is listed by ${parentOf.get(u)} but that port is not connected to a root port (cycle?)`);
    else ctx.err(where, `${describeUnit(u)} is not connected: no root port, downstream port or bridge lists it in "children"`);
  }

  // Childless ports get the lowest free bus number so renderings stay well-formed.
  for (const port of childless) {
    if (port.secondaryBus !== null) {
      if (port.secondaryBus <= port.bdf.bus) ctx.err(`${port.path}.secondaryBus`, `must be greater than the port's own bus ${hex2(port.bdf.bus)}`);
      else claimBus(port.secondaryBus, port, `${port.path}.secondaryBus`);
      continue;
    }
    let b = port.bdf.bus + 1;
    while (b <= 255 && busOwner.has(busKey(port.bdf.domain, b))) b++;
    if (b > 255) {
      ctx.err(port.path, 'no free bus number left for this port');
      continue;
    }
    busOwner.set(busKey(port.bdf.domain, b), formatBdf(port.bdf));
    port.secondaryBus = b;
  }

  // Bus ranges [secondary, subordinate] and their nesting.
  const bridges = decls.filter((d) => d.fn !== null && d.fn.isBridge);
  const subordinate = (f: PciFunction, d: FnDecl): number => {
    let max = d.secondaryBus ?? f.address.bus;
    for (const c of f.children) {
      const cd = declOf.get(c);
      if (cd && c.isBridge) max = Math.max(max, subordinate(c, cd));
    }
    return max;
  };
  const declOf = new Map<PciFunction, FnDecl>();
  for (const d of decls) if (d.fn) declOf.set(d.fn, d);
  for (const d of bridges) {
    if (d.secondaryBus === null) continue;
    d.fn!._setBusRange(d.secondaryBus, subordinate(d.fn!, d));
  }
  for (const d of bridges) {
    const f = d.fn!;
    const kidBridges = f.children.filter((c) => c.isBridge && c.secondaryBus !== null);
    for (let i = 0; i < kidBridges.length; i++) {
      for (let j = i + 1; j < kidBridges.length; j++) {
        const a = kidBridges[i]!;
        const b = kidBridges[j]!;
        if (a.secondaryBus! <= b.subordinateBus! && b.secondaryBus! <= a.subordinateBus!) {
          ctx.err(b.jsonPath, `bus range [${hex2(b.secondaryBus!)}-${hex2(b.subordinateBus!)}] of ${b.bdf} overlaps [${hex2(a.secondaryBus!)}-${hex2(a.subordinateBus!)}] of sibling ${a.bdf}`);
        }
      }
    }
  }
  const rootRanges = rootPortDecls.map((d) => d.fn!).filter((f) => f.secondaryBus !== null);
  for (let i = 0; i < rootRanges.length; i++) {
    for (let j = i + 1; j < rootRanges.length; j++) {
      const a = rootRanges[i]!;
      const b = rootRanges[j]!;
      if (a.secondaryBus! <= b.subordinateBus! && b.secondaryBus! <= a.subordinateBus!) {
        ctx.err(b.jsonPath, `bus range [${hex2(b.secondaryBus!)}-${hex2(b.subordinateBus!)}] of ${b.bdf} overlaps [${hex2(a.secondaryBus!)}-${hex2(a.subordinateBus!)}] of root port ${a.bdf}`);
      }
    }
  }

  // ---- which host bridge each function hangs from --------------------------
  const hbOfDecl = new Map<FnDecl, HbDecl>();
  for (const d of decls) {
    if (!d.fn) continue;
    let top: PciFunction = d.fn;
    while (top.upstream) top = top.upstream;
    const h = hbOfRoot(top.address.domain, top.address.bus) ?? hbDecls[0]!;
    hbOfDecl.set(d, h);
    d.fn._setHostBridge(h.hb!);
  }
  for (const h of hbDecls) {
    h.hb!._setRootBusDevices(decls.filter((d) => d.fn && d.fn.upstream === null && hbOfRoot(d.bdf.domain, d.bdf.bus) === h).map((d) => d.fn!));
  }

  // ---- BARs ---------------------------------------------------------------
  assignBars(ctx, decls, (d) => hbOfDecl.get(d) ?? hbDecls[0]!);

  if (ctx.errors.length > 0) return null;

  const functions = decls.map((d) => d.fn!).sort((a, b) => bdfOrder(a.address) - bdfOrder(b.address));
  for (const f of functions) f._sortChildren((c) => bdfOrder(c.address));
  const order = (l: Link): [number, number] => {
    if (l.kind === 'dram') return [0, 0];
    const d = byBdf.get(l.downstream);
    return [l.kind === 'root-complex' ? 1 : 2, d ? bdfOrder(d.bdf) : 0];
  };
  links.sort((a, b) => {
    const [ka, oa] = order(a);
    const [kb, ob] = order(b);
    return ka - kb || oa - ob;
  });
  const name = typeof root['name'] === 'string' ? root['name'] : 'topology';
  const rootPorts = rootPortDecls.map((d) => d.fn!).sort((a, b) => bdfOrder(a.address) - bdfOrder(b.address));
  const hostBridges = hbDecls.map((h) => h.hb!).sort((a, b) => a.domain - b.domain || a.rootBus - b.rootBus);
  // What the kernel does to ACS Control while enumerating (pci_acs_init → pci_enable_acs).
  const bootLog = applyBootAcs(functions, boot);
  return new PciTopology(name, hostBridges[0]!, rootPorts, switches, functions, links, hostBridges, cpu, boot, bootLog);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

interface HbDecl {
  path: string;
  name: string;
  label: string;
  domain: number;
  bus: number;
  busOffset: number;
  mmioBase: number;
  dram: LinkSpec | null;
  /** vendor:device of the host bridge function at 00.0, when declared. */
  fnVendor: number | null;
  fnDevice: number | null;
  hb: HostBridge | null;
}

function parseHostBridge(ctx: Ctx, o: Obj, path: string, first: boolean): HbDecl {
  ctx.keys(o, path, ['label', 'domain', 'bus', 'busOffset', 'p2pBetweenRootPorts', 'mmioBase', 'dram', 'vendor', 'device']);
  const domain = ctx.int(o, 'domain', path, 0, 0, 0xffff);
  const bus = ctx.int(o, 'bus', path, 0, 0, 255);
  const busOffset = ctx.num(o, 'busOffset', path, parseSignedAddress) ?? 0;
  if (o['p2pBetweenRootPorts'] !== undefined && o['p2pBetweenRootPorts'] !== false) {
    // The old abstract flag matched no kernel: whether P2P may cross the host bridge is now
    // decided per policy from what the kernel looks at (CPU, host bridge IDs, ACS).
    ctx.err(`${path}.p2pBetweenRootPorts`, 'no longer supported: linux-6.1 allows P2P through the host bridge when the CPU is AMD family >= 0x17 ("cpu": { "vendor": "AuthenticAMD", "family": 25 }) or when the host bridge\'s vendor:device is on pci_p2pdma_whitelist (declare "vendor"/"device" here, e.g. "0x8086"/"0x2020"); v3 and linux-4.20 never allow it');
  }
  const mmioBase = ctx.num(o, 'mmioBase', path, parseAddress) ?? DEFAULT_MMIO_BASE + Math.max(0, busOffset);
  if (mmioBase - busOffset < 0) ctx.err(`${path}.mmioBase`, `MMIO window ${hexAddr(mmioBase)} is below busOffset ${hexAddr(busOffset)}: bus addresses would be negative`);
  let dram: LinkSpec | null = null;
  if (o['dram'] !== undefined) {
    if (!first) ctx.err(`${path}.dram`, 'the topology has one system memory; declare "dram" on the first host bridge');
    else dram = parseLinkSpec(ctx, o['dram'], `${path}.dram`);
  }
  const fnVendor = ctx.num(o, 'vendor', path, parseId16);
  const fnDevice = ctx.num(o, 'device', path, parseId16);
  if ((o['vendor'] === undefined) !== (o['device'] === undefined)) {
    ctx.err(o['vendor'] === undefined ? `${path}.vendor` : `${path}.device`, 'give both "vendor" and "device" of the host bridge function at 00.0');
  }
  return {
    path, name: `pci${hex4(domain)}:${hex2(bus)}`, label: ctx.str(o, 'label', path) ?? 'Host bridge', domain, bus, busOffset, mmioBase, dram,
    fnVendor, fnDevice, hb: null,
  };
}

/** dev_driver_string() of a function: the driver Linux binds by default ("pci" = none). */
function defaultDriver(role: PciRole, kind: EndpointKind | null): string | null {
  if (role === 'root-port' || role === 'switch-upstream' || role === 'switch-downstream') return 'pcieport';
  if (kind === 'nvme') return 'nvme';
  return null;
}

function normalizeRef(ref: string, domain: number): string | null {
  const b = parseBdf(ref, domain);
  return typeof b === 'string' ? null : formatBdf(b);
}

function describeUnit(u: Unit): string {
  if (u.type === 'switch') return `switch "${u.name}"`;
  if (u.type === 'bridge') return `bridge "${u.name}"`;
  return `endpoint ${formatBdf(u.head.bdf)}`;
}

function addName(ctx: Ctx, names: Map<string, Unit>, name: string, u: Unit, path: string): void {
  const prev = names.get(name);
  if (prev) ctx.err(path, `duplicate name "${name}" (also used by ${prev.path})`);
  else names.set(name, u);
}

function parseFnDecl(
  ctx: Ctx,
  o: Obj,
  path: string,
  role: PciRole,
  kind: EndpointKind | null,
  domain: number,
  vendorDefault: number | null = null,
  deviceDefault: number | null = null,
): FnDecl | null {
  const rawBdf = o['bdf'];
  if (rawBdf === undefined) {
    ctx.err(`${path}.bdf`, 'missing BDF (e.g. "0000:03:00.0")');
    return null;
  }
  if (typeof rawBdf !== 'string') {
    ctx.err(`${path}.bdf`, `expected a BDF string like "0000:03:00.0", got ${describe(rawBdf)}`);
    return null;
  }
  const bdf = parseBdf(rawBdf, domain);
  if (typeof bdf === 'string') {
    ctx.err(`${path}.bdf`, bdf);
    return null;
  }
  const [dv, dd, dl] = DEFAULT_IDS[kind ?? role];
  const vendor = ctx.num(o, 'vendor', path, parseId16) ?? vendorDefault ?? dv;
  const device = ctx.num(o, 'device', path, parseId16) ?? deviceDefault ?? dd;
  const label = ctx.str(o, 'label', path) ?? dl;
  const acs = o['acs'] === undefined ? 0 : acsMask(ctx, o['acs'], `${path}.acs`);
  // ACS Capability: absent = the bits named in "acs" (the original format); false = no ACS
  // capability (then "acs" is a control value the kernel never reads); true = every feature.
  let acsCap: number | null = acs !== 0 ? acs : null;
  const capRaw = o['acsCap'];
  if (capRaw === false) acsCap = null;
  else if (capRaw === true) acsCap = ACS_ALL;
  else if (capRaw !== undefined) acsCap = acsMask(ctx, capRaw, `${path}.acsCap`);
  if (capRaw !== undefined && capRaw !== false && acsCap !== null && Array.isArray(o['acs'])) {
    (o['acs'] as unknown[]).forEach((f, i) => {
      if (typeof f !== 'string') return;
      const bit = ACS_FLAGS[f.toUpperCase() as keyof typeof ACS_FLAGS];
      if (bit !== undefined && (acsCap! & bit) === 0) ctx.err(`${path}.acs[${i}]`, `ACS control bit ${f.toUpperCase()} is set but "acsCap" does not support it (the bit is hardwired to 0)`);
    });
  }
  const driver = ctx.str(o, 'driver', path);
  const link = o['link'] === undefined ? null : parseLinkSpec(ctx, o['link'], `${path}.link`);
  let children: ChildList | null = null;
  if (role === 'root-port' || role === 'switch-downstream' || role === 'pci-bridge') {
    const cp = `${path}.children`;
    const list = ctx.arr(o['children'], cp) ?? [];
    children = { path: cp, items: [] };
    list.forEach((c, i) => {
      if (typeof c !== 'string' || c.length === 0) ctx.err(`${cp}[${i}]`, `expected a BDF or switch/bridge name, got ${describe(c)}`);
      else children!.items.push({ ref: c, path: `${cp}[${i}]` });
    });
  }
  const secondaryBus = children ? nullableInt(ctx, o, 'secondaryBus', path, 1, 255) : null;
  const bars: BarDecl[] = [];
  if (o['bars'] !== undefined) {
    const list = ctx.arr(o['bars'], `${path}.bars`) ?? [];
    list.forEach((b, i) => {
      const bd = parseBarDecl(ctx, b, `${path}.bars[${i}]`);
      if (bd) bars.push(bd);
    });
    checkBarSlots(ctx, bars, role);
  }
  return {
    path, bdf, role, kind, vendor, device, label, acs, acsCap, driver, virtDmaOps: false, link, rcLink: null,
    bars, cmbRaw: null, p2pmemRaw: null, nicKind: null, secondaryBus, children, pciBus: null, fn: null,
  };
}

const ACS_ALL = Object.values(ACS_FLAGS).reduce((a, b) => a | b, 0);

function acsMask(ctx: Ctx, v: unknown, path: string): number {
  let mask = 0;
  const list = ctx.arr(v, path) ?? [];
  list.forEach((f, i) => {
    if (typeof f === 'string' && isAcsFlagName(f.toUpperCase())) mask |= ACS_FLAGS[f.toUpperCase() as keyof typeof ACS_FLAGS];
    else ctx.err(`${path}[${i}]`, `unknown ACS flag ${describe(f)} (expected ${Object.keys(ACS_FLAGS).join(', ')})`);
  });
  return mask;
}

function nullableInt(ctx: Ctx, o: Obj, key: string, path: string, min: number, max: number): number | null {
  if (o[key] === undefined) return null;
  const v = ctx.int(o, key, path, -1, min, max);
  return v < 0 ? null : v;
}

function parseLinkSpec(ctx: Ctx, v: unknown, path: string): LinkSpec | null {
  const o = ctx.obj(v, path);
  if (!o) return null;
  ctx.keys(o, path, ['gen', 'width', 'bandwidth']);
  const spec: LinkSpec = {};
  if (o['gen'] !== undefined) {
    const g = o['gen'];
    if (typeof g === 'number' && (PCIE_GENS as readonly number[]).includes(g)) spec.gen = g as PcieGen;
    else ctx.err(`${path}.gen`, `expected a PCIe generation 1..6, got ${describe(g)}`);
  }
  if (o['width'] !== undefined) {
    const w = o['width'];
    if (typeof w === 'number' && PCIE_WIDTHS.includes(w)) spec.width = w;
    else ctx.err(`${path}.width`, `expected a link width of ${PCIE_WIDTHS.map((x) => `x${x}`).join('/')}, got ${describe(w)}`);
  }
  if (o['bandwidth'] !== undefined) {
    const b = o['bandwidth'];
    if (typeof b === 'number' && b > 0 && Number.isFinite(b)) spec.bandwidth = b;
    else ctx.err(`${path}.bandwidth`, `expected bytes per second (a positive number), got ${describe(b)}`);
  }
  const hasGen = spec.gen !== undefined || o['gen'] !== undefined;
  const hasWidth = spec.width !== undefined || o['width'] !== undefined;
  if (hasGen !== hasWidth) ctx.err(path, 'give both "gen" and "width"');
  if (!hasGen && !hasWidth && o['bandwidth'] === undefined) ctx.err(path, 'expected { "gen", "width" } or { "bandwidth" }');
  return spec;
}

/** Link training settles on the lower generation and the narrower width of the two ends. */
function combine(a: LinkSpec | null, b: LinkSpec | null): LinkSpec | null {
  if (!a) return b;
  if (!b) return a;
  const out: LinkSpec = {};
  const gen = minDef(a.gen, b.gen);
  const width = minDef(a.width, b.width);
  const bw = minDef(a.bandwidth, b.bandwidth);
  if (gen !== undefined) out.gen = gen as PcieGen;
  if (width !== undefined) out.width = width;
  if (bw !== undefined) out.bandwidth = bw;
  return out;
}

function minDef(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function makeLink(kind: LinkKind, upstream: string, downstream: string, spec: LinkSpec): Link {
  const gen = spec.gen ?? null;
  const width = spec.width ?? null;
  const bandwidth = spec.bandwidth ?? (gen !== null && width !== null ? pcieBandwidth(gen, width) : 0);
  return { id: linkId(upstream, downstream), kind, upstream, downstream, gen, width, bandwidth };
}

function parseBarDecl(ctx: Ctx, v: unknown, path: string): BarDecl | null {
  const o = ctx.obj(v, path);
  if (!o) return null;
  ctx.keys(o, path, ['index', 'size', 'type', 'prefetchable', 'bits', 'cpuAddr', 'busAddr']);
  if (o['index'] === undefined) ctx.err(`${path}.index`, 'missing BAR index (0..5)');
  const index = ctx.int(o, 'index', path, -1, 0, 5);
  let type: BarType = 'mem';
  if (o['type'] !== undefined) {
    if (o['type'] === 'mem' || o['type'] === 'io') type = o['type'];
    else ctx.err(`${path}.type`, `expected "mem" or "io", got ${describe(o['type'])}`);
  }
  if (o['size'] === undefined) {
    ctx.err(`${path}.size`, 'missing BAR size');
    return null;
  }
  const size = ctx.num(o, 'size', path, parseSize);
  if (size === null || index < 0) return null;
  const min = type === 'mem' ? 16 : 4;
  if (size < min || !isPow2(size)) {
    ctx.err(`${path}.size`, `a ${type === 'mem' ? 'memory' : 'I/O'} BAR size is a power of two ≥ ${min}, got ${size}`);
    return null;
  }
  const prefetchable = ctx.bool(o, 'prefetchable', path, false);
  if (type === 'io' && prefetchable) ctx.err(`${path}.prefetchable`, 'an I/O BAR cannot be prefetchable');
  let bits: 32 | 64 = type === 'mem' ? 64 : 32;
  if (o['bits'] !== undefined) {
    if (o['bits'] === 32 || o['bits'] === 64) bits = o['bits'];
    else ctx.err(`${path}.bits`, `expected 32 or 64, got ${describe(o['bits'])}`);
    if (type === 'io' && bits === 64) ctx.err(`${path}.bits`, 'I/O BARs are 32-bit');
  }
  if (bits === 64 && index === 5) ctx.err(`${path}.index`, 'a 64-bit BAR uses two BAR registers; index 5 has no successor');
  const cpuAddr = ctx.num(o, 'cpuAddr', path, parseAddress);
  const busAddr = ctx.num(o, 'busAddr', path, parseAddress);
  return { path, index, type, size, prefetchable, bits, cpuAddr, busAddr };
}

function isPow2(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

function checkBarSlots(ctx: Ctx, bars: BarDecl[], role: PciRole): void {
  const used = new Map<number, string>();
  const limit = role === 'endpoint' ? 5 : 1; // type 1 (bridge) headers have BAR0..1 only
  for (const b of bars) {
    const regs = b.bits === 64 ? [b.index, b.index + 1] : [b.index];
    if (b.index > limit) ctx.err(`${b.path}.index`, `a PCI-to-PCI bridge header has BAR0 and BAR1 only`);
    for (const r of regs) {
      const prev = used.get(r);
      if (prev !== undefined) ctx.err(`${b.path}.index`, `BAR register ${r} is already used by ${prev}${b.bits === 64 && r !== b.index ? ' (a 64-bit BAR takes two registers)' : ''}`);
      else used.set(r, b.path);
    }
  }
}

function assignBars(ctx: Ctx, decls: FnDecl[], hbOf: (d: FnDecl) => HbDecl): void {
  interface Placed { cpu: number; size: number; path: string; type: BarType }
  const placed: Placed[] = [];
  const pending: { d: FnDecl; b: BarDecl }[] = [];
  const sorted = [...decls].sort((a, b) => bdfOrder(a.bdf) - bdfOrder(b.bdf));
  const offsetFor = (d: FnDecl, t: BarType): number => (t === 'mem' ? hbOf(d).busOffset : 0);

  for (const d of sorted) {
    for (const b of d.bars) {
      const off = offsetFor(d, b.type);
      let cpu = b.cpuAddr;
      let bus = b.busAddr;
      if (cpu !== null && bus !== null && cpu - bus !== off) {
        ctx.err(`${b.path}.busAddr`, `bus address ${hexAddr(bus)} does not match CPU address ${hexAddr(cpu)} with host bridge offset ${hexAddr(off)} (expected ${hexAddr(cpu - off)})`);
        continue;
      }
      if (cpu === null && bus === null) {
        pending.push({ d, b });
        continue;
      }
      if (bus === null) bus = cpu! - off;
      if (cpu === null) cpu = bus + off;
      if (bus < 0) {
        ctx.err(`${b.path}.cpuAddr`, `CPU address ${hexAddr(cpu)} is below the host bridge offset: negative bus address`);
        continue;
      }
      if (bus % b.size !== 0) ctx.err(`${b.path}.${b.busAddr !== null ? 'busAddr' : 'cpuAddr'}`, `BAR bus address ${hexAddr(bus)} is not aligned to its size ${b.size}`);
      if (b.bits === 32 && bus + b.size > 2 ** 32) ctx.err(`${b.path}.busAddr`, `a 32-bit BAR must lie below 4 GiB on the bus (bus address ${hexAddr(bus)})`);
      if (!Number.isSafeInteger(cpu + b.size)) ctx.err(`${b.path}.cpuAddr`, 'address exceeds 2^53');
      b.cpuAddr = cpu;
      b.busAddr = bus;
      placed.push({ cpu, size: b.size, path: b.path, type: b.type });
    }
  }

  // Overlaps among explicit BARs (per address space).
  const overlapCheck = (list: Placed[]): void => {
    const s = [...list].sort((a, b) => a.cpu - b.cpu);
    for (let i = 1; i < s.length; i++) {
      const prev = s[i - 1]!;
      const cur = s[i]!;
      if (cur.type === prev.type && cur.cpu < prev.cpu + prev.size) {
        ctx.err(cur.path, `BAR [${hexAddr(cur.cpu)}-${hexAddr(cur.cpu + cur.size - 1)}] overlaps ${prev.path} [${hexAddr(prev.cpu)}-${hexAddr(prev.cpu + prev.size - 1)}]`);
      }
    }
  };
  overlapCheck(placed.filter((p) => p.type === 'mem'));
  overlapCheck(placed.filter((p) => p.type === 'io'));

  // Auto-assign the rest, naturally aligned, avoiding the explicit ones. Larger BARs first
  // (as the kernel's resource sizing does) keeps the window compact.
  pending.sort((x, y) => y.b.size - x.b.size || bdfOrder(x.d.bdf) - bdfOrder(y.d.bdf) || x.b.index - y.b.index);
  // One window per host bridge (its mmioBase); the clash check below keeps CPU ranges apart.
  const cursorsOf = new Map<HbDecl, { mem64: number; mem32: number; io: number }>();
  for (const { d, b } of pending) {
    const h = hbOf(d);
    let cursors = cursorsOf.get(h);
    if (!cursors) {
      cursors = { mem64: h.mmioBase - h.busOffset, mem32: DEFAULT_MMIO32_BUS_BASE, io: 0x1000 };
      cursorsOf.set(h, cursors);
    }
    const key = b.type === 'io' ? 'io' : b.bits === 32 ? 'mem32' : 'mem64';
    const off = offsetFor(d, b.type);
    let bus = alignUp(cursors[key], b.size);
    for (;;) {
      const clash = placed.find((p) => p.type === b.type && bus + off < p.cpu + p.size && p.cpu < bus + off + b.size);
      if (!clash) break;
      bus = alignUp(clash.cpu + clash.size - off, b.size);
    }
    if ((key === 'mem32' && bus + b.size > 2 ** 32) || (key === 'io' && bus + b.size > 0x10000) || !Number.isSafeInteger(bus + off + b.size)) {
      ctx.err(b.path, `no room to place this ${b.bits}-bit ${b.type} BAR; give an explicit cpuAddr`);
      continue;
    }
    b.busAddr = bus;
    b.cpuAddr = bus + off;
    cursors[key] = bus + b.size;
    placed.push({ cpu: b.cpuAddr, size: b.size, path: b.path, type: b.type });
  }

  for (const d of decls) {
    if (!d.fn) continue;
    for (const b of d.bars) {
      if (b.cpuAddr === null || b.busAddr === null) continue;
      d.fn._addBar(new Bar(d.fn, b.index, b.type, b.size, b.prefetchable, b.bits, b.cpuAddr, b.busAddr, b.path));
    }
  }
}

function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

function memBar(ctx: Ctx, d: FnDecl, index: number, path: string): BarDecl | null {
  const b = d.bars.find((x) => x.index === index);
  if (!b) {
    ctx.err(path, `${formatBdf(d.bdf)} has no BAR ${index}`);
    return null;
  }
  if (b.type !== 'mem') {
    ctx.err(path, `BAR ${index} of ${formatBdf(d.bdf)} is an I/O BAR, not memory`);
    return null;
  }
  return b;
}

function parseCmb(ctx: Ctx, d: FnDecl, v: unknown, path: string): CmbConfig | null {
  const o = ctx.obj(v, path);
  if (!o) return null;
  ctx.keys(o, path, ['bar', 'offset', 'size', 'wds', 'rds', 'sqs', 'cqs', 'lists']);
  const dfltBar = d.bars.find((b) => b.type === 'mem' && b.index > 1)?.index;
  if (o['bar'] === undefined && dfltBar === undefined) {
    ctx.err(`${path}.bar`, 'no memory BAR other than BAR0/1 (the registers) to hold the CMB; add one to "bars" or name it here');
    return null;
  }
  const barIndex = ctx.int(o, 'bar', path, dfltBar ?? 2, 0, 5);
  const bar = memBar(ctx, d, barIndex, `${path}.bar`);
  if (!bar) return null;
  const offset = ctx.num(o, 'offset', path, parseSize) ?? 0;
  const size = ctx.num(o, 'size', path, parseSize) ?? bar.size - offset;
  if (offset % 4096 !== 0) ctx.err(`${path}.offset`, 'CMB offset must be a multiple of 4 KiB (CMBSZ.SZU granularity)');
  if (size <= 0 || size % 4096 !== 0) ctx.err(`${path}.size`, 'CMB size must be a positive multiple of 4 KiB');
  if (offset + size > bar.size) ctx.err(`${path}.size`, `CMB [${offset}, +${size}) does not fit in BAR ${barIndex} (${bar.size} bytes)`);
  return {
    bar: barIndex, offset, size,
    wds: ctx.bool(o, 'wds', path, true),
    rds: ctx.bool(o, 'rds', path, true),
    sqs: ctx.bool(o, 'sqs', path, false),
    cqs: ctx.bool(o, 'cqs', path, false),
    lists: ctx.bool(o, 'lists', path, false),
  };
}

function parseP2pmem(ctx: Ctx, d: FnDecl, v: unknown, path: string): P2pmemConfig | null {
  const o = ctx.obj(v, path);
  if (!o) return null;
  ctx.keys(o, path, ['bar', 'offset', 'size', 'publish']);
  const dfltBar = d.bars.find((b) => b.type === 'mem')?.index;
  if (o['bar'] === undefined && dfltBar === undefined) {
    ctx.err(`${d.path}.bars`, 'a p2pmem card needs a memory BAR');
    return null;
  }
  const barIndex = ctx.int(o, 'bar', path, dfltBar ?? 0, 0, 5);
  const bar = memBar(ctx, d, barIndex, `${path}.bar`);
  if (!bar) return null;
  const offset = ctx.num(o, 'offset', path, parseSize) ?? 0;
  const size = ctx.num(o, 'size', path, parseSize) ?? 0;
  if (offset >= bar.size) ctx.err(`${path}.offset`, `offset ${offset} is outside BAR ${barIndex} (${bar.size} bytes)`);
  else if (offset + size > bar.size) ctx.err(`${path}.size`, `[${offset}, +${size}) does not fit in BAR ${barIndex} (${bar.size} bytes)`);
  return { bar: barIndex, offset, size, publish: ctx.bool(o, 'publish', path, true) };
}
