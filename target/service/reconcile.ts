/**
 * The configfs role of the service: make the live target (target/core objects) match
 * a configuration document, object by object, touching only what differs.
 *
 * A whole document (start-up, a state import) or one change (an API call: the
 * entities a ConfigEdit puts and removes) is resolved (defaults, memoized per entity)
 * and reconciled against what is live — for an edit, only the entities it names, so
 * a change costs the change, not the configuration. A namespace added to a subsystem
 * with hosts connected is just `addNamespace` + `enable` (hosts get the Namespace
 * Attribute Changed event), and nothing else is touched. What is live is tracked per
 * object as each step succeeds; when a step fails the previous document (or the
 * edited entities as they were) is reconciled back, so a refused change leaves the
 * target as it was.
 *
 * Runtime overrides (CLI --listen, --allow-p2pmem) change what runs, not the document.
 */

import { parseDhchapSecret } from '../../src/nvme/auth/secret.js';
import { authHashByName, dhGroupByName } from '../../src/nvme/auth/ids.js';
import type { DhchapHostSettings } from '../../src/nvme/auth/controller-session.js';
import { AdrFam, TcpSecType, Treq } from '../../src/nvme/discovery-log.js';
import { parseTlsPsk } from '../../src/nvme/tls/psk.js';
import { AnaState, anaStateFromName } from '../../src/nvme/ana.js';
import type { Nvmet } from '../core/nvmet.js';
import { TrType } from '../core/fabrics-ops.js';
import type { Logger } from '../core/log.js';
import type { Port } from '../core/port.js';
import type { Subsystem } from '../core/subsystem.js';
import type { NamespaceStats } from '../core/namespace.js';
import { ServiceError, asServiceError } from '../service-error.js';
import {
  configWork,
  resolveConfig,
  resolveHostDhchap,
  resolveHostTlsPsk,
  type ConfigEdit,
  type ConfigStore,
  type NvmetConfig,
  type ResolveCache,
  type ResolvedConfig,
  type ResolvedHostDhchap,
  type ResolvedNamespace,
  type ResolvedPort,
  type ResolvedSubsystem,
} from '../config/index.js';
import type { BackendSpec } from '../backend/backend.js';
import type { BackingPathPolicy } from '../backend/path-policy.js';
import type { ListenPolicy } from '../config/listen-policy.js';
import type { P2pDataPath } from '../p2p/data-path.js';
import { faultEngine, type FaultRuleSpec } from '../fault/index.js';

/** What reconcile may do to objects in use: refuse like configfs (EBUSY), or tear down and rebuild. */
export type ChangeMode = 'refuse' | 'recreate';

/** Cumulative I/O counts of an operation (read, write, ...). */
export interface IoTotals {
  commands: number;
  bytes: number;
}

/** What the reconciler works on and with. */
export interface ReconcilerOptions {
  nvmet: Nvmet;
  /** The p2pmem data path, when on (backends, port binding, namespace p2pmem). */
  dp: P2pDataPath | null;
  logger: Logger;
  /** Which files namespaces may be backed by. */
  paths: BackingPathPolicy;
  /** Where ports created after start-up may listen. */
  listenPolicy: ListenPolicy;
  /** Directory relative backing paths resolve against. */
  baseDir: string;
  /** CLI --listen: override the address of every TCP port of the start-up configuration. */
  listen?: { traddr: string; trsvcid: string } | undefined;
  /** CLI --allow-p2pmem: the port option on for every port. */
  allowP2pmem: boolean;
}

interface AppliedPort {
  res: ResolvedPort;
  /** Address actually used (after --listen). */
  traddr: string;
  trsvcid: string;
  /** Whether a core Port object exists for it. */
  core: boolean;
  referralIds: Map<string, number>;
  nextReferralId: number;
}

// ---------------------------------------------------------------- mapping helpers

const TRTYPES: Record<string, TrType> = { tcp: TrType.TCP, rdma: TrType.RDMA, loop: TrType.LOOP, fc: TrType.FC };
const ADRFAMS: Record<string, number> = { ipv4: AdrFam.Ipv4, ipv6: AdrFam.Ipv6, ib: AdrFam.Ib, fc: AdrFam.Fc, loop: AdrFam.IntraHost };
const TREQS: Record<string, number> = {
  'not specified': Treq.SecureChannelNotSpecified,
  required: Treq.SecureChannelRequired,
  'not required': Treq.SecureChannelNotRequired,
};

