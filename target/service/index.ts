/**
 * A running nvmet-ts: the target core, its transports, the PCIe topology, and the
 * configuration document (nvmetcli JSON) it runs. This is the one place that turns
 * configuration (target/config) into core objects (target/core), so the CLI, the
 * management API and tests all start and change a target the same way.
 *
 * The document is the source of truth: every change is either "here is the next
 * document" (update: start-up, a state import) or "these entities change" (change: an
 * API call, a ConfigEdit of target/config/store.ts that costs the change, not the
 * configuration), serialized here and reconciled into the live target by
 * ./reconcile.ts (which rolls back a change that fails), so the document saved
 * (POST /api/save, --save) is always what is running. The roles, one file each:
 * - ./lifecycle.ts: options, building the core / data path / transports, topology, shutdown;
 * - ./reconcile.ts: the configfs role, a document (or a change) applied to the live target;
 * - ./views.ts: read-only projections for the API, the metrics and the CLI;
 * - ./save.ts: the document written to a file.
 * This class is the thin facade over them that callers hold.
 */

import { dirname, resolve as resolvePath } from 'node:path';
import type { Nvmet } from '../core/nvmet.js';
import type { Logger } from '../core/log.js';
import type { Port } from '../core/port.js';
import type { Subsystem } from '../core/subsystem.js';
import type { TcpTransport } from '../tcp/index.js';
import { ServiceError } from '../service-error.js';
import {
  ConfigStore,
  configToJson,
  parseConfig,
  type ConfigEdit,
  type ConfigError,
  saveConfigFile,
  serializeConfig,
  type NvmetConfig,
  type ParseOptions,
  type ResolvedSubsystem,
} from '../config/index.js';
import type { TopologyDocument } from '../config/topology.js';
import type { JsonValue } from '../config/json.js';
import { BackingPathPolicy } from '../backend/path-policy.js';
import { ListenPolicy } from '../config/listen-policy.js';
import type { PciTopology } from '../../src/pci/topology.js';
import { DEFAULT_POLICY, type P2pPolicy } from '../../src/p2pdma/policy.js';
import type { DataPathState, P2pDataPath } from '../p2p/data-path.js';
import type { ReactorPool } from '../reactor/pool.js';
import { createRuntime, startReactors, stopRuntime, topologyFor, type Runtime, type ServiceOptions } from './lifecycle.js';
import { Reconciler, type ChangeMode, type IoTotals } from './reconcile.js';
import { ioTotals, portListening, portP2p, providers, summary, type DataPathHooks, type PortP2pDecision, type ProviderView, type ViewSource } from './views.js';
import { relocate } from './save.js';
import { faultEngine } from '../fault/index.js';

export { ServiceError, asServiceError, type Refusal } from '../service-error.js';
export type { ServiceOptions } from './lifecycle.js';
export type { ChangeMode, IoTotals } from './reconcile.js';
export { trtypeName } from './reconcile.js';
export type { DataPathHooks, PortP2pDecision, ProviderView } from './views.js';
export { formatBytes } from './views.js';
export { relocate } from './save.js';

const key = (v: unknown): string => JSON.stringify(v);

export class NvmetService implements ViewSource {
  readonly nvmet: Nvmet;
  readonly tcp: TcpTransport;
  readonly logger: Logger;
  /** Which local files namespaces may be backed by, checked at every open. */
  readonly paths: BackingPathPolicy;
  policy: P2pPolicy;
  savePath: string | undefined;
  /** The p2pmem data path, when on. */
  readonly dp: P2pDataPath | null;
  /** Where ports created after start-up may listen. */
  readonly listenPolicy: ListenPolicy;
  /** The running document as indexed entities (target/config/store.ts). */
  private cfg: ConfigStore;
  private readonly topologyDoc: TopologyDocument | undefined;
  private topo: PciTopology;
  private topoSource: string;
  private readonly baseDir: string;
  private readonly runtime: Runtime;
  private readonly reconciler: Reconciler;
  private lock: Promise<unknown> = Promise.resolve();
  private stopped = false;

  private constructor(readonly opts: ServiceOptions) {
    this.logger = opts.logger;
    this.policy = opts.policy ?? DEFAULT_POLICY;
    this.savePath = opts.savePath;
    this.baseDir = opts.baseDir ?? process.cwd();
    this.paths = opts.paths ?? new BackingPathPolicy();
    this.listenPolicy = new ListenPolicy(opts.allowListen);
    this.topologyDoc = opts.topologyDocument;
    this.cfg = this.storeOf({ hosts: [], ports: [], subsystems: [] });
    const t = topologyFor(opts.config, this.topologyDoc);
    this.topo = t.topology;
    this.topoSource = t.source;
    this.runtime = createRuntime(opts, this.topo, this.policy);
    this.nvmet = this.runtime.nvmet;
    this.tcp = this.runtime.tcp;
    this.dp = this.runtime.dp;
    this.reconciler = new Reconciler({
      nvmet: this.nvmet,
      dp: this.dp,
      logger: this.logger,
      paths: this.paths,
      listenPolicy: this.listenPolicy,
      baseDir: this.baseDir,
      listen: opts.listen,
      allowP2pmem: opts.allowP2pmem === true,
    });
  }

  /** Build everything the configuration describes and enable its ports. */
  static async start(opts: ServiceOptions): Promise<NvmetService> {
    const svc = new NvmetService(opts);
    try {
      await startReactors(svc.runtime, opts);
      await svc.reconciler.applyStartup(opts.config);
      svc.cfg = svc.storeOf(opts.config);
    } catch (e) {
      await stopRuntime(svc.runtime);
      throw e;
    }
    return svc;
  }

  // ------------------------------------------------------------ reading

