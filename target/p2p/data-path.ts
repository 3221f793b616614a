/**
 * The p2pmem data path of one target: joins the NVMe target core with the emulated
 * PCIe fabric. It owns the p2pdma subsystem of the topology (providers, client lists,
 * policy), the copy engine and its link accounting, the system-memory staging pool,
 * the per-port p2pmem bindings and the SSD models behind namespaces. It plugs into the
 * core through the core's own seams, handed over when the target is built:
 *
 *   - `staging`     (NvmetOptions.staging)     → P2pStagingAllocator (where each command's data is staged)
 *   - `enableHooks` (NvmetOptions.enableHooks) → port enable finds a provider; namespace enable is
 *                                                refused when incompatible with a port's provider
 *                                                (EXDEV/ENODEV) or its own p2pmem attribute (EINVAL)
 *   - the RNIC's DMA for the simulated RDMA transport (`nicOf`, `regionOf`, `dma`: the
 *     transport's RdmaDataMover); whoever builds the target registers that transport.
 *
 *   const dp = new P2pDataPath({ topology, logger });
 *   const nvmet = new Nvmet({ logger, ...dp.coreOptions() });
 *   nvmet.registerTransport(new RdmaTransport({ logger, mover: dp }));   // optional
 *   dp.configurePort(1, { nic: '0000:03:00.0', allowP2pmem: true });
 *   sub.addNamespace({ nsid: 1, backend: dp.backendFor({ kind: 'ram', size }, { nvme: '0000:04:00.0' }) });
 *   ...
 *   await nvmet.shutdown(); await dp.close();
 *
 * Every DMA goes through the copy engine or, where the bytes are moved by someone else
 * (the TCP transport's socket copy, file I/O), straight into the same accounting.
 */

import type { EnableHooks, NvmetOptions } from '../core/nvmet.js';
import type { Namespace } from '../core/namespace.js';
import type { Port } from '../core/port.js';
import { defaultLogger, type Logger } from '../core/log.js';
import type { BackendSpec, NamespaceBackend } from '../backend/backend.js';
import { createBackend } from '../backend/create.js';
import type { NicKind, PciFunction } from '../../src/pci/model.js';
import type { PciTopology } from '../../src/pci/topology.js';
import { formatSize } from '../../src/pci/units.js';
import { P2pdma, type P2pmemStats } from '../../src/p2pdma/p2pdma.js';
import { P2pProviderLifecycle, type P2pImporter, type RemovalMode, type RemovalReport } from '../../src/p2pdma/lifecycle.js';
import { BackendStatusError } from '../backend/backend.js';
import { NvmeStatus } from '../../src/nvme/status.js';
import { P2pError } from '../../src/p2pdma/errors.js';
import { DEFAULT_POLICY, type P2pPolicy } from '../../src/p2pdma/policy.js';
import { DmaEngine, defaultInlineThreshold, type DmaEngineStats } from '../../src/copy/dma-engine.js';
import { LinkAccounting, type DmaCounters } from '../../src/copy/link-accounting.js';
import { topologyRouter } from '../../src/copy/route.js';
import type { DmaDescriptor } from '../../src/copy/descriptor.js';
import type { MemoryRegion } from '../../src/copy/region.js';
import { DramPool } from './dram-pool.js';
import { P2pStagingAllocator, type StagedBuffer } from './staging.js';
import { PortBinding, checkOwnP2pmem } from './port-binding.js';
import { DeviceBackend, MEDIA_CHUNK } from './device-backend.js';
import { checkP2pmemSetting, resolveEndpoint, type NamespacePlacement, type P2pmemSetting } from './placement.js';

export interface P2pDataPathOptions {
  readonly topology: PciTopology;
  /** Distance policy (default same-switch, the series' v3). */
  readonly policy?: P2pPolicy;
  /** Tie breaker for pci_p2pmem_find (default Math.random). */
  readonly random?: () => number;
  /** Default: the core's default logger. */
  readonly logger?: Logger;
  /** Copy engine worker threads (default 1; 0 = every copy inline on the main thread). */
  readonly workers?: number;
  /** Copies below this many bytes run inline (default: the engine's). */
  readonly inlineThreshold?: number;
  /** RAM media chunk size of the SSD models (default 128 KiB). */
  readonly mediaChunkSize?: number;
  /**
   * RAM namespaces' media in shared memory that other threads (reactors) can be handed
   * (DeviceBackend.sharedMedia; namespaces too large for it keep private media). Default false.
   */
  readonly sharedMedia?: boolean;
}