/** A transport type's configfs name (addr_trtype). */
export function trtypeName(t: TrType): string {
  for (const [name, v] of Object.entries(TRTYPES)) if (v === t) return name;
  return String(t);
}

/** Resolved (validated) DH-HMAC-CHAP strings → the core's parsed settings. */
function dhchapSettings(d: ResolvedHostDhchap | undefined): DhchapHostSettings | undefined {
  if (d === undefined) return undefined;
  return {
    hostKey: parseDhchapSecret(d.key),
    ctrlKey: d.ctrlKey !== '' ? parseDhchapSecret(d.ctrlKey) : undefined,
    hash: authHashByName(d.hash)!,
    dhGroup: dhGroupByName(d.dhgroup)!,
  };
}

function backendOf(ns: ResolvedNamespace, paths: BackingPathPolicy): BackendSpec {
  if (ns.backing === null) throw new Error(`namespace ${ns.nsid} has no device path`);
  return ns.backing.kind === 'ram' ? { kind: 'ram', size: ns.backing.bytes } : { kind: 'file', path: ns.backing.path, open: paths.open };
}

const key = (v: unknown): string => JSON.stringify(v);

/**
 * ana_groups of a live port → what the document says (configfs ports/N/ana_groups):
 * groups the document drops go (group 1 stays, back to optimized), others are
 * created or set. A group already moving to the wanted state (an API "change"
 * window) is left alone.
 */
function syncAnaGroups(tp: ResolvedPort, port: Port): void {
  const want = new Map(tp.anaGroups.map((g) => [g.grpid, anaStateFromName(g.state) ?? AnaState.Optimized]));
  if (!want.has(1)) want.set(1, AnaState.Optimized);
  for (const g of port.ana.groups()) if (!want.has(g)) port.ana.removeGroup(g);
  for (const [g, st] of want) {
    if (!port.ana.has(g)) port.ana.addGroup(g, st);
    else if (port.ana.targetState(g) !== st) port.ana.setState(g, st);
  }
}

/** What a core Subsystem is built from (changing any of it rebuilds the subsystem). */
function subsysIdentity(s: ResolvedSubsystem): string {
  return key([s.serial, s.model, s.firmware, s.vs, s.ieeeOui, s.cntlidMin, s.cntlidMax, s.qidMax]);
}

/** What a core Namespace is built from. */
function nsIdentity(n: ResolvedNamespace): string {
  return key([n.backing, n.blockSize, n.uuid, n.nguid, n.eui64 ?? null, n.nvme ?? null, n.resv]);
}

function isZeroNguid(s: string): boolean {
  return /^[0-]+$/.test(s);
}

/** "ram" or "file PATH" of a namespace's backing, for logs and the summary. */
export function describeBacking(ns: ResolvedNamespace | undefined): string {
  if (ns === undefined || ns.backing === null) return '(no device)';
  return ns.backing.kind === 'ram' ? 'ram' : `file ${ns.backing.path}`;
}

// ---------------------------------------------------------------- what reconcile works on

/** Links added to and removed from a port, when they are its only change. */
type LinkDelta = { readonly add: ReadonlySet<string>; readonly remove: ReadonlySet<string> };

/** A host's settings to apply (undefined in a map: the host is gone). */
interface HostTarget {
  dhchap?: ResolvedHostDhchap;
  tlsPsk?: string;
}

function hostTarget(dhchap: ResolvedHostDhchap | undefined, tlsPsk: string | undefined): HostTarget {
  const t: HostTarget = {};
  if (dhchap !== undefined) t.dhchap = dhchap;
  if (tlsPsk !== undefined) t.tlsPsk = tlsPsk;
  return t;
}

/**
 * What reconcile makes live: the entities it names, by key (undefined: absent, to be
 * removed if live). Entities it does not name are left as they are.
 */
