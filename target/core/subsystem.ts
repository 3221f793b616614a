/**
 * An NVM subsystem (Linux struct nvmet_subsys), or the discovery subsystem.
 * Holds identity (NQN, serial, model, firmware, version), the host access list,
 * the cntlid range, its namespaces and its live controllers.
 */

import { randomBytes } from 'node:crypto';
import type { Nvmet } from './nvmet.js';
import { Controller, type ControllerInit } from './controller.js';
import { Namespace, type NamespaceOptions } from './namespace.js';
import {
  NVMET_DEFAULT_FIRMWARE,
  NVMET_DEFAULT_MODEL,
  NVMET_DEFAULT_VS,
  NVMET_MAX_NAMESPACES,
  NVMET_NR_QUEUES,
  NVME_CNTLID_MAX,
  NVME_CNTLID_MIN,
} from './constants.js';
import { DISCOVERY_NQN, NQN_MAX_LEN } from '../../src/nvme/fabrics.js';

export type SubsystemType = 'nvme' | 'discovery';

export interface SubsystemOptions {
  nqn: string;
  /** Identify SN, up to 20 ASCII characters (random hex by default, as Linux). */
  serial?: string;
  /** Identify MN, up to 40 ASCII characters. */
  model?: string;
  /** Identify FR, up to 8 ASCII characters. */
  firmwareRev?: string;
  /** Version register value (default NVMe 1.4). */
  version?: number;
  /** IEEE OUI (Identify IEEE), 24 bits. */
  ieeeOui?: number;
  /** Any host may connect (default false: only `allowedHosts`). */
  allowAnyHost?: boolean;
  allowedHosts?: readonly string[];
  /** Controller id range handed out at Connect (default 1..0xffef). */
  cntlidMin?: number;
  cntlidMax?: number;
  /** I/O queues per controller (default 128). */
  maxQid?: number;
  /** Highest nsid / Identify NN (default 1024). */
  maxNamespaces?: number;
}

function checkAscii(s: string, max: number, what: string): string {
  if (s.length > max) throw new RangeError(`${what} "${s}" is longer than ${max} characters`);
  if (!/^[\x20-\x7e]*$/.test(s)) throw new RangeError(`${what} "${s}" must be printable ASCII`);
  return s;
}

/** Validate an NQN the way configfs would: non-empty, at most 223 bytes of UTF-8. */
export function checkNqn(nqn: string, what = 'NQN'): string {
  const n = new TextEncoder().encode(nqn).length;
  if (n === 0 || n > NQN_MAX_LEN) throw new RangeError(`${what} must be 1..${NQN_MAX_LEN} bytes, got ${n}`);
  return nqn;
}

export class Subsystem {
  private subnqn: string;
  readonly type: SubsystemType;
  readonly serial: string;
  readonly model: string;
  readonly firmwareRev: string;
  readonly version: number;
  readonly ieeeOui: number;
  readonly cntlidMin: number;
  readonly cntlidMax: number;
  readonly maxQid: number;
  readonly maxNamespaces: number;
  private anyHost: boolean;
  private readonly hosts = new Set<string>();
  private readonly nsMap = new Map<number, Namespace>();
  private readonly ctrls = new Map<number, Controller>();
  /** Next cntlid to try: allocation is round-robin so a reconnecting host rarely reuses a stale id. */
  private nextCntlid: number;