export interface PortPlacementOptions {
  /** BDF of the port's RNIC; undefined = the topology's first rnic; null = none. */
  readonly nic?: string | null;
  readonly allowP2pmem?: boolean;
}

export interface NamespacePlacementOptions {
  /** BDF of the NVMe SSD holding the media; undefined/null = not behind a PCI device. */
  readonly nvme?: string | null;
  readonly p2pmem?: P2pmemSetting;
}

export interface NamespaceP2pState {
  readonly nqn: string;
  readonly nsid: number;
  readonly device: string | null;
  readonly p2pmem: P2pmemSetting;
  /** Provider its I/O on this port is staged in (null: system memory). */
  readonly provider: string | null;
  readonly reason: string;
}

export interface PortP2pState {
  readonly portId: number;
  readonly enabled: boolean;
  readonly nic: string | null;
  /** The NIC's kind (topology `nic`): what p2pmem staging can save on this port. */
  readonly nicKind: NicKind | null;
  readonly allowP2pmem: boolean;
  /** The port option found a provider: every I/O of the port is staged in it. */
  readonly p2pmemInUse: boolean;
  readonly provider: string | null;
  /** The policy's explanation: why this provider, or why none (fallback reason). */
  readonly reason: string;
  /** Provider and reason of the last enable, kept once the port is disabled (null: never enabled). */
  readonly last: { readonly provider: string | null; readonly reason: string } | null;
  readonly clients: readonly string[];
  /** Data-carrying I/O commands staged in p2pmem / system memory, and per-command pool fallbacks. */
  readonly p2pAllocations: number;
  readonly systemAllocations: number;
  readonly fallbacks: number;
  /** Live provider changes (move_notify, hot-add), the last one, and commands failed by a revocation. */
  readonly providerChanges: number;
  readonly lastProviderChange: { readonly from: string | null; readonly to: string | null; readonly why: string } | null;
  readonly revokedCommands: number;
  readonly namespaces: readonly NamespaceP2pState[];
}

export interface ProviderP2pState extends P2pmemStats {
  readonly bdf: string;
  /** Hot-removed (no p2pmem registered until a hot-add). */
  readonly removed: boolean;
  readonly kind: 'cmb' | 'p2pmem' | 'other';
  readonly allocations: number;
  readonly fallbacks: number;
}

export interface DataPathState {
  readonly topology: string;
  readonly policy: P2pPolicy;
  readonly ports: readonly PortP2pState[];
  readonly providers: readonly ProviderP2pState[];
  readonly dma: DmaCounters;
  readonly engine: DmaEngineStats;
  readonly systemStaging: { readonly outstandingBytes: number; readonly outstandingBuffers: number };
  /** Provider removals / hot-adds so far, buffers revoked by move_notify and the commands that failed (retryably) because of it. */
  readonly lifecycle: { readonly removals: number; readonly additions: number; readonly revokedBuffers: number; readonly revokedCommands: number };
}

/** What the management service reads (target/service/views.ts DataPathHooks). */
export interface DataPathServiceHooks {
  dmaCounters(): DmaCounters;
  providerAvailable(bdf: string): number | undefined;
  fallbacks(portid: number): number;
  portProvider(portid: number): string | null;
}

/** What a NIC kind means for the bytes p2pmem staging saves (summaries, the CLI, the API). */
export function nicKindNote(kind: NicKind): string {
  switch (kind) {
    case 'tcp-ddp':
      return 'NIC kind tcp-ddp: NVMe/TCP direct data placement and CRC offload put TCP payload straight into the staging buffer, so p2pmem keeps it off the root complex and DRAM';
    case 'rdma':
      return 'NIC kind rdma: RDMA READ/WRITE DMA straight to/from p2pmem; NVMe/TCP on it is plain TCP (socket buffers in system memory, CPU copies)';
    case 'tcp':
      return 'NIC kind tcp: TCP payload lands in socket buffers in system memory and the CPU copies it to/from the staging buffer (MMIO for p2pmem), so p2pmem saves no root-complex traffic here';
  }
}