interface ReconcileTarget {
  readonly hosts: ReadonlyMap<string, HostTarget | undefined>;
  readonly subsystems: ReadonlyMap<string, ResolvedSubsystem | undefined>;
  readonly ports: ReadonlyMap<number, ResolvedPort | undefined>;
  /** The config's fault rules (a whole document only). */
  readonly faults?: readonly FaultRuleSpec[];
  /** A port whose only change is links: which. */
  linksOnly(portid: number): LinkDelta | undefined;
  /** Ports (of the target configuration) linking a subsystem. */
  portsLinking(nqn: string): Iterable<number>;
  /** Live hosts the target no longer has. */
  hostsGone(nvmet: Nvmet): Iterable<string>;
  /** Where a port sits in the document, for messages ("ports[2]"). */
  portPath(portid: number): string;
}

/** An edit as a reconcile target: its entities as they will be (`next`) or as they are (`prev`, for rollback). */
function editTarget(store: ConfigStore, edit: ConfigEdit, side: 'next' | 'prev'): ReconcileTarget {
  const next = side === 'next';
  const hosts = new Map<string, HostTarget | undefined>();
  for (const [nqn, h] of edit.hosts) {
    const e = next ? h : (store.host(nqn) ?? null);
    hosts.set(nqn, e === null ? undefined : hostTarget(resolveHostDhchap(e), resolveHostTlsPsk(e)));
  }
  const subsystems = new Map<string, ResolvedSubsystem | undefined>();
  for (const [nqn, x] of edit.subsystems) {
    const e = next ? x : (store.subsystem(nqn) ?? null);
    subsystems.set(nqn, e === null ? undefined : store.resolved.subsystem(e));
  }
  const ports = new Map<number, ResolvedPort | undefined>();
  for (const [id, x] of edit.ports) {
    const e = next ? x : (store.port(id) ?? null);
    ports.set(id, e === null ? undefined : store.resolved.port(e));
  }
  return {
    hosts,
    subsystems,
    ports,
    linksOnly: (portid) => {
      const d = edit.linkDelta(portid);
      return d === undefined || next ? d : { add: d.remove, remove: d.add };
    },
    portsLinking: (nqn) => store.portsLinking(nqn),
    hostsGone: (nvmet) => [...hosts].filter(([h, t]) => t === undefined && nvmet.hasHost(h)).map(([h]) => h),
    portPath: (portid) => edit.pathOf('ports', portid),
  };
}

// ---------------------------------------------------------------- the reconciler

export class Reconciler {
  private readonly nvmet: Nvmet;
  private readonly dp: P2pDataPath | null;
  private readonly logger: Logger;
  private readonly appliedSubs = new Map<string, ResolvedSubsystem>();
  private readonly appliedPorts = new Map<number, AppliedPort>();
  /** portid → "traddr:trsvcid" of the start-up document, for --listen. */
  private readonly listenFor = new Map<number, string>();
  /** I/O counts of namespaces that no longer exist (so counters never go down). */
  readonly retired: Record<'read' | 'write', IoTotals> = { read: { commands: 0, bytes: 0 }, write: { commands: 0, bytes: 0 } };

  constructor(private readonly opts: ReconcilerOptions) {
    this.nvmet = opts.nvmet;
    this.dp = opts.dp;
    this.logger = opts.logger;
  }

  /** The subsystem as last applied (resolved), with its namespaces' backing and p2pmem settings. */
  appliedSubsystem(nqn: string): ResolvedSubsystem | undefined {
    return this.appliedSubs.get(nqn);
  }

  /**
   * Build what the start-up document describes. Its own backing files are trusted
   * (the operator named them) and its addresses become addresses ports may listen on.
   */
  async applyStartup(config: NvmetConfig): Promise<void> {
    if (this.opts.listen) {
      for (const p of config.ports) {
        if (p.addr.trtype === 'tcp' || p.addr.trtype === '' || p.addr.trtype === undefined) {
          this.listenFor.set(p.portid, `${p.addr.traddr ?? ''}:${p.addr.trsvcid ?? ''}`);
        }
      }
    }
    const resolved = resolveConfig(config, this.opts.baseDir);
    // The operator's own configuration may name files anywhere: pin them now.
    for (const s of resolved.subsystems) for (const ns of s.namespaces) if (ns.backing?.kind === 'file') await this.opts.paths.trust(ns.backing.path);
    for (const p of resolved.ports) this.opts.listenPolicy.addStartup(this.effectiveAddr(p).traddr);
    await this.reconcile(this.whole(resolved));
  }