  constructor(
    readonly nvmet: Nvmet,
    opts: SubsystemOptions,
    type: SubsystemType = 'nvme',
  ) {
    this.subnqn = checkNqn(opts.nqn, 'subsystem NQN');
    this.type = type;
    this.serial = checkAscii(opts.serial ?? randomBytes(10).toString('hex'), 20, 'serial');
    this.model = checkAscii(opts.model ?? NVMET_DEFAULT_MODEL, 40, 'model');
    this.firmwareRev = checkAscii(opts.firmwareRev ?? NVMET_DEFAULT_FIRMWARE, 8, 'firmware revision');
    this.version = opts.version ?? NVMET_DEFAULT_VS;
    this.ieeeOui = (opts.ieeeOui ?? 0) & 0xffffff;
    this.cntlidMin = opts.cntlidMin ?? NVME_CNTLID_MIN;
    this.cntlidMax = opts.cntlidMax ?? NVME_CNTLID_MAX;
    if (
      !Number.isInteger(this.cntlidMin) ||
      !Number.isInteger(this.cntlidMax) ||
      this.cntlidMin < NVME_CNTLID_MIN ||
      this.cntlidMax > NVME_CNTLID_MAX ||
      this.cntlidMin > this.cntlidMax
    ) {
      throw new RangeError(`cntlid range ${this.cntlidMin}..${this.cntlidMax} must lie within ${NVME_CNTLID_MIN}..${NVME_CNTLID_MAX}`);
    }
    this.maxQid = type === 'discovery' ? 0 : (opts.maxQid ?? NVMET_NR_QUEUES);
    if (!Number.isInteger(this.maxQid) || this.maxQid < 0 || this.maxQid > 0xfffe) throw new RangeError(`maxQid ${this.maxQid} out of range`);
    if (type === 'nvme' && this.maxQid < 1) throw new RangeError('an NVM subsystem needs at least one I/O queue');
    this.maxNamespaces = opts.maxNamespaces ?? NVMET_MAX_NAMESPACES;
    if (!Number.isInteger(this.maxNamespaces) || this.maxNamespaces < 1 || this.maxNamespaces > 0xfffffffe) {
      throw new RangeError(`maxNamespaces ${this.maxNamespaces} out of range`);
    }
    this.anyHost = type === 'discovery' ? true : (opts.allowAnyHost ?? false);
    for (const h of opts.allowedHosts ?? []) {
      this.hosts.add(checkNqn(h, 'host NQN'));
      nvmet.addHost(h);
    }
    this.nextCntlid = this.cntlidMin;
  }

  get nqn(): string {
    return this.subnqn;
  }

  /** @internal Nvmet.setDiscoveryNqn: the discovery subsystem's NQN is settable (configfs discovery_nqn). */
  renameDiscovery(nqn: string): void {
    if (!this.isDiscovery) throw new Error('only the discovery subsystem can be renamed');
    this.subnqn = checkNqn(nqn, 'discovery NQN');
  }

  get isDiscovery(): boolean {
    return this.type === 'discovery';
  }

  // ------------------------------------------------------------ host access

  get allowAnyHost(): boolean {
    return this.anyHost;
  }

  setAllowAnyHost(v: boolean): void {
    if (this.isDiscovery || this.anyHost === v) return;
    this.anyHost = v;
    this.nvmet.subsysDiscoveryChanged(this, null);
  }

  get allowedHosts(): readonly string[] {
    return [...this.hosts];
  }

  allowHost(hostnqn: string): void {
    checkNqn(hostnqn, 'host NQN');
    if (this.hosts.has(hostnqn)) return;
    this.nvmet.addHost(hostnqn);
    this.hosts.add(hostnqn);
    this.nvmet.subsysDiscoveryChanged(this, hostnqn);
  }

  /** Existing controllers of the host stay connected (as Linux); new Connects are refused. */
  disallowHost(hostnqn: string): void {
    if (!this.hosts.delete(hostnqn)) return;
    this.nvmet.subsysDiscoveryChanged(this, hostnqn);
  }

  /** nvmet_host_allowed. */
  hostAllowed(hostnqn: string): boolean {
    return this.anyHost || this.isDiscovery || this.hosts.has(hostnqn);
  }

  // ------------------------------------------------------------ namespaces