/** Where the model simplifies physics (said in every summary; README "What the model simplifies"). */
export const MODEL_SIMPLIFICATIONS =
  'byte counts, not TLPs (no headers, no flow-control credits, no cache/prefetch effects); a CPU copy is counted once per byte on each end, MMIO reads and writes are counted, not timed; the emulator really moves every byte through memory it holds (SharedArrayBuffers where copy workers may move them), so its own speed is not the hardware\'s';

const NO_PLACEMENT: NamespacePlacement = Object.freeze({ device: null, p2pmem: false });

/**
 * A command whose staging buffer was revoked completes with Transient Transport Error,
 * DNR clear (NVMe Base 2.0, Generic Command Status 22h: "a transient transport error was
 * detected; if the command is retried on the same controller, the command is likely to
 * succeed"): the staging memory is the transport's data placement, not the media, and a
 * retry gets a buffer from the re-chosen provider or system memory. Linux hosts retry it
 * (nvme_decide_disposition: no DNR → retry, up to nvme_max_retries).
 */
export const REVOKED_STATUS = NvmeStatus.TransientTransportError;

export class P2pDataPath implements P2pImporter {
  readonly topology: PciTopology;
  readonly p2pdma: P2pdma;
  readonly accounting: LinkAccounting;
  readonly engine: DmaEngine;
  readonly dram: DramPool<StagedBuffer>;
  readonly staging: P2pStagingAllocator;
  readonly log: Logger;
  /** Provider hot-remove (pgmap drain or DMABUF move_notify) and hot-add; this data path is an importer. */
  readonly lifecycle: P2pProviderLifecycle;
  private readonly bindings = new Map<number, PortBinding>();
  private readonly mediaChunk: number;
  private readonly sharedMedia: boolean;
  private closed: Promise<void> | null = null;

  constructor(opts: P2pDataPathOptions) {
    this.topology = opts.topology;
    this.log = opts.logger ?? defaultLogger();
    const log = this.log;
    this.p2pdma = new P2pdma(opts.topology, {
      policy: opts.policy ?? DEFAULT_POLICY,
      ...(opts.random !== undefined ? { random: opts.random } : {}),
      log: (m) => log.debug(`p2pdma: ${m}`),
    });
    this.accounting = new LinkAccounting(topologyRouter(opts.topology));
    // One CPU in the affinity mask: a copy worker could only time-slice the event
    // loop's CPU, so no worker is started and every DMA is copied inline.
    const oneCpu = opts.inlineThreshold === undefined && defaultInlineThreshold() === Number.POSITIVE_INFINITY;
    this.engine = new DmaEngine({
      workers: opts.workers ?? (oneCpu ? 0 : 1),
      accounting: this.accounting,
      ...(opts.inlineThreshold !== undefined ? { inlineThreshold: opts.inlineThreshold } : {}),
    });
    if (oneCpu && opts.workers === undefined) log.info('copy engine: one CPU available to this process: DMAs are copied on the event loop, no copy worker started');
    const engine = this.engine;
    this.dram = new DramPool<StagedBuffer>(undefined, undefined, (n) => engine.allocMemory(n));
    this.mediaChunk = opts.mediaChunkSize ?? MEDIA_CHUNK;
    this.sharedMedia = opts.sharedMedia ?? false;
    this.staging = new P2pStagingAllocator({
      p2pdma: this.p2pdma,
      dram: this.dram,
      accounting: this.accounting,
      log,
      binding: (id) => this.bindings.get(id),
    });
    this.lifecycle = new P2pProviderLifecycle(this.p2pdma, (m) => log.info(`p2pdma: ${m}`));
    this.lifecycle.addImporter(this);
  }

  // ------------------------------------------------------------ provider lifecycle (importer side)

  /** Hot-remove a provider (API / CLI): `dmabuf` invalidates importers first, `pgmap` waits for every allocation. */
  removeProvider(bdf: string, mode: RemovalMode = 'dmabuf'): Promise<RemovalReport> {
    return this.lifecycle.remove(bdf, mode);
  }

  /** Hot-add (re-probe) a provider removed earlier. */
  addProvider(bdf: string): PciFunction {
    return this.lifecycle.add(bdf);
  }

  /**
   * move_notify: ports staging in `provider` choose again at once (another provider or
   * system memory; new commands go there), every live buffer in it is revoked, and this
   * resolves once the last one is released — its command completed (with the retryable
   * status if it had not finished) or its connection went away. Nothing waits on a host.
   */
  moveNotify(provider: PciFunction): Promise<void> {
    for (const b of this.bindings.values()) if (b.uses(provider)) b.rechoose(`provider ${provider.bdf} removed (move_notify)`);
    return this.staging.revoke(provider);
  }