  /**
   * Move from `prev` (what runs) to `next`. Refusals come before any change; when a
   * step fails, `prev` is reconciled back and the error rethrown as a ServiceError.
   */
  async apply(prev: NvmetConfig, next: NvmetConfig, mode: ChangeMode, cache?: ResolveCache): Promise<void> {
    const base = this.opts.baseDir;
    await this.reconcileChecked(this.whole(resolveConfig(next, base, cache)), () => this.whole(resolveConfig(prev, base, cache)), mode);
  }

  /**
   * Apply an edit of `store` (checked, not yet committed): only the entities it puts
   * and removes are compared with what is live. Rollback reconciles those entities as
   * the store still has them.
   */
  async applyEdit(store: ConfigStore, edit: ConfigEdit, mode: ChangeMode): Promise<void> {
    await this.reconcileChecked(editTarget(store, edit, 'next'), () => editTarget(store, edit, 'prev'), mode);
  }

  /**
   * Refusals first (no rollback needed), then reconcile `target`; when a step fails,
   * reconcile `previous()` (the same entities as they were) and rethrow.
   */
  private async reconcileChecked(target: ReconcileTarget, previous: () => ReconcileTarget, mode: ChangeMode): Promise<void> {
    this.checkListen(target);
    if (mode === 'refuse') this.precheck(target);
    try {
      await this.reconcile(target);
    } catch (e) {
      try {
        await this.reconcile(previous());
      } catch (e2) {
        this.logger.error(`rollback after a failed change also failed; the live target may differ from the document: ${String(e2)}`);
      }
      throw asServiceError(e);
    }
  }

  private retire(stats: NamespaceStats): void {
    this.retired.read.commands += stats.readCommands;
    this.retired.read.bytes += stats.bytesRead;
    this.retired.write.commands += stats.writeCommands;
    this.retired.write.bytes += stats.bytesWritten;
  }

  private effectiveAddr(p: ResolvedPort): { traddr: string; trsvcid: string } {
    const o = this.opts.listen;
    if (o && this.listenFor.get(p.portid) === `${p.traddr}:${p.trsvcid}`) return o;
    return { traddr: p.traddr, trsvcid: p.trsvcid };
  }

  private portIdentity(p: ResolvedPort): string {
    const a = this.effectiveAddr(p);
    // With the data path, NIC and allow_p2pmem are bound at port enable (EBUSY while enabled): re-bind on change.
    const p2p = this.dp !== null ? [p.nic ?? null, this.opts.allowP2pmem || p.allowP2pmem] : [];
    return key([p.trtype, p.adrfam, a.traddr, a.trsvcid, p.treq, p.tsas ?? '', p.inlineDataSize, p.limits ?? null, ...p2p]);
  }


  /** A whole document as a reconcile target: every entity it has, and every live one it dropped. */
  private whole(t: ResolvedConfig): ReconcileTarget {
    const hosts = new Map<string, HostTarget | undefined>(t.hosts.map((h) => [h, hostTarget(t.hostDhchap[h], t.hostTlsPsk[h])]));
    const subsystems = new Map<string, ResolvedSubsystem | undefined>(t.subsystems.map((x) => [x.nqn, x]));
    for (const nqn of this.appliedSubs.keys()) if (!subsystems.has(nqn)) subsystems.set(nqn, undefined);
    const ports = new Map<number, ResolvedPort | undefined>(t.ports.map((x) => [x.portid, x]));
    for (const id of this.appliedPorts.keys()) if (!ports.has(id)) ports.set(id, undefined);
    const index = new Map(t.ports.map((x, i) => [x.portid, i]));
    return {
      hosts,
      subsystems,
      ports,
      faults: t.faults ?? [],
      linksOnly: () => undefined,
      portsLinking: () => [],
      hostsGone: (nvmet) => {
        const allowed = new Set(t.subsystems.flatMap((x) => x.allowedHosts));
        return nvmet.hosts.filter((h) => !hosts.has(h) && !allowed.has(h));
      },
      portPath: (portid) => `ports[${index.get(portid) ?? 0}]`,
    };
  }

  /** A TCP port that would newly listen on an address the operator did not allow. */
  private checkListen(target: ReconcileTarget): void {
    for (const [portid, tp] of target.ports) {
      if (tp === undefined || tp.trtype !== 'tcp') continue;
      const a = this.effectiveAddr(tp);
      if (a.traddr === '' || this.appliedPorts.get(tp.portid)?.traddr === a.traddr || this.opts.listenPolicy.allows(a.traddr)) continue;
      throw new ServiceError(
        'forbidden',
        'EACCES',
        `${target.portPath(portid)}.addr.traddr: ${a.traddr} is not an address new ports may listen on (loopback, the start-up configuration's addresses, or nvmet-ts --allow-listen ADDR)`,
      );
    }
  }

