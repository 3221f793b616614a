/**
 * The target under test for one topology and transport: the NVMe target core with
 * the p2pmem data path (target/p2p: p2pdma providers, copy engine with link
 * accounting, staging allocator, SSD models) on the topology, one RAM namespace
 * whose media is the bench SSD, and two ports on the bench NIC exporting it —
 * port 1 with allow_p2pmem=0 (system-memory staging) and port 2 with
 * allow_p2pmem=1 (p2pmem staging). Both stagings of a configuration thus run
 * against one target, one namespace and one copy engine, back to back.
 *
 * Built from the core objects directly (as test/p2p does) rather than through
 * NvmetService, so the bench reads the data path's per-port counters (I/Os staged
 * in p2pmem / system memory, pool fallbacks) and DMA counters without a seam.
 */

import type { DmaCounters } from '../../src/copy/link-accounting.js';
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { createLogger, type Logger } from '../../target/core/log.js';
import { TcpTransport } from '../../target/tcp/index.js';
import { RdmaTransport } from '../../target/rdma/transport.js';
import { P2pDataPath } from '../../target/p2p/data-path.js';
import type { Staging } from './matrix.js';
import type { Placement } from './topologies.js';

export const BENCH_NQN = 'nqn.2014-08.org.nvmexpress:nvmet-ts-bench';
export const PORT_OF: Readonly<Record<Staging, number>> = { system: 1, p2pmem: 2 };

export interface TargetOptions {
  readonly placement: Placement;
  readonly trtype: 'tcp' | 'rdma';
  /** RAM namespace size in bytes. */
  readonly nsBytes: number;
  /** Copy engine worker threads (default: the data path's). */
  readonly workers?: number;
  readonly logger?: Logger;
}

/** Per-port staging counters (cumulative). */
export interface PortCounters {
  readonly p2pAllocations: number;
  readonly systemAllocations: number;
  /** Per-command p2pmem pool allocation failures that fell back to system memory. */
  readonly poolFallbacks: number;
}

const QUIET: Logger = createLogger('error', 'text');

export class BenchTarget {
  private constructor(
    readonly nvmet: Nvmet,
    readonly dp: P2pDataPath,
    readonly placement: Placement,
    readonly trtype: 'tcp' | 'rdma',
  ) {}

  static async start(o: TargetOptions): Promise<BenchTarget> {
    const logger = o.logger ?? QUIET;
    const dp = new P2pDataPath({
      topology: o.placement.parsed,
      logger,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
    });
    const nvmet = createNvmet({ logger, ...dp.coreOptions() });
    if (o.trtype === 'tcp') nvmet.registerTransport(new TcpTransport({ logger }));
    else nvmet.registerTransport(new RdmaTransport({ logger, mover: dp }));
    const t = new BenchTarget(nvmet, dp, o.placement, o.trtype);
    try {
      const sub = nvmet.addSubsystem({ nqn: BENCH_NQN, allowAnyHost: true, model: 'nvmet-ts staging bench', serial: 'NVMETTSBENCH01' });
      const ns = sub.addNamespace({ nsid: 1, backend: dp.backendFor({ kind: 'ram', size: o.nsBytes }, { nvme: o.placement.ssd }), blockSize: 512 });
      await ns.enable();
      for (const staging of ['system', 'p2pmem'] as const) {
        const portId = PORT_OF[staging];
        dp.configurePort(portId, { nic: o.placement.nic, allowP2pmem: staging === 'p2pmem' });
        const port = nvmet.addPort({ portId, trtype: o.trtype === 'tcp' ? TrType.TCP : TrType.RDMA, traddr: '127.0.0.1', trsvcid: '0' });
        port.addSubsystem(sub);
        await port.enable();
      }
    } catch (e) {
      await t.stop();
      throw e;
    }
    return t;
  }

  /** The bound service id of a staging's port. */
  trsvcid(staging: Staging): string {
    const p = this.nvmet.ports.find((x) => x.id === PORT_OF[staging]);
    if (p === undefined) throw new Error(`bench target has no port ${PORT_OF[staging]}`);
    return p.addr.trsvcid;
  }

  /** Cumulative DMA counters of the copy engine (and the TCP socket copies it accounts). */
  counters(): DmaCounters {
    return this.dp.accounting.snapshot();
  }

  portCounters(staging: Staging): PortCounters {
    const s = this.dp.portState(PORT_OF[staging]);
    if (s === undefined) throw new Error(`data path has no port ${PORT_OF[staging]}`);
    return { p2pAllocations: s.p2pAllocations, systemAllocations: s.systemAllocations, poolFallbacks: s.fallbacks };
  }

  /** The provider the port stages in (null: system memory), and the policy's reason. */
  portProvider(staging: Staging): { provider: string | null; reason: string } {
    const s = this.dp.portState(PORT_OF[staging]);
    return { provider: s?.provider ?? null, reason: s?.reason ?? 'no such port' };
  }

  get engineWorkers(): number {
    return this.dp.engine.workers;
  }

  get inlineThreshold(): number {
    return this.dp.engine.inlineThreshold;
  }

  hasTransport(t: 'tcp' | 'rdma'): boolean {
    return this.nvmet.transport(t === 'tcp' ? TrType.TCP : TrType.RDMA) !== undefined;
  }

  async stop(): Promise<void> {
    await this.nvmet.shutdown();
    await this.dp.close();
  }
}