  providerAdded(provider: PciFunction): void {
    // Ports that lost their provider (or never found one) look again.
    for (const b of this.bindings.values()) if (b.enabled && b.allowP2pmem && b.provider === null) b.rechoose(`provider ${provider.bdf} added`);
  }

  private checkMapped(bytes: Uint8Array): void {
    const b = this.staging.bufferOf(bytes);
    if (b === undefined || !b.revoked) return;
    this.staging.revokedCommands++;
    if (b.binding !== undefined) b.binding.revokedCommands++;
    throw new BackendStatusError(REVOKED_STATUS, `staging buffer in p2pmem of ${b.provider?.bdf ?? '?'} was revoked (move_notify): Transient Transport Error, retryable`);
  }

  /** What the core takes from the data path: `new Nvmet({ logger, ...dp.coreOptions() })`. */
  coreOptions(): { staging: NonNullable<NvmetOptions['staging']>; enableHooks: NonNullable<NvmetOptions['enableHooks']> } {
    return { staging: this.staging, enableHooks: this.hooks };
  }

  get policy(): P2pPolicy {
    return this.p2pdma.policy;
  }

  // ------------------------------------------------------------ placement

  /**
   * Attach a port to its NIC and set its allow_p2pmem option; takes effect when the
   * port is (next) enabled. EBUSY while the port is enabled with different values.
   */
  configurePort(portId: number, opts: PortPlacementOptions): void {
    const nic = opts.nic === undefined ? this.defaultNic() : opts.nic === null ? null : resolveEndpoint(this.topology, opts.nic, 'rnic', `port ${portId} NIC`);
    const allow = opts.allowP2pmem ?? false;
    const b = this.binding(portId);
    if (b.enabled && (b.nic !== nic || b.allowP2pmem !== allow)) {
      throw new P2pError('EBUSY', `port ${portId} is enabled: disable it before changing its NIC or allow_p2pmem`);
    }
    b.nic = nic;
    b.allowP2pmem = allow;
  }

  /** A port's NIC in the DMA model and whether it stages in p2pmem (reactors serve its connections with the same model). */
  portModel(portId: number): { nic: string | null; nicKind: NicKind | null; allowP2pmem: boolean } {
    const b = this.bindings.get(portId);
    return { nic: b?.nic?.bdf ?? null, nicKind: b?.nic?.nicKind ?? null, allowP2pmem: b?.allowP2pmem ?? false };
  }

  /**
   * The namespace backend for a configured backing: an SSD model on `nvme` (its media
   * a DMA target on the fabric), or, without a device, media in system memory.
   */
  backendFor(spec: BackendSpec, placement: NamespacePlacementOptions = {}): NamespaceBackend {
    const device = placement.nvme === undefined || placement.nvme === null ? null : resolveEndpoint(this.topology, placement.nvme, 'nvme', 'namespace SSD');
    const p2pmem = checkP2pmemSetting(this.p2pdma, placement.p2pmem ?? false);
    const pl: NamespacePlacement = { device, p2pmem };
    const media = spec.kind === 'ram' ? { kind: 'ram' as const, size: spec.size, chunkSize: spec.chunkSize ?? this.mediaChunk, shared: this.sharedMedia } : spec;
    return new DeviceBackend(media, pl, { engine: this.engine, accounting: this.accounting, regionOf: (b) => this.staging.regionOf(b), checkMapped: (b) => this.checkMapped(b) });
  }

  /** A plain core backend (no fabric placement at all): for comparison and tests. */
  plainBackend(spec: BackendSpec): NamespaceBackend {
    return createBackend(spec);
  }

  placementOf(ns: Namespace): NamespacePlacement {
    return ns.backend instanceof DeviceBackend ? ns.backend.placement : NO_PLACEMENT;
  }

