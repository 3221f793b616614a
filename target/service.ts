/**
 * A running nvmet-ts: the target core, its transports, the PCIe topology, and the
 * configuration document (nvmetcli JSON) it runs. This is the one place that turns
 * configuration (target/config) into core objects (target/core), so the CLI, the
 * management API and tests all start and change a target the same way.
 *
 * The document is the source of truth. Every change — start-up, an API call, a
 * state import — is "here is the next document": it is resolved (defaults) and
 * reconciled against what is live, object by object, so a namespace added to a
 * subsystem with hosts connected is just `addNamespace` + `enable` (hosts get the
 * Namespace Attribute Changed event), and nothing else is touched. What is live is
 * tracked per object as each step succeeds; when a step fails the previous document
 * is reconciled back, so a refused change leaves the target as it was. The document
 * saved (POST /api/save, --save) is therefore always what is running.
 *
 * Runtime overrides (CLI --listen, --allow-p2pmem) change what runs, not the document.
 */

import { parseDhchapSecret } from '../src/nvme/auth/secret.js';
import { authHashByName, dhGroupByName } from '../src/nvme/auth/ids.js';
import type { DhchapHostSettings } from '../src/nvme/auth/controller-session.js';
import { dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';
import type { Nvmet } from './core/nvmet.js';
import { createNvmet } from './create-nvmet.js';
import { TrType } from './core/fabrics-ops.js';
import type { Logger } from './core/log.js';
import type { Port } from './core/port.js';
import type { Subsystem } from './core/subsystem.js';
import type { NamespaceStats } from './core/namespace.js';
import { TcpTransport } from './tcp/index.js';
import { ServiceError, asServiceError } from './service-error.js';
import { RdmaTransport } from './rdma/transport.js';
import { AdrFam, TcpSecType, Treq } from '../src/nvme/discovery-log.js';
import { parseTlsPsk } from '../src/nvme/tls/psk.js';
import { AnaState, anaStateFromName } from '../src/nvme/ana.js';
import {
  configToJson,
  parseConfig,
  resolveConfig,
  saveConfigFile,
  serializeConfig,
  type NvmetConfig,
  type ParseOptions,
  type ResolvedConfig,
  type ResolvedHostDhchap,
  type ResolvedNamespace,
  type ResolvedPort,
  type ResolvedSubsystem,
} from './config/index.js';
import type { TopologyDocument } from './config/topology.js';
import type { JsonValue } from './config/json.js';
import type { BackendSpec } from './backend/backend.js';
import { BackingPathPolicy } from './backend/path-policy.js';
import { ListenPolicy } from './config/listen-policy.js';
import { parseTopology } from '../src/pci/parse-topology.js';
import { loadBuiltinTopology } from '../src/pci/load.js';
import type { PciTopology } from '../src/pci/topology.js';
import { DEFAULT_POLICY, type P2pPolicy } from '../src/p2pdma/policy.js';
import type { DmaCounters } from '../src/copy/link-accounting.js';
import { decidePort, providersOf, type PortDecision } from './api/p2p-explain.js';
import { MODEL_SIMPLIFICATIONS, nicKindNote, P2pDataPath, type DataPathState, type NamespaceP2pState } from './p2p/data-path.js';
import { faultEngine, type FaultRuleSpec } from './fault/index.js';

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

export { ServiceError, asServiceError, type Refusal } from './service-error.js';

// ---------------------------------------------------------------- hooks for the data path

/**
 * What the p2pmem data path reports once it lands (it calls `attachDataPath`).
 * Until then the service answers from the topology alone: full providers, zero DMA
 * traffic, no fallbacks, staging in system memory.
 */
export interface DataPathHooks {
  /** src/copy LinkAccounting.snapshot(): bytes per link and direction, root complex, DRAM. */
  dmaCounters?(): DmaCounters;
  /** Free bytes in a provider's pool (sysfs p2pmem/available); undefined = not managed. */
  providerAvailable?(bdf: string): number | undefined;
  /** I/Os of a port that wanted p2pmem but were staged in system memory. */
  fallbacks?(portid: number): number;
  /** The provider a port actually stages in (null: system memory). */
  portProvider?(portid: number): string | null;
}

/** Cumulative I/O counts of an operation (read, write, ...). */
export interface IoTotals {
  commands: number;
  bytes: number;
}

// ---------------------------------------------------------------- options

export interface ServiceOptions {
  /** The configuration document (as loaded by loadConfigFile or parsed from JSON). */
  config: NvmetConfig;
  /** Directory relative backing paths resolve against (the config file's directory). Default: cwd. */
  baseDir?: string;
  /**
   * Which files namespaces may be backed by (data directory, --allow-path). The
   * start-up configuration's own files are trusted on top of it. Default: the
   * data directory ./nvmet-ts-data, nothing else.
   */
  paths?: BackingPathPolicy;
  /**
   * Addresses ports may be created on after start-up (API changes), besides
   * loopback and the start-up configuration's own addresses (--allow-listen).
   * "*" allows any address.
   */
  allowListen?: readonly string[];
  /** The document a `"topology": "file.json"` reference points to (LoadResult.topology). */
  topologyDocument?: TopologyDocument;
  logger: Logger;
  /** Override the address of every TCP port of the start-up configuration (CLI --listen). */
  listen?: { traddr: string; trsvcid: string };
  /** CLI --allow-p2pmem: turn the port option on for every port. */
  allowP2pmem?: boolean;
  /** p2pdma distance policy (CLI --policy). */
  policy?: P2pPolicy;
  /** Where `save()` writes by default (CLI --save, else --config). */
  savePath?: string;
  /**
   * The p2pmem data path (target/p2p): staging in p2pmem or system memory, SSD models,
   * DMA accounting, the simulated RDMA transport. Default on; `false` runs the plain
   * core (staging in pooled system memory, no PCIe accounting).
   */
  dataPath?: boolean | { workers?: number };
  /** Unique discovery NQN (CLI --discovery-nqn; Linux configfs discovery_nqn). */
  discoveryNqn?: string;
}

/** What reconcile may do to objects in use: refuse like configfs (EBUSY), or tear down and rebuild. */
export type ChangeMode = 'refuse' | 'recreate';

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

export function trtypeName(t: TrType): string {
  for (const [name, v] of Object.entries(TRTYPES)) if (v === t) return name;
  return String(t);
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

// ---------------------------------------------------------------- the service

export class NvmetService {
  readonly nvmet: Nvmet;
  readonly tcp: TcpTransport;
  readonly logger: Logger;
  /** Which local files namespaces may be backed by, checked at every open. */
  readonly paths: BackingPathPolicy;
  policy: P2pPolicy;
  savePath: string | undefined;
  private doc: NvmetConfig = { hosts: [], ports: [], subsystems: [] };
  private topologyDoc: TopologyDocument | undefined;
  private topo: PciTopology;
  private topoSource: string;
  private readonly baseDir: string;
  private readonly appliedSubs = new Map<string, ResolvedSubsystem>();
  private readonly appliedPorts = new Map<number, AppliedPort>();
  /** portid → "traddr:trsvcid" of the start-up document, for --listen. */
  private readonly listenFor = new Map<number, string>();
  private lock: Promise<unknown> = Promise.resolve();
  private dataPath: DataPathHooks = {};
  /** The p2pmem data path, when on. */
  readonly dp: P2pDataPath | null = null;
  /** I/O counts of namespaces that no longer exist (so counters never go down). */
  private readonly retired: Record<'read' | 'write', IoTotals> = { read: { commands: 0, bytes: 0 }, write: { commands: 0, bytes: 0 } };
  private stopped = false;
  /** Where ports created after start-up may listen. */
  readonly listenPolicy: ListenPolicy;

  private constructor(readonly opts: ServiceOptions) {
    this.logger = opts.logger;
    this.policy = opts.policy ?? DEFAULT_POLICY;
    this.savePath = opts.savePath;
    this.baseDir = opts.baseDir ?? process.cwd();
    this.paths = opts.paths ?? new BackingPathPolicy();
    this.listenPolicy = new ListenPolicy(opts.allowListen);
    this.topologyDoc = opts.topologyDocument;
    const t = this.topologyFor(opts.config);
    this.topo = t.topology;
    this.topoSource = t.source;
    if (opts.dataPath !== false) {
      const workers = typeof opts.dataPath === 'object' ? opts.dataPath.workers : undefined;
      this.dp = new P2pDataPath({ topology: this.topo, policy: this.policy, logger: opts.logger, ...(workers !== undefined ? { workers } : {}) });
      this.dataPath = this.dp.serviceHooks();
    }
    // The data path plugs into the core through its seams (staging, enable hooks); the service registers the transports.
    this.nvmet = createNvmet({
      logger: opts.logger,
      ...(this.dp !== null ? this.dp.coreOptions() : {}),
      ...(opts.discoveryNqn !== undefined ? { discoveryNqn: opts.discoveryNqn } : {}),
    });
    this.tcp = new TcpTransport({ logger: opts.logger });
    this.nvmet.registerTransport(this.tcp);
    if (this.dp !== null) this.nvmet.registerTransport(new RdmaTransport({ logger: opts.logger, mover: this.dp }));
  }

  /** Build everything the configuration describes and enable its ports. */
  static async start(opts: ServiceOptions): Promise<NvmetService> {
    const svc = new NvmetService(opts);
    if (opts.listen) {
      for (const p of opts.config.ports) {
        if (p.addr.trtype === 'tcp' || p.addr.trtype === '' || p.addr.trtype === undefined) {
          svc.listenFor.set(p.portid, `${p.addr.traddr ?? ''}:${p.addr.trsvcid ?? ''}`);
        }
      }
    }
    try {
      const resolved = resolveConfig(opts.config, svc.baseDir);
      // The operator's own configuration may name files anywhere: pin them now.
      for (const s of resolved.subsystems) for (const ns of s.namespaces) if (ns.backing?.kind === 'file') await svc.paths.trust(ns.backing.path);
      for (const p of resolved.ports) svc.listenPolicy.addStartup(svc.effectiveAddr(p).traddr);
      await svc.reconcile(resolved);
      svc.doc = opts.config;
    } catch (e) {
      await svc.nvmet.shutdown();
      await svc.dp?.close();
      throw e;
    }
    return svc;
  }

  // ------------------------------------------------------------ reading

  /** The running configuration document. Treat as read-only; change it with `update`. */
  get config(): NvmetConfig {
    return this.doc;
  }

  /** The document as nvmetcli JSON (what GET /api/state returns and save writes). */
  configJson(): ReturnType<typeof configToJson> {
    return configToJson(this.doc);
  }

  get topology(): PciTopology {
    return this.topo;
  }

  /** "inline", a topology file path, or "built-in default". */
  get topologySource(): string {
    return this.topoSource;
  }

  /** Directory relative backing paths resolve against. */
  get configDir(): string {
    return this.baseDir;
  }

  // ------------------------------------------------------------ changing

  /**
   * Validate a candidate document (nvmetcli JSON): every problem comes back as a
   * 400 ServiceError listing path-named issues. `topology` file references are
   * checked against the document loaded at start-up.
   */
  validate(json: JsonValue, opts: Omit<ParseOptions, 'topologyDocument'> = {}): NvmetConfig {
    const r = parseConfig(json, { ...opts, ...(this.topologyDoc ? { topologyDocument: this.topologyDoc } : {}) });
    if (!r.ok) {
      const first = r.errors[0];
      const msg = first ? `${first.path}: ${first.message}` : 'invalid configuration';
      throw new ServiceError('invalid', 'EINVAL', r.errors.length > 1 ? `${msg} (and ${r.errors.length - 1} more)` : msg, r.errors);
    }
    return r.config;
  }

  /**
   * Apply the next document. `build` sees the current one and returns the next (or
   * throws a ServiceError); changes are serialized, so read-modify-write is atomic.
   * On failure the previous document is reconciled back and the error rethrown.
   */
  async update<T = void>(build: (current: NvmetConfig) => { config: NvmetConfig; result?: T }, mode: ChangeMode = 'refuse'): Promise<T | undefined> {
    const run = async (): Promise<T | undefined> => {
      if (this.stopped) throw new ServiceError('unavailable', 'ESHUTDOWN', 'the target is shutting down');
      const { config: next, result } = build(this.doc);
      const prev = this.doc;
      if (this.dp !== null && key(next.topology ?? null) !== key(prev.topology ?? null)) {
        throw new ServiceError('conflict', 'EBUSY', 'topology: the PCIe topology cannot change while the target runs (the p2pmem data path is built on it); restart with the new configuration');
      }
      const topo = this.topologyFor(next);
      const target = resolveConfig(next, this.baseDir);
      // Refusals come before any change, so they need no rollback.
      this.checkListen(target);
      if (mode === 'refuse') this.precheck(target);
      try {
        await this.reconcile(target);
      } catch (e) {
        try {
          await this.reconcile(resolveConfig(prev, this.baseDir));
        } catch (e2) {
          this.logger.error(`rollback after a failed change also failed; the live target may differ from the document: ${String(e2)}`);
        }
        throw asServiceError(e);
      }
      this.doc = next;
      this.topo = topo.topology;
      this.topoSource = topo.source;
      return result;
    };
    const p = this.lock.then(run, run);
    this.lock = p.catch(() => undefined);
    return p;
  }

  /** Write the running document (nvmetcli format) to `path` (default: savePath). Returns the path. */
  async save(path?: string): Promise<string> {
    const target = path ?? this.savePath;
    if (target === undefined) throw new ServiceError('conflict', 'ENOENT', 'no file to save to: start nvmet-ts with --config FILE or --save FILE');
    await saveConfigFile(target, relocate(this.doc, this.baseDir, dirname(resolvePath(target))));
    return target;
  }

  /** The text save() writes. */
  serialized(): string {
    return serializeConfig(this.doc);
  }

  /** Stop every port and controller and close the backends. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.lock.catch(() => undefined);
    await this.nvmet.shutdown();
    await this.dp?.close();
  }

  // ------------------------------------------------------------ data path hooks and counters

  /** Called by the p2pmem data path when it is wired in. */
  attachDataPath(hooks: DataPathHooks): void {
    this.dataPath = hooks;
  }

  get hooks(): DataPathHooks {
    return this.dataPath;
  }

  /** Cumulative read/write totals over every namespace that ever existed (from per-namespace stats). */
  ioTotals(): Record<'read' | 'write', IoTotals> {
    const out = { read: { ...this.retired.read }, write: { ...this.retired.write } };
    for (const s of this.nvmet.subsystems) {
      for (const ns of s.namespaces) {
        out.read.commands += ns.stats.readCommands;
        out.read.bytes += ns.stats.bytesRead;
        out.write.commands += ns.stats.writeCommands;
        out.write.bytes += ns.stats.bytesWritten;
      }
    }
    return out;
  }

  private retire(stats: NamespaceStats): void {
    this.retired.read.commands += stats.readCommands;
    this.retired.read.bytes += stats.bytesRead;
    this.retired.write.commands += stats.writeCommands;
    this.retired.write.bytes += stats.bytesWritten;
  }

  // ------------------------------------------------------------ p2pmem decisions

  /** Whether a port stages in p2pmem when it can (its allow_p2pmem, or --allow-p2pmem). */
  allowP2pmem(portid: number): boolean {
    const p = this.doc.ports.find((x) => x.portid === portid);
    return this.opts.allowP2pmem === true || p?.param?.allowP2pmem === true;
  }

  /** The provider pci_p2pmem_find would give a port (its NIC plus every enabled namespace it exports) and where staging happens. */
  portP2p(portid: number): PortP2pDecision {
    const d = decidePort(this.doc, this.topo, this.policy, portid, this.opts.allowP2pmem === true, this.dp?.p2pdma);
    if (d === undefined) throw new ServiceError('not-found', 'ENOENT', `port ${portid} does not exist`);
    const st = this.dp?.portState(portid);
    if (st === undefined || !st.enabled) {
      const inUse = this.dataPath.portProvider?.(portid);
      return { ...d, staging: inUse ? `p2pmem ${inUse}` : 'system memory', live: null };
    }
    // What the data path actually bound when the port was enabled.
    return {
      ...d,
      nic: st.nic,
      allowP2pmem: st.allowP2pmem,
      clients: [...st.clients],
      provider: st.provider,
      why: st.reason,
      staging: st.p2pmemInUse ? `p2pmem ${st.provider}` : 'system memory',
      live: {
        p2p_allocations: st.p2pAllocations,
        system_allocations: st.systemAllocations,
        fallbacks: st.fallbacks,
        namespaces: [...st.namespaces],
      },
    };
  }

  /** The data path's whole state (ports, providers, DMA counters), when it is on. */
  dataPathState(): DataPathState | null {
    return this.dp?.state() ?? null;
  }

  /** Providers with their current free space (from the data path, else the full size). */
  providers(): ProviderView[] {
    return providersOf(this.topo).map((p) => {
      const st = this.dp?.providerState(p.bdf);
      const view: ProviderView = { ...p, available: st?.available ?? this.dataPath.providerAvailable?.(p.bdf) ?? p.size };
      if (st) Object.assign(view, { outstanding: st.outstanding, largest_free: st.largestFree, allocations: st.allocations, fallbacks: st.fallbacks });
      return view;
    });
  }

  // ------------------------------------------------------------ live views

  /** Core subsystem of an NQN. */
  subsystem(nqn: string): Subsystem | undefined {
    return this.nvmet.getSubsystem(nqn);
  }

  port(portid: number): Port | undefined {
    return this.nvmet.getPort(portid);
  }

  /** The one-screen start-up summary. */
  summary(): string {
    const lines: string[] = [];
    const t = this.topo;
    lines.push(`topology ${t.name} (${this.topoSource}): ${t.functions.length} PCI functions, ${this.providers().filter((p) => p.published).length} published p2pmem providers; policy ${this.policy}`);
    for (const p of this.doc.ports) {
      const live = this.nvmet.getPort(p.portid);
      const where = live
        ? `${trtypeName(live.addr.trtype)} ${live.addr.traddr}:${live.addr.trsvcid} (${live.state})`
        : `${p.addr.trtype || 'no trtype'} ${p.addr.traddr ?? ''}:${p.addr.trsvcid ?? ''} (not created)`;
      lines.push(`port ${p.portid}: ${where}${p.nvmetTs?.nic ? `, NIC ${p.nvmetTs.nic}` : ''}`);
      for (const nqn of p.subsystems) lines.push(`  -> ${nqn}`);
      const d = this.portP2p(p.portid);
      lines.push(`  p2pmem: ${d.allowP2pmem ? (d.provider ?? 'none') : 'off'} — ${d.why}`);
      lines.push(`  staging: ${d.staging}${this.dp === null ? ' (data path off)' : ''}`);
      const nicKind = this.dp?.portState(p.portid)?.nicKind ?? null;
      if (nicKind !== null) lines.push(`  ${nicKindNote(nicKind)}`);
    }
    for (const s of this.nvmet.subsystems) {
      const res = this.appliedSubs.get(s.nqn);
      lines.push(`subsystem ${s.nqn} (serial ${s.serial}, model "${s.model}", ${s.allowAnyHost ? 'any host' : `${s.allowedHosts.length} allowed host(s)`})`);
      for (const ns of s.namespaces) {
        const r = res?.namespaces.find((n) => n.nsid === ns.nsid);
        const where = r?.nvme ? ` on ${r.nvme}` : '';
        const p2p = r && r.p2pmem !== false ? `, p2pmem=${String(r.p2pmem)}` : '';
        lines.push(`  namespace ${ns.nsid}: ${describeBacking(r)} ${formatBytes(ns.size)} ${ns.blockSize} B blocks${where} (${ns.state}${p2p})`);
      }
    }
    if (this.dp !== null) lines.push(`PCIe model: ${MODEL_SIMPLIFICATIONS}`);
    return lines.join('\n');
  }

  // ------------------------------------------------------------ topology of a document

  private topologyFor(doc: NvmetConfig): { topology: PciTopology; source: string } {
    const ref = doc.topology;
    if (ref === undefined) return { topology: loadBuiltinTopology('default'), source: 'built-in default' };
    if (ref.kind === 'inline') {
      const r = parseTopology(ref.value, 'topology');
      if (!r.ok) throw new ServiceError('invalid', 'EINVAL', `topology: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
      return { topology: r.topology, source: 'inline' };
    }
    if (this.topologyDoc === undefined || this.topologyDoc.file !== ref.path) {
      throw new ServiceError('invalid', 'EINVAL', `topology: the file reference "${ref.path}" is not the one loaded at start-up; send the topology inline instead`);
    }
    const r = parseTopology(this.topologyDoc.value, 'topology');
    if (!r.ok) throw new ServiceError('invalid', 'EINVAL', `topology: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    return { topology: r.topology, source: ref.path };
  }

  // ------------------------------------------------------------ reconcile

  private effectiveAddr(p: ResolvedPort): { traddr: string; trsvcid: string } {
    const o = this.opts.listen;
    if (o && this.listenFor.get(p.portid) === `${p.traddr}:${p.trsvcid}`) return o;
    return { traddr: p.traddr, trsvcid: p.trsvcid };
  }

  private portIdentity(p: ResolvedPort): string {
    const a = this.effectiveAddr(p);
    // With the data path, NIC and allow_p2pmem are bound at port enable (EBUSY while enabled): re-bind on change.
    const p2p = this.dp !== null ? [p.nic ?? null, this.opts.allowP2pmem === true || p.allowP2pmem] : [];
    return key([p.trtype, p.adrfam, a.traddr, a.trsvcid, p.treq, p.tsas ?? '', p.inlineDataSize, p.limits ?? null, ...p2p]);
  }

  /** A TCP port that would newly listen on an address the operator did not allow. */
  private checkListen(target: ResolvedConfig): void {
    target.ports.forEach((tp, i) => {
      if (tp.trtype !== 'tcp') return;
      const a = this.effectiveAddr(tp);
      if (a.traddr === '' || this.appliedPorts.get(tp.portid)?.traddr === a.traddr || this.listenPolicy.allows(a.traddr)) return;
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

  /** Make the live target match `target`, touching only what differs. */
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
    const spec = backendOf(ns, this.paths);
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
    this.dp?.configurePort(tp.portid, { nic: tp.nic, allowP2pmem: this.opts.allowP2pmem === true || tp.allowP2pmem });
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

export interface PortP2pDecision extends PortDecision {
  /** Where staging happens now. */
  staging: string;
  /** The data path's binding and counters while the port is enabled (null without the data path). */
  live: {
    p2p_allocations: number;
    system_allocations: number;
    fallbacks: number;
    namespaces: NamespaceP2pState[];
  } | null;
}

/** A provider with its sysfs p2pmem values and, with the data path, its pool counters. */
export type ProviderView = ReturnType<typeof providersOf>[number] & {
  available: number;
  outstanding?: number;
  largest_free?: number;
  allocations?: number;
  fallbacks?: number;
};

/**
 * The document as seen from another directory: relative backing-file and topology
 * paths are rewritten so they still name the same files (unchanged when the
 * directory is the same, so saving next to the loaded file is byte-identical).
 */
export function relocate(doc: NvmetConfig, fromDir: string, toDir: string): NvmetConfig {
  if (resolvePath(fromDir) === resolvePath(toDir)) return doc;
  const move = (p: string): string => (isAbsolute(p) ? p : relative(toDir, resolvePath(fromDir, p)) || '.');
  const isFile = (p: string | undefined): p is string => p !== undefined && p !== '' && p !== '(null)' && !p.startsWith('ram:');
  return {
    ...doc,
    subsystems: doc.subsystems.map((s) => ({
      ...s,
      namespaces: s.namespaces.map((ns) => (isFile(ns.device.path) ? { ...ns, device: { ...ns.device, path: move(ns.device.path) } } : ns)),
    })),
    ...(doc.topology?.kind === 'file' ? { topology: { kind: 'file' as const, path: move(doc.topology.path) } } : {}),
  };
}

function describeBacking(ns: ResolvedNamespace | undefined): string {
  if (ns === undefined || ns.backing === null) return '(no device)';
  return ns.backing.kind === 'ram' ? 'ram' : `file ${ns.backing.path}`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}