  /** configfs refusals, checked before anything changes. */
  private precheck(target: ReconcileTarget): void {
    for (const [nqn, ts] of target.subsystems) {
      if (ts === undefined) continue;
      const as = this.appliedSubs.get(nqn);
      const sub = this.nvmet.getSubsystem(nqn);
      if (as === undefined || sub === undefined) continue;
      if (subsysIdentity(as) !== subsysIdentity(ts)) {
        const ctrls = sub.controllers.length;
        const enabled = sub.enabledNamespaces().length;
        if (ctrls > 0 || enabled > 0) {
          throw new ServiceError(
            'conflict',
            'EBUSY',
            `subsystem ${ts.nqn} is in use (${ctrls} controller(s), ${enabled} enabled namespace(s)): only allow_any_host and allowed hosts may change now (Linux: EBUSY once hosts discovered it)`,
          );
        }
      }
      const applied = new Map(as.namespaces.map((n) => [n.nsid, n]));
      for (const tn of ts.namespaces) {
        const an = applied.get(tn.nsid);
        if (an === undefined || !an.enabled || !tn.enabled) continue;
        if (nsIdentity(an) !== nsIdentity(tn)) {
          throw new ServiceError('conflict', 'EBUSY', `namespace ${tn.nsid} of ${ts.nqn} is enabled: disable it before changing its device (Linux: EBUSY)`);
        }
        if (key(an.p2pmem) !== key(tn.p2pmem)) {
          throw new ServiceError('conflict', 'EBUSY', `namespace ${tn.nsid} of ${ts.nqn} is enabled: disable it before changing p2pmem (Linux: EBUSY)`);
        }
      }
    }
  }

  /** The config's `nvmet_ts.faults` (target/fault/): replaced only when they change, so counters survive unrelated updates. */
  private appliedFaults = '[]';
  private applyFaultRules(rules: readonly FaultRuleSpec[]): void {
    const json = JSON.stringify(rules);
    if (json === this.appliedFaults) return;
    const engine = faultEngine(this.nvmet);
    engine.clear('config');
    for (const r of rules) engine.add(r, 'config');
    this.appliedFaults = json;
  }

  /**
   * Make the live target match `target` for the entities it names, touching only what
   * differs. A whole document names every entity (and every live one, so what it
   * dropped goes); an edit names what it puts and removes.
   */
  private async reconcile(target: ReconcileTarget): Promise<void> {
    for (const [h, st] of target.hosts) {
      configWork.reconciled++;
      if (st === undefined) continue;
      if (!this.nvmet.hasHost(h)) this.nvmet.addHost(h);
      // DH-HMAC-CHAP settings apply from the next authentication transaction (as configfs).
      this.nvmet.setHostDhchap(h, dhchapSettings(st.dhchap));
      this.nvmet.setHostTlsPsk(h, st.tlsPsk !== undefined ? parseTlsPsk(st.tlsPsk) : undefined);
    }

    for (const [id, tp] of target.ports) {
      configWork.reconciled++;
      const ap = this.appliedPorts.get(id);
      if (ap === undefined) continue;
      if (tp === undefined || this.portIdentity(tp) !== this.portIdentity(ap.res)) await this.removePortLive(id);
    }
    const rebuilt: string[] = [];
    for (const [nqn, ts] of target.subsystems) {
      configWork.reconciled++;
      const as = this.appliedSubs.get(nqn);
      if (as === undefined || (ts !== undefined && subsysIdentity(ts) === subsysIdentity(as))) continue;
      await this.removeSubsystemLive(nqn);
      if (ts !== undefined) rebuilt.push(nqn);
    }
    for (const [, ts] of target.subsystems) {
      if (ts === undefined) continue;
      if (this.appliedSubs.has(ts.nqn)) await this.updateSubsystemLive(ts);
      else await this.addSubsystemLive(ts);
    }
    for (const [id, tp] of target.ports) {
      if (tp === undefined) continue;
      const links = target.linksOnly(id);
      if (!this.appliedPorts.has(id)) await this.addPortLive(tp);
      else if (links !== undefined) this.relinkPortLive(tp, links);
      else this.updatePortLive(tp);
    }
    // A rebuilt subsystem lost its links: ports the target does not name get them back.
    for (const nqn of rebuilt) {
      for (const id of target.portsLinking(nqn)) {
        if (target.ports.has(id)) continue;
        configWork.reconciled++;
        const port = this.nvmet.getPort(id);
        if (port !== undefined && !port.hasSubsystem(nqn)) port.addSubsystem(nqn);
      }
    }
    // Links are settled: ports listen exactly while they link a subsystem. Done once, at
    // the end, so a subsystem rebuilt in place does not make its port stop and restart.
    for (const port of this.nvmet.ports) await this.syncListening(port);
    if (target.faults !== undefined) this.applyFaultRules(target.faults);
    for (const h of target.hostsGone(this.nvmet)) this.nvmet.removeHost(h);
  }