  /**
   * Set the namespace attribute p2pmem (false | true | provider BDF), as nvmet's
   * configfs store: EBUSY while enabled, ENODEV for a BDF without published p2pmem.
   */
  setNamespaceP2pmem(ns: Namespace, value: P2pmemSetting): void {
    if (ns.state !== 'disabled') throw new P2pError('EBUSY', `nsid ${ns.nsid} of ${ns.subsys.nqn} is ${ns.state}: disable it before changing p2pmem`);
    if (!(ns.backend instanceof DeviceBackend)) {
      throw new P2pError('EINVAL', `nsid ${ns.nsid} of ${ns.subsys.nqn} was not created by the p2p data path and has no p2pmem attribute`);
    }
    ns.backend.placement.p2pmem = checkP2pmemSetting(this.p2pdma, value);
    for (const b of this.bindings.values()) b.forget(ns);
  }

  private defaultNic(): PciFunction | null {
    return this.topology.ofKind('rnic')[0] ?? null;
  }

  private binding(portId: number): PortBinding {
    let b = this.bindings.get(portId);
    if (b === undefined) {
      b = new PortBinding(portId, { p2pdma: this.p2pdma, log: this.log, placementOf: (ns) => this.placementOf(ns) });
      b.nic = this.defaultNic();
      this.bindings.set(portId, b);
    }
    return b;
  }

  // ------------------------------------------------------------ core hooks

  readonly hooks: EnableHooks = {
    portEnabling: (port: Port) => {
      this.binding(port.id).enable(port);
    },
    portDisabled: (port: Port) => {
      this.bindings.get(port.id)?.disable();
    },
    namespaceEnabling: (ns: Namespace) => {
      this.checkOwnP2pmem(ns);
      // All ports first, so a refusal leaves every client list untouched.
      for (const b of this.bindings.values()) b.checkNamespace(ns);
      for (const b of this.bindings.values()) b.namespaceEnabled(ns);
    },
    namespaceDisabled: (ns: Namespace) => {
      for (const b of this.bindings.values()) b.namespaceChanged(ns);
    },
  };

  private checkOwnP2pmem(ns: Namespace): void {
    checkOwnP2pmem(this.p2pdma, `nsid ${ns.nsid} of ${ns.subsys.nqn}`, this.placementOf(ns));
  }

  // ------------------------------------------------------------ RdmaDataMover (the RNIC's DMA)

  nicOf(portId: number): string | null {
    return this.bindings.get(portId)?.nic?.bdf ?? null;
  }

  regionOf(bytes: Uint8Array): MemoryRegion {
    return this.staging.regionOf(bytes);
  }

  dma(descs: DmaDescriptor[]): Promise<void> {
    return this.engine.submit(descs);
  }

  // ------------------------------------------------------------ state

  portState(portId: number): PortP2pState | undefined {
    const b = this.bindings.get(portId);
    if (b === undefined) return undefined;
    const namespaces: NamespaceP2pState[] = [];
    for (const ns of b.exportedNamespaces()) {
      const pl = this.placementOf(ns);
      const d = b.decide(ns);
      namespaces.push({ nqn: ns.subsys.nqn, nsid: ns.nsid, device: pl.device?.bdf ?? null, p2pmem: pl.p2pmem, provider: d.provider?.bdf ?? null, reason: d.reason });
    }
    return {
      portId,
      enabled: b.enabled,
      nic: b.nic?.bdf ?? null,
      nicKind: b.nic?.nicKind ?? null,
      allowP2pmem: b.allowP2pmem,
      p2pmemInUse: b.provider !== null,
      provider: b.provider?.bdf ?? null,
      reason: b.reason,
      last: b.enabled ? { provider: b.provider?.bdf ?? null, reason: b.reason } : b.lastDecision === null ? null : { provider: b.lastDecision.provider?.bdf ?? null, reason: b.lastDecision.reason },
      clients: b.clients.clients.map((c) => c.bdf),
      p2pAllocations: b.p2pAllocations,
      systemAllocations: b.systemAllocations,
      fallbacks: b.fallbacks,
      providerChanges: b.providerChanges,
      lastProviderChange: b.lastChange,
      revokedCommands: b.revokedCommands,
      namespaces,
    };
  }

  providerState(bdf: string): ProviderP2pState | undefined {
    const f = this.topology.get(bdf);
    if (f === undefined) return undefined;
    const removed = this.lifecycle.isRemoved(f) && !this.p2pdma.providers().includes(f);
    if (!removed && !this.p2pdma.providers().includes(f)) return undefined;
    const c = this.staging.countersOf(f.bdf);
    return { bdf: f.bdf, removed, kind: f.kind === 'nvme' ? 'cmb' : f.kind === 'p2pmem' ? 'p2pmem' : 'other', ...this.p2pdma.stats(f), allocations: c.allocations, fallbacks: c.fallbacks };
  }