  /** Add a namespace, disabled: call `enable()` on it to expose it (configfs semantics). */
  addNamespace(opts: NamespaceOptions): Namespace {
    if (this.isDiscovery) throw new Error('the discovery subsystem has no namespaces');
    const nsid = opts.nsid;
    if (!Number.isInteger(nsid) || nsid < 1 || nsid > this.maxNamespaces) {
      throw new RangeError(`nsid ${nsid} must be 1..${this.maxNamespaces}`);
    }
    if (this.nsMap.has(nsid)) throw Object.assign(new Error(`nsid ${nsid} already exists in ${this.nqn}`), { code: 'EEXIST' });
    const ns = new Namespace(this, opts);
    this.nsMap.set(nsid, ns);
    return ns;
  }

  /** Disable (if enabled) and remove a namespace. */
  async removeNamespace(nsid: number): Promise<void> {
    const ns = this.nsMap.get(nsid);
    if (ns === undefined) throw new Error(`nsid ${nsid} does not exist in ${this.nqn}`);
    await ns.disable();
    if (this.nsMap.get(nsid) === ns) {
      this.nsMap.delete(nsid);
      ns.released();
    }
  }

  getNamespace(nsid: number): Namespace | undefined {
    return this.nsMap.get(nsid);
  }

  /** All configured namespaces, enabled or not, by nsid. */
  get namespaces(): readonly Namespace[] {
    return [...this.nsMap.values()].sort((a, b) => a.nsid - b.nsid);
  }

  /** Enabled namespaces in nsid order (active namespace list). */
  enabledNamespaces(): Namespace[] {
    const out: Namespace[] = [];
    for (const ns of this.nsMap.values()) if (ns.enabled) out.push(ns);
    return out.sort((a, b) => a.nsid - b.nsid);
  }

  /** Look up an enabled namespace and take an in-flight reference on it (nvmet_req_find_ns). */
  findNamespaceRef(nsid: number): Namespace | null {
    const ns = this.nsMap.get(nsid);
    if (ns === undefined || !ns.tryGet()) return null;
    return ns;
  }

  /** @internal */
  assertCanEnable(ns: Namespace): void {
    if (this.nsMap.get(ns.nsid) !== ns) throw new Error(`nsid ${ns.nsid} was removed from ${this.nqn}`);
  }

  /** A namespace appeared, disappeared or changed (nvmet_ns_changed). */
  namespaceChanged(nsid: number): void {
    for (const c of this.ctrls.values()) c.nsChanged(nsid);
  }

  // ------------------------------------------------------------ controllers

  get controllers(): readonly Controller[] {
    return [...this.ctrls.values()];
  }

  getController(cntlid: number): Controller | undefined {
    return this.ctrls.get(cntlid);
  }

  /** Allocate a cntlid in range and create a controller; null when the range is exhausted. */
  createController(init: Omit<ControllerInit, 'cntlid' | 'subsys'>): Controller | null {
    const span = this.cntlidMax - this.cntlidMin + 1;
    for (let i = 0; i < span; i++) {
      const id = this.cntlidMin + ((this.nextCntlid - this.cntlidMin + i) % span);
      if (this.ctrls.has(id)) continue;
      this.nextCntlid = id === this.cntlidMax ? this.cntlidMin : id + 1;
      const ctrl = new Controller({ ...init, cntlid: id, subsys: this });
      this.ctrls.set(id, ctrl);
      return ctrl;
    }
    return null;
  }

  /** @internal Called by Controller.delete. */
  removeController(ctrl: Controller): void {
    if (this.ctrls.get(ctrl.cntlid) === ctrl) this.ctrls.delete(ctrl.cntlid);
  }

  /** Tear down every controller (optionally only those connected through `portId`). */
  deleteControllers(reason: string, portId?: number): void {
    for (const c of [...this.ctrls.values()]) if (portId === undefined || c.port.id === portId) c.delete(reason);
  }

  describe(): string {
    return `${this.type} subsystem ${this.nqn}: ${this.nsMap.size} namespaces, ${this.ctrls.size} controllers`;
  }
}

export { DISCOVERY_NQN };