  /**
   * Linux enables a port (the transport listens) when the first subsystem is linked
   * to it and disables it when the last is unlinked: drivers/nvme/target/configfs.c,
   * nvmet_port_subsys_allow_link (`if (list_empty(&port->subsystems))
   * nvmet_enable_port(port)`) and nvmet_port_subsys_drop_link (`if
   * (list_empty(&port->subsystems)) nvmet_disable_port(port)`). A port with no
   * subsystem linked does not listen, so a host gets a refused connection, not a
   * listening port with an empty discovery log. A failed enable fails the change
   * (the link is refused and rolled back), as the symlink fails in configfs.
   */
  private async syncListening(port: Port): Promise<void> {
    const linked = port.subsystems.length > 0;
    if (linked && port.state === 'disabled' && this.nvmet.transport(port.addr.trtype) !== undefined) {
      const tp = this.appliedPorts.get(port.id)?.res;
      if (tp !== undefined) this.dp?.configurePort(port.id, { nic: tp.nic, allowP2pmem: this.opts.allowP2pmem || tp.allowP2pmem });
      await port.enable();
    } else if (!linked && port.state === 'enabled') {
      await port.disable();
      this.logger.info(`port ${port.id} disabled: no subsystem linked`);
    }
  }

  private async removeSubsystemLive(nqn: string): Promise<void> {
    const sub = this.nvmet.getSubsystem(nqn);
    if (sub !== undefined) {
      for (const ns of sub.namespaces) this.retire(ns.stats);
      await this.nvmet.removeSubsystem(nqn);
      this.logger.info(`subsystem ${nqn} removed`);
    }
    this.appliedSubs.delete(nqn);
  }

  private async addSubsystemLive(ts: ResolvedSubsystem): Promise<void> {
    const sub = this.nvmet.addSubsystem({
      nqn: ts.nqn,
      serial: ts.serial,
      model: ts.model,
      firmwareRev: ts.firmware,
      version: ts.vs,
      ieeeOui: ts.ieeeOui,
      allowAnyHost: ts.allowAnyHost,
      allowedHosts: ts.allowedHosts,
      cntlidMin: ts.cntlidMin,
      cntlidMax: ts.cntlidMax,
      maxQid: ts.qidMax,
    });
    const applied: ResolvedSubsystem = { ...ts, allowedHosts: [...ts.allowedHosts], namespaces: [] };
    this.appliedSubs.set(ts.nqn, applied);
    this.logger.info(`subsystem ${ts.nqn} added`);
    for (const ns of ts.namespaces) await this.addNamespaceLive(sub, applied, ns);
  }

  private async addNamespaceLive(sub: Subsystem, applied: ResolvedSubsystem, ns: ResolvedNamespace): Promise<void> {
    const rec: ResolvedNamespace = { ...ns, enabled: false };
    if (ns.backing === null) {
      applied.namespaces.push(rec);
      return;
    }
    const spec = backendOf(ns, this.opts.paths);
    const backend = this.dp !== null ? this.dp.backendFor(spec, { nvme: ns.nvme ?? null, p2pmem: ns.p2pmem }) : spec;
    const n = sub.addNamespace({
      nsid: ns.nsid,
      backend,
      blockSize: ns.blockSize,
      uuid: ns.uuid,
      anaGrpid: ns.anaGrpid,
      resv: ns.resv,
      ...(spec.kind === 'file' ? { resvFile: spec.path } : {}),
      ...(isZeroNguid(ns.nguid) ? {} : { nguid: ns.nguid }),
      ...(ns.eui64 === undefined ? {} : { eui64: ns.eui64 }),
    });
    applied.namespaces.push(rec);
    if (ns.enabled) {
      await n.enable();
      rec.enabled = true;
      this.logger.info(`${sub.nqn} namespace ${ns.nsid} enabled (${describeBacking(ns)})`);
    }
  }

