/**
 * The configfs role of the service: make the live target (target/core objects) match
 * a configuration document, object by object, touching only what differs.
 *
 * Every change — start-up, an API call, a state import — is "here is the next
 * document": it is resolved (defaults) and reconciled against what is live, so a
 * namespace added to a subsystem with hosts connected is just `addNamespace` +
 * `enable` (hosts get the Namespace Attribute Changed event), and nothing else is
 * touched. What is live is tracked per object as each step succeeds; when a step
 * fails the previous document is reconciled back, so a refused change leaves the
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
  resolveConfig,
  type NvmetConfig,
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
    await this.reconcile(resolved);
  }

  /**
   * Move from `prev` (what runs) to `next`. Refusals come before any change; when a
   * step fails, `prev` is reconciled back and the error rethrown as a ServiceError.
   */
  async apply(prev: NvmetConfig, next: NvmetConfig, mode: ChangeMode): Promise<void> {
    const target = resolveConfig(next, this.opts.baseDir);
    // Refusals come before any change, so they need no rollback.
    this.checkListen(target);
    if (mode === 'refuse') this.precheck(target);
    try {
      await this.reconcile(target);
    } catch (e) {
      try {
        await this.reconcile(resolveConfig(prev, this.opts.baseDir));
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


  /** A TCP port that would newly listen on an address the operator did not allow. */
  private checkListen(target: ResolvedConfig): void {
    target.ports.forEach((tp, i) => {
      if (tp.trtype !== 'tcp') return;
      const a = this.effectiveAddr(tp);
      if (a.traddr === '' || this.appliedPorts.get(tp.portid)?.traddr === a.traddr || this.opts.listenPolicy.allows(a.traddr)) return;
      throw new ServiceError(
        'forbidden',
        'EACCES',
        `ports[${i}].addr.traddr: ${a.traddr} is not an address new ports may listen on (loopback, the start-up configuration's addresses, or nvmet-ts --allow-listen ADDR)`,
      );
    });
  }

  /** configfs refusals, checked before anything changes. */
  private precheck(target: ResolvedConfig): void {
    for (const ts of target.subsystems) {
      const as = this.appliedSubs.get(ts.nqn);
      const sub = this.nvmet.getSubsystem(ts.nqn);
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
      for (const tn of ts.namespaces) {
        const an = as.namespaces.find((n) => n.nsid === tn.nsid);
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

  /** Make the live target match `target`, touching only what differs. */
  private async reconcile(target: ResolvedConfig): Promise<void> {
    for (const h of target.hosts) if (!this.nvmet.hosts.includes(h)) this.nvmet.addHost(h);
    // DH-HMAC-CHAP settings apply from the next authentication transaction (as configfs).
    for (const h of target.hosts) this.nvmet.setHostDhchap(h, dhchapSettings(target.hostDhchap[h]));
    for (const h of target.hosts) {
      const psk = target.hostTlsPsk[h];
      this.nvmet.setHostTlsPsk(h, psk !== undefined ? parseTlsPsk(psk) : undefined);
    }
    const tSubs = new Map(target.subsystems.map((s) => [s.nqn, s]));
    const tPorts = new Map(target.ports.map((p) => [p.portid, p]));

    for (const [id, ap] of [...this.appliedPorts]) {
      const tp = tPorts.get(id);
      const live = this.nvmet.getPort(id);
      const wantsEnabled = live !== undefined && this.nvmet.transport(live.addr.trtype) !== undefined;
      if (tp === undefined || this.portIdentity(tp) !== this.portIdentity(ap.res) || (wantsEnabled && live.state === 'disabled')) {
        await this.removePortLive(id);
      }
    }
    for (const [nqn, as] of [...this.appliedSubs]) {
      const ts = tSubs.get(nqn);
      if (ts === undefined || subsysIdentity(ts) !== subsysIdentity(as)) await this.removeSubsystemLive(nqn);
    }
    for (const ts of target.subsystems) {
      if (this.appliedSubs.has(ts.nqn)) await this.updateSubsystemLive(ts);
      else await this.addSubsystemLive(ts);
    }
    for (const tp of target.ports) {
      if (this.appliedPorts.has(tp.portid)) this.updatePortLive(tp);
      else await this.addPortLive(tp);
    }
    this.applyFaultRules(target.faults ?? []);
    const hosts = new Set(target.hosts);
    for (const h of this.nvmet.hosts) if (!hosts.has(h) && !target.subsystems.some((s) => s.allowedHosts.includes(h))) this.nvmet.removeHost(h);
  }

  private async removeSubsystemLive(nqn: string): Promise<void> {
    const sub = this.nvmet.getSubsystem(nqn);
    if (sub !== undefined) {
      for (const ns of sub.namespaces) this.retire(ns.stats);
      await this.nvmet.removeSubsystem(nqn);
      this.logger.info(`subsystem ${nqn} removed`);
    }
    this.appliedSubs.delete(nqn);
    for (const ap of this.appliedPorts.values()) ap.res.subsystems = ap.res.subsystems.filter((n) => n !== nqn);
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
    this.dp?.configurePort(tp.portid, { nic: tp.nic, allowP2pmem: this.opts.allowP2pmem || tp.allowP2pmem });
    await port.enable();
  }

  private updatePortLive(tp: ResolvedPort): void {
    const ap = this.appliedPorts.get(tp.portid)!;
    const port = this.nvmet.getPort(tp.portid);
    if (port !== undefined) this.syncPortLinks(tp, ap, port);
    else ap.res = { ...tp };
  }

  /** Subsystem links and referrals of a live port → what `tp` says. */
  private syncPortLinks(tp: ResolvedPort, ap: AppliedPort, port: Port): void {
    for (const s of port.subsystems) if (!tp.subsystems.includes(s.nqn)) port.removeSubsystem(s.nqn);
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