  state(): DataPathState {
    return {
      topology: this.topology.name,
      policy: this.policy,
      ports: [...this.bindings.keys()].sort((a, b) => a - b).map((id) => this.portState(id)!),
      providers: this.topology.functions.map((f) => this.providerState(f.bdf)).filter((p): p is ProviderP2pState => p !== undefined),
      dma: this.accounting.snapshot(),
      engine: this.engine.stats,
      systemStaging: { outstandingBytes: this.dram.outstandingBytes, outstandingBuffers: this.dram.outstandingBuffers },
      lifecycle: { removals: this.lifecycle.removals, additions: this.lifecycle.additions, revokedBuffers: this.staging.revokedBuffers, revokedCommands: this.staging.revokedCommands },
    };
  }

  serviceHooks(): DataPathServiceHooks {
    return {
      dmaCounters: () => this.accounting.snapshot(),
      providerAvailable: (bdf) => this.providerState(bdf)?.available,
      fallbacks: (id) => this.bindings.get(id)?.fallbacks ?? 0,
      portProvider: (id) => this.bindings.get(id)?.provider?.bdf ?? null,
    };
  }

  /** The exit summary the CLI prints: ports, providers, root complex / DRAM / link bytes. */
  summary(): string {
    const s = this.state();
    const lines = [`p2p data path: topology ${s.topology}, policy ${s.policy}`];
    for (const p of s.ports) {
      // After shutdown the ports are disabled: report what they staged in while enabled.
      const d = p.last ?? { provider: p.provider, reason: p.reason };
      const when = p.enabled ? '' : p.last === null ? ' (never enabled)' : ' (while enabled)';
      lines.push(`  port ${p.portId}: NIC ${p.nic ?? '(none)'}, allow_p2pmem=${p.allowP2pmem ? 1 : 0}, ${d.provider !== null ? `p2pmem ${d.provider}` : 'system memory'}${when}`);
      lines.push(`    ${d.reason}`);
      if (p.nicKind !== null) lines.push(`    ${nicKindNote(p.nicKind)}`);
      lines.push(`    I/O staged: ${p.p2pAllocations} in p2pmem, ${p.systemAllocations} in system memory (${p.fallbacks} pool fallbacks)`);
      if (p.providerChanges > 0 || p.revokedCommands > 0) {
        lines.push(`    provider changes: ${p.providerChanges} (last: ${p.lastProviderChange?.from ?? 'system memory'} -> ${p.lastProviderChange?.to ?? 'system memory'}, ${p.lastProviderChange?.why ?? ''}); ${p.revokedCommands} commands failed retryably by a revocation`);
      }
    }
    for (const v of s.providers) {
      if (v.removed) {
        lines.push(`  provider ${v.bdf} (${v.kind}): removed`);
        continue;
      }
      lines.push(`  provider ${v.bdf} (${v.kind}${v.published ? '' : ', unpublished'}): ${formatSize(v.size)}, ${formatSize(v.available)} available, ${v.allocations} allocations, ${v.fallbacks} fallbacks`);
    }
    const d = s.dma;
    lines.push(`  DMA: ${d.dmaCount} descriptors, ${d.dmaBytes} bytes; root complex ${d.rootComplexBytes} bytes; system memory ${d.dramBytes} bytes`);
    const c = d.cpu;
    lines.push(`  CPU (included above): ${c.copyBytes} bytes copied between socket buffers and staging; p2pmem MMIO ${c.mmioWriteBytes} bytes written (${c.mmioWrites} memcpy_toio), ${c.mmioReadBytes} bytes read (${c.mmioReads} reads, ${c.digestMmioReadBytes} of them for data digests); digests over system memory ${c.digestDramBytes} bytes`);
    lines.push(`  model: ${MODEL_SIMPLIFICATIONS}`);
    for (const [id, l] of Object.entries(d.links)) {
      if (l.up === 0 && l.down === 0) continue;
      lines.push(`    link ${id}: up ${l.up}, down ${l.down}`);
    }
    return lines.join('\n');
  }

  /** Drain and stop the copy engine. Call after the target is shut down. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.engine.close();
    return this.closed;
  }
}