  private async removeNamespaceLive(sub: Subsystem, applied: ResolvedSubsystem, nsid: number): Promise<void> {
    const n = sub.getNamespace(nsid);
    if (n !== undefined) {
      this.retire(n.stats);
      await sub.removeNamespace(nsid);
      this.logger.info(`${sub.nqn} namespace ${nsid} removed`);
    }
    applied.namespaces = applied.namespaces.filter((x) => x.nsid !== nsid);
  }

  private async updateSubsystemLive(ts: ResolvedSubsystem): Promise<void> {
    const applied = this.appliedSubs.get(ts.nqn)!;
    const sub = this.nvmet.getSubsystem(ts.nqn)!;
    for (const h of applied.allowedHosts) if (!ts.allowedHosts.includes(h)) sub.disallowHost(h);
    for (const h of ts.allowedHosts) if (!applied.allowedHosts.includes(h)) sub.allowHost(h);
    applied.allowedHosts = [...ts.allowedHosts];
    if (sub.allowAnyHost !== ts.allowAnyHost) sub.setAllowAnyHost(ts.allowAnyHost);
    Object.assign(applied, { ...ts, allowedHosts: applied.allowedHosts, namespaces: applied.namespaces });

    const want = new Map(ts.namespaces.map((n) => [n.nsid, n]));
    for (const an of [...applied.namespaces]) {
      const tn = want.get(an.nsid);
      // p2pmem of a namespace that stays enabled can only change by rebuilding it (state imports; the API refuses with EBUSY first).
      const p2pBusy = tn !== undefined && an.enabled && tn.enabled && key(an.p2pmem) !== key(tn.p2pmem);
      if (tn === undefined || nsIdentity(tn) !== nsIdentity(an) || p2pBusy) await this.removeNamespaceLive(sub, applied, an.nsid);
    }
    for (const tn of ts.namespaces) {
      const an = applied.namespaces.find((n) => n.nsid === tn.nsid);
      if (an === undefined) {
        await this.addNamespaceLive(sub, applied, tn);
        continue;
      }
      const n = sub.getNamespace(tn.nsid);
      if (n !== undefined && an.enabled && !tn.enabled) {
        await n.disable();
        an.enabled = false;
        this.logger.info(`${sub.nqn} namespace ${tn.nsid} disabled`);
      }
      if (n !== undefined && key(an.p2pmem) !== key(tn.p2pmem)) {
        this.dp?.setNamespaceP2pmem(n, tn.p2pmem);
        an.p2pmem = tn.p2pmem;
      }
      // ana_grpid moves live (nvmet_ns_ana_grpid_store), hosts get an ANA change event.
      if (n !== undefined && n.anaGrpid !== tn.anaGrpid) n.setAnaGrpid(tn.anaGrpid);
      if (n !== undefined && !an.enabled && tn.enabled) {
        await n.enable();
        an.enabled = true;
        this.logger.info(`${sub.nqn} namespace ${tn.nsid} enabled`);
      }
      Object.assign(an, tn);
    }
    applied.namespaces.sort((a, b) => a.nsid - b.nsid);
  }

  private async removePortLive(id: number): Promise<void> {
    if (this.nvmet.getPort(id) !== undefined) {
      await this.nvmet.removePort(id);
      this.logger.info(`port ${id} removed`);
    }
    this.appliedPorts.delete(id);
  }

