/**
 * The target under test for one topology: an NvmetService built from an
 * nvmetcli-style configuration (the same path the CLI takes), with the topology
 * inlined, one RAM namespace placed on the bench SSD, and two ports on the bench
 * NIC exporting it — port 1 with allow_p2pmem=0 (system-memory staging), port 2
 * with allow_p2pmem=1 (p2pmem staging). Both stagings of a configuration thus run
 * against one target and one namespace, back to back.
 *
 * The DMA counters, the provider a port stages in, and its p2pmem fallbacks come
 * from the service's data-path hooks (target/p2p installs them); when no data path
 * is wired in, they read as unavailable and the report says so.
 */

import type { DmaCounters } from '../../src/copy/link-accounting.js';
import { parseConfig } from '../../target/config/parse.js';
import type { Logger } from '../../target/core/log.js';
import { NvmetService } from '../../target/service.js';
import type { Staging } from './matrix.js';
import type { Placement } from './topologies.js';

export const BENCH_NQN = 'nqn.2014-08.org.nvmexpress:nvmet-ts-bench';
export const PORT_OF: Readonly<Record<Staging, number>> = { system: 1, p2pmem: 2 };

export interface TargetOptions {
  readonly placement: Placement;
  /** 'tcp' or 'rdma': the ports' trtype. */
  readonly trtype: 'tcp' | 'rdma';
  /** RAM namespace size in bytes. */
  readonly nsBytes: number;
  readonly logger?: Logger;
}

/** The nvmetcli JSON the bench target is built from (exported for tests and for the report). */
export function benchConfigJson(o: Pick<TargetOptions, 'placement' | 'trtype' | 'nsBytes'>): Record<string, unknown> {
  const port = (portid: number, allow: boolean): Record<string, unknown> => ({
    portid,
    addr: { trtype: o.trtype, adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0', treq: 'not specified' },
    param: { allow_p2pmem: allow ? '1' : '0', inline_data_size: '16384' },
    nvmet_ts: { nic: o.placement.nic },
    referrals: [],
    subsystems: [BENCH_NQN],
  });
  return {
    hosts: [],
    ports: [port(PORT_OF.system, false), port(PORT_OF.p2pmem, true)],
    subsystems: [
      {
        nqn: BENCH_NQN,
        allowed_hosts: [],
        attr: { allow_any_host: '1', model: 'nvmet-ts staging bench', serial: '6e766d6574626e63' },
        namespaces: [
          {
            nsid: 1,
            enable: 1,
            device: { path: `ram:${Math.ceil(o.nsBytes / (1 << 20))}M`, uuid: '4e2f9d1c-6a3b-4c5d-8e7f-901a2b3c4d99' },
            nvmet_ts: { nvme: o.placement.ssd, block_size: 512 },
          },
        ],
      },
    ],
    topology: o.placement.document,
  };
}

const QUIET: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (m) => process.stderr.write(`target: ${m}\n`) };

export class BenchTarget {
  private constructor(
    readonly svc: NvmetService,
    readonly placement: Placement,
  ) {}

  static async start(o: TargetOptions): Promise<BenchTarget> {
    const parsed = parseConfig(benchConfigJson(o));
    if (!parsed.ok) throw new Error(`bench config rejected: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    const svc = await NvmetService.start({ config: parsed.config, logger: o.logger ?? QUIET });
    return new BenchTarget(svc, o.placement);
  }

  /** The bound TCP service id of a staging's port. */
  trsvcid(staging: Staging): string {
    const p = this.svc.nvmet.ports.find((x) => x.id === PORT_OF[staging]);
    if (p === undefined) throw new Error(`bench target has no port ${PORT_OF[staging]}`);
    return p.addr.trsvcid;
  }

  /** Cumulative DMA counters, or null when no data path accounts DMAs. */
  counters(): DmaCounters | null {
    return this.svc.hooks.dmaCounters?.() ?? null;
  }

  /** Cumulative I/Os of a staging's port that wanted p2pmem and were staged in system memory; null when unknown. */
  fallbacks(staging: Staging): number | null {
    return this.svc.hooks.fallbacks?.(PORT_OF[staging]) ?? null;
  }

  /** The provider the port stages in: a BDF, null for system memory, undefined when no data path reports it. */
  provider(staging: Staging): string | null | undefined {
    const f = this.svc.hooks.portProvider;
    return f === undefined ? undefined : f(PORT_OF[staging]);
  }

  /** What the p2pdma policy would pick for the p2pmem port (from the topology alone), and why. */
  p2pDecision(): { provider: string | null; why: string } {
    const d = this.svc.portP2p(PORT_OF.p2pmem);
    return { provider: d.provider, why: d.why };
  }

  get dataPathWired(): boolean {
    return this.svc.hooks.dmaCounters !== undefined;
  }

  stop(): Promise<void> {
    return this.svc.stop();
  }
}