  /** The running configuration document. Treat as read-only; change it with `update`. */
  get config(): NvmetConfig {
    return this.cfg.document;
  }

  /** The running document's entities and indexes: what a change reads, O(1) per lookup. */
  get store(): ConfigStore {
    return this.cfg;
  }

  private storeOf(config: NvmetConfig): ConfigStore {
    return new ConfigStore(config, { baseDir: this.baseDir, parse: this.topologyDoc ? { topologyDocument: this.topologyDoc } : {} });
  }

  /** The document as nvmetcli JSON (what GET /api/state returns and save writes). */
  configJson(): ReturnType<typeof configToJson> {
    return configToJson(this.withApiFaults());
  }

  /**
   * The document with the fault rules added over /api/faults appended to
   * `nvmet_ts.faults`, so /api/state and /api/save show and keep them (reloaded,
   * they are config rules; CLI and NVMET_TS_FAULT rules come from the command line).
   */
  private withApiFaults(): NvmetConfig {
    const api = faultEngine(this.nvmet).savable('api');
    if (api.length === 0) return this.config;
    return { ...this.config, faults: [...(this.config.faults ?? []), ...api] };
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
    if (!r.ok) throw invalidConfig(r.errors);
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
      const prev = this.config;
      const { config: next, result } = build(prev);
      if (this.dp !== null && key(next.topology ?? null) !== key(prev.topology ?? null)) {
        throw new ServiceError('conflict', 'EBUSY', 'topology: the PCIe topology cannot change while the target runs (the p2pmem data path is built on it); restart with the new configuration');
      }
      const topo = topologyFor(next, this.topologyDoc);
      await this.reconciler.apply(prev, next, mode, this.cfg.resolved);
      this.cfg = this.storeOf(next);
      this.topo = topo.topology;
      this.topoSource = topo.source;
      return result;
    };
    const p = this.lock.then(run, run);
    this.lock = p.catch(() => undefined);
    return p;
  }

  /**
   * Apply one change to the running document, described as a ConfigEdit (entities put
   * and removed, target/config/store.ts). `build` sees the current entities through the
   * edit and fills it (or throws a ServiceError). The edit is checked like a whole
   * document would be, but only where it reaches (the edited entities and what refers
   * to them), and only those entities are resolved and reconciled: the cost is the
   * change's, not the configuration's. Serialized with `update`; on failure the
   * previous entities are reconciled back and the error rethrown.
   */
  async change<T = void>(build: (edit: ConfigEdit) => T, mode: ChangeMode = 'refuse'): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.stopped) throw new ServiceError('unavailable', 'ESHUTDOWN', 'the target is shutting down');
      const store = this.cfg;
      const edit = store.edit();
      const result = build(edit);
      if (edit.empty) return result;
      const errors = edit.check();
      if (errors.length > 0) throw invalidConfig(errors);
      await this.reconciler.applyEdit(store, edit, mode);
      store.commit(edit);
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
    await saveConfigFile(target, relocate(this.withApiFaults(), this.baseDir, dirname(resolvePath(target))));
    return target;
  }

  /** The text save() writes. */
  serialized(): string {
    return serializeConfig(this.withApiFaults());
  }

  /** Stop every port and controller and close the backends. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.lock.catch(() => undefined);
    await stopRuntime(this.runtime);
  }

  // ------------------------------------------------------------ views (./views.ts)

  /** The reactor threads (--reactors > 1), null with one event loop. */
  get reactors(): ReactorPool | null {
    return this.runtime.reactors;
  }

  /** What the p2pmem data path reports (empty without it). */
  get hooks(): DataPathHooks {
    return this.runtime.hooks;
  }

  get allowP2pmemAll(): boolean {
    return this.opts.allowP2pmem === true;
  }

  get retired(): Readonly<Record<'read' | 'write', IoTotals>> {
    return this.reconciler.retired;
  }

  appliedSubsystem(nqn: string): ResolvedSubsystem | undefined {
    return this.reconciler.appliedSubsystem(nqn);
  }

  /** Cumulative read/write totals over every namespace that ever existed (from per-namespace stats). */
  ioTotals(): Record<'read' | 'write', IoTotals> {
    return ioTotals(this);
  }

  /** Whether a port stages in p2pmem when it can (its allow_p2pmem, or --allow-p2pmem). */
  allowP2pmem(portid: number): boolean {
    const p = this.cfg.port(portid);
    return this.opts.allowP2pmem === true || p?.param?.allowP2pmem === true;
  }

  /** The provider pci_p2pmem_find would give a port (its NIC plus every enabled namespace it exports) and where staging happens. */
  portP2p(portid: number): PortP2pDecision {
    return portP2p(this, portid);
  }

  /** The data path's whole state (ports, providers, DMA counters), when it is on. */
  dataPathState(): DataPathState | null {
    return this.dp?.state() ?? null;
  }

  /** Providers with their current free space (from the data path, else the full size). */
  providers(): ProviderView[] {
    return providers(this);
  }

  /** Core subsystem of an NQN. */
  subsystem(nqn: string): Subsystem | undefined {
    return this.nvmet.getSubsystem(nqn);
  }

  port(portid: number): Port | undefined {
    return this.nvmet.getPort(portid);
  }

  /** Whether a port listens and, when not, why ("no subsystem linked"). */
  portListening(portid: number): { listening: boolean; why: string | null } {
    return portListening(this, portid);
  }

  /** The one-screen start-up summary. */
  summary(): string {
    return summary(this);
  }
}

function invalidConfig(errors: readonly ConfigError[]): ServiceError {
  const first = errors[0];
  const msg = first ? `${first.path}: ${first.message}` : 'invalid configuration';
  return new ServiceError('invalid', 'EINVAL', errors.length > 1 ? `${msg} (and ${errors.length - 1} more)` : msg, [...errors]);
}