  private async addPortLive(tp: ResolvedPort): Promise<void> {
    const a = this.effectiveAddr(tp);
    const trtype = TRTYPES[tp.trtype];
    const ap: AppliedPort = { res: { ...tp, subsystems: [], referrals: [] }, ...a, core: false, referralIds: new Map(), nextReferralId: 1 };
    this.appliedPorts.set(tp.portid, ap);
    if (trtype === undefined || a.traddr === '' || a.trsvcid === '') {
      if (tp.trtype !== '') this.logger.warn(`port ${tp.portid}: ${tp.trtype || 'no'} transport or address: the port is configured but not created`);
      return;
    }
    const port = this.nvmet.addPort({
      portId: tp.portid,
      trtype,
      traddr: a.traddr,
      trsvcid: a.trsvcid,
      ...(tp.adrfam !== '' && ADRFAMS[tp.adrfam] !== undefined ? { adrfam: ADRFAMS[tp.adrfam] } : {}),
      ...(tp.treq !== '' && TREQS[tp.treq] !== undefined ? { treq: TREQS[tp.treq] } : {}),
      ...(tp.tsas === 'tls1.3' ? { tsas: TcpSecType.Tls13 } : {}),
      ...(tp.inlineDataSize >= 0 ? { inlineDataSize: tp.inlineDataSize } : {}),
      ...(tp.limits !== undefined ? { limits: tp.limits } : {}),
    });
    ap.core = true;
    this.syncPortLinks(tp, ap, port);
    if (this.nvmet.transport(trtype) === undefined) {
      this.logger.warn(`port ${tp.portid}: no ${tp.trtype} transport in nvmet-ts; the port stays disabled`);
      return;
    }
    // The data path's NIC and allow_p2pmem binding, taken when the port is enabled (syncListening).
    this.dp?.configurePort(tp.portid, { nic: tp.nic, allowP2pmem: this.opts.allowP2pmem || tp.allowP2pmem });
    if (port.subsystems.length === 0) this.logger.info(`port ${tp.portid} not listening: no subsystem linked`);
  }

  private updatePortLive(tp: ResolvedPort): void {
    const ap = this.appliedPorts.get(tp.portid)!;
    const port = this.nvmet.getPort(tp.portid);
    if (port !== undefined) this.syncPortLinks(tp, ap, port);
    else ap.res = { ...tp };
  }

  /** A port whose only change is links added or removed: just those (a port may link thousands). */
  private relinkPortLive(tp: ResolvedPort, links: LinkDelta): void {
    const ap = this.appliedPorts.get(tp.portid)!;
    const port = this.nvmet.getPort(tp.portid);
    if (port !== undefined) {
      for (const nqn of links.remove) port.removeSubsystem(nqn);
      for (const nqn of links.add) if (this.nvmet.getSubsystem(nqn) !== undefined) port.addSubsystem(nqn);
    }
    ap.res = { ...ap.res, subsystems: tp.subsystems };
  }

  /** Subsystem links and referrals of a live port → what `tp` says. */
  private syncPortLinks(tp: ResolvedPort, ap: AppliedPort, port: Port): void {
    const links = new Set(tp.subsystems);
    for (const s of port.subsystems) if (!links.has(s.nqn)) port.removeSubsystem(s.nqn);
    for (const nqn of tp.subsystems) if (!port.hasSubsystem(nqn) && this.nvmet.getSubsystem(nqn)) port.addSubsystem(nqn);
    const want = new Map(tp.referrals.filter((r) => r.enabled).map((r) => [r.name, r]));
    const had = new Map(ap.res.referrals.filter((r) => r.enabled).map((r) => [r.name, r]));
    for (const [name, r] of had) {
      const w = want.get(name);
      if (w === undefined || key(w) !== key(r)) {
        const id = ap.referralIds.get(name);
        if (id !== undefined) port.removeReferral(id);
        ap.referralIds.delete(name);
      }
    }
    for (const [name, r] of want) {
      if (ap.referralIds.has(name)) continue;
      const id = ap.nextReferralId++;
      port.addReferral({
        id,
        portId: r.portid,
        trtype: TRTYPES[r.trtype] ?? TrType.TCP,
        traddr: r.traddr,
        trsvcid: r.trsvcid,
        ...(r.adrfam !== '' && ADRFAMS[r.adrfam] !== undefined ? { adrfam: ADRFAMS[r.adrfam] } : {}),
      });
      ap.referralIds.set(name, id);
    }
    syncAnaGroups(tp, port);
    ap.res = {
      ...tp,
      subsystems: port.subsystems.map((s) => s.nqn),
      anaGroups: tp.anaGroups.map((g) => ({ ...g })),
      referrals: tp.referrals.map((r) => ({ ...r })),
    };
  }
}
