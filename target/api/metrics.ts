/**
 * Prometheus metrics of a running target (GET /metrics), on a registry of its own.
 *
 * Most values are pulled at scrape time from what the service already counts:
 * per-namespace read/write stats (commands and bytes), providers from the topology,
 * and — once the p2pmem data path is attached (NvmetService.attachDataPath) — DMA
 * bytes per PCIe link and direction, through the root complex and to DRAM, provider
 * free space and per-port fallbacks. Until then those series exist with the values
 * the emulation has (zero traffic, full providers).
 *
 * Per-command latency comes from the core's I/O hook (`Nvmet.ioObserver`,
 * target/core/io-observer.ts), which buildApi points at this object: from the
 * capsule's arrival until the response has left (target/core/latency-clock.ts).
 */

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NvmetService } from '../service/index.js';
import { BUCKETS_COUNT, LatencyHistogram } from '../../src/stats/latency-histogram.js';

import type { IoObserver, IoOp } from '../core/io-observer.js';
import { faultEngine } from '../fault/index.js';

/** Buckets from 10 µs to ~5 s: RAM namespaces over loopback sit at the low end, files at the high end. */
export const LATENCY_BUCKETS = [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Operations counted from per-namespace stats; others come from the completion hook. */
const STATS_OPS = new Set(['read', 'write']);

/** One sample line as prom-client's registry renders it. */
interface SampleValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
}

const LATENCY_NAME = 'nvmet_io_latency_seconds';
const LATENCY_HELP = 'I/O command latency from the capsule arriving to its response leaving, by operation';

/**
 * `nvmet_io_latency_seconds`: recorded per op into the project's one histogram
 * (src/stats/latency-histogram.ts, HdrHistogram) and rendered by prom-client as
 * the Prometheus histogram it always was (LATENCY_BUCKETS, `_sum`, `_count`).
 * It stays a prom-client Histogram for the registry and only supplies its values:
 * prom-client renders both the text exposition and get() from
 * `getForPromString()`. Bucket counts carry HdrHistogram's 0.1 % resolution at
 * the bounds.
 */
class HdrLatencyMetric extends Histogram<'op'> {
  private readonly boundsNs = LATENCY_BUCKETS.map((s) => s * 1e9);

  constructor(
    private readonly byOp: ReadonlyMap<string, LatencyHistogram>,
    registers: Registry[],
  ) {
    super({ name: LATENCY_NAME, help: LATENCY_HELP, labelNames: ['op'], buckets: LATENCY_BUCKETS, registers });
  }

  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: SampleValue[] }> {
    const values: SampleValue[] = [];
    const line = (suffix: string, labels: Record<string, string | number>, value: number): void => {
      values.push({ labels, sharedLabels: {}, value, metricName: `${LATENCY_NAME}${suffix}` });
    };
    for (const [op, h] of this.byOp) {
      const counts = h.cumulativeCounts(this.boundsNs);
      LATENCY_BUCKETS.forEach((le, i) => line('_bucket', { le, op }, counts[i]!));
      line('_bucket', { le: '+Inf', op }, h.count);
      line('_sum', { op }, h.sumNs / 1e9);
      line('_count', { op }, h.count);
    }
    return { name: LATENCY_NAME, help: LATENCY_HELP, type: 'histogram', aggregator: 'sum', values };
  }
}

export class NvmetMetrics implements IoObserver {
  readonly registry = new Registry();
  readonly contentType: string;
  /** Per-op latency, ns; series exist from the start so scrapes see them before the first I/O. */
  private readonly latencyByOp = new Map<string, LatencyHistogram>([...STATS_OPS].map((op) => [op, new LatencyHistogram()]));
  /** Commands and bytes of ops namespace stats do not count (flush, write_zeroes, dsm), from the hook. */
  private readonly hookOps = new Map<string, { commands: number; bytes: number }>();

  constructor(svc: NvmetService) {
    const reg = [this.registry];
    this.contentType = this.registry.contentType;
    const hookOps = this.hookOps;

    new Counter({
      name: 'nvmet_io_commands_total',
      help: 'I/O commands completed, by operation',
      labelNames: ['op'],
      registers: reg,
      collect() {
        this.reset();
        const t = svc.ioTotals();
        this.inc({ op: 'read' }, t.read.commands);
        this.inc({ op: 'write' }, t.write.commands);
        for (const [op, v] of hookOps) this.inc({ op }, v.commands);
      },
    });
    new Counter({
      name: 'nvmet_io_bytes_total',
      help: 'Bytes transferred by I/O commands, by operation',
      labelNames: ['op'],
      registers: reg,
      collect() {
        this.reset();
        const t = svc.ioTotals();
        this.inc({ op: 'read' }, t.read.bytes);
        this.inc({ op: 'write' }, t.write.bytes);
        for (const [op, v] of hookOps) this.inc({ op }, v.bytes);
      },
    });
    new HdrLatencyMetric(this.latencyByOp, reg);
    new Counter({
      name: 'nvmet_pcie_link_bytes_total',
      help: 'Bytes DMA moved over each emulated PCIe link, by direction (up = towards the root complex)',
      labelNames: ['link', 'dir'],
      registers: reg,
      collect() {
        this.reset();
        const dma = svc.hooks.dmaCounters?.();
        for (const l of svc.topology.links) {
          if (l.kind === 'dram') continue;
          const b = dma?.links[l.id];
          this.inc({ link: l.id, dir: 'up' }, b?.up ?? 0);
          this.inc({ link: l.id, dir: 'down' }, b?.down ?? 0);
        }
      },
    });
    // Fault injection (target/fault/): every injected fault, by action; commands held now.
    const faults = faultEngine(svc.nvmet);
    new Counter({
      name: 'nvmet_faults_injected_total',
      help: 'Faults injected by fault rules (target/fault/), by action',
      labelNames: ['action'],
      registers: reg,
      collect() {
        this.reset();
        for (const [action, n] of faults.injectedTotals()) this.inc({ action }, n);
      },
    });
    new Gauge({
      name: 'nvmet_faults_held_commands',
      help: 'Commands whose completion a fault rule holds now (delay, hang)',
      registers: reg,
      collect() {
        this.set(faults.heldCount);
      },
    });
    new Counter({
      name: 'nvmet_root_complex_bytes_total',
      help: 'Bytes DMA moved through the root complex',
      registers: reg,
      collect() {
        this.reset();
        this.inc(svc.hooks.dmaCounters?.().rootComplexBytes ?? 0);
      },
    });
    new Counter({
      name: 'nvmet_dram_bytes_total',
      help: 'Bytes DMA moved to or from system memory',
      registers: reg,
      collect() {
        this.reset();
        this.inc(svc.hooks.dmaCounters?.().dramBytes ?? 0);
      },
    });
    new Gauge({
      name: 'nvmet_p2pmem_available_bytes',
      help: 'Free p2pmem of each provider (sysfs p2pmem/available)',
      labelNames: ['bdf'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of svc.providers()) this.set({ bdf: p.bdf }, p.available);
      },
    });
    new Gauge({
      name: 'nvmet_p2pmem_size_bytes',
      help: 'p2pmem registered by each provider (sysfs p2pmem/size)',
      labelNames: ['bdf'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of svc.providers()) this.set({ bdf: p.bdf }, p.size);
      },
    });
    new Gauge({
      name: 'nvmet_p2pmem_published',
      help: 'Whether each provider publishes its p2pmem (sysfs p2pmem/published)',
      labelNames: ['bdf'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of svc.providers()) this.set({ bdf: p.bdf }, p.published ? 1 : 0);
      },
    });
    new Counter({
      name: 'nvmet_p2pmem_fallbacks_total',
      help: 'I/Os of a port with allow_p2pmem that were staged in system memory instead',
      labelNames: ['port'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of svc.config.ports) this.inc({ port: String(p.portid) }, svc.hooks.fallbacks?.(p.portid) ?? 0);
      },
    });
    new Gauge({
      name: 'nvmet_port_enabled',
      help: 'Whether each port is enabled (listening)',
      labelNames: ['port'],
      registers: reg,
      collect() {
        this.reset();
        for (const p of svc.config.ports) this.set({ port: String(p.portid) }, svc.port(p.portid)?.enabled ? 1 : 0);
      },
    });
    new Gauge({
      name: 'nvmet_controllers',
      help: 'Live controllers per subsystem',
      labelNames: ['subsystem'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of svc.nvmet.subsystems) this.set({ subsystem: s.nqn }, s.controllers.length);
      },
    });
    new Gauge({
      name: 'nvmet_namespaces_enabled',
      help: 'Enabled namespaces per subsystem',
      labelNames: ['subsystem'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of svc.nvmet.subsystems) this.set({ subsystem: s.nqn }, s.enabledNamespaces().length);
      },
    });
  }

  // The op of the previous observeIo and where it records: a load is mostly one op after
  // another, and the Map and Set lookups were a visible share of a 4 KiB I/O's CPU.
  private lastOp: IoOp | null = null;
  private lastHist: LatencyHistogram | null = null;
  private lastHook: { commands: number; bytes: number } | null = null;

  observeIo(op: IoOp, bytes: number, latencySeconds: number): void {
    if (op !== this.lastOp) this.selectOp(op);
    this.lastHist!.record(latencySeconds * 1e9);
    const v = this.lastHook;
    if (v !== null) {
      v.commands++;
      v.bytes += bytes;
    }
  }

  /**
   * Exactly the effect of `commands` observeIo calls of `op` whose bytes sum to `bytes`,
   * with the latencies a reactor recorded into a LatencyBuckets (src/stats/latency-buckets.ts)
   * and drained: `counts` and `slow` are that drain. Its samples must number `commands`
   * (a RangeError otherwise, before anything is applied). Read and write commands and bytes
   * come from namespace stats, as with observeIo: only the hook-counted ops' counters move.
   */
  mergeIo(op: IoOp, commands: number, bytes: number, counts: Uint32Array | null, slow: Float64Array): void {
    const samples = (counts === null ? 0 : (counts[BUCKETS_COUNT] ?? 0)) + slow.length;
    if (samples !== commands) throw new RangeError(`mergeIo(${op}): ${commands} commands but ${samples} latency samples`);
    if (commands === 0) return;
    if (op !== this.lastOp) this.selectOp(op);
    this.lastHist!.addBuckets(counts, slow);
    const v = this.lastHook;
    if (v !== null) {
      v.commands += commands;
      v.bytes += bytes;
    }
  }

  private selectOp(op: IoOp): void {
    let h = this.latencyByOp.get(op);
    if (h === undefined) {
      h = new LatencyHistogram();
      this.latencyByOp.set(op, h);
    }
    let v: { commands: number; bytes: number } | null = null;
    if (!STATS_OPS.has(op)) {
      v = this.hookOps.get(op) ?? { commands: 0, bytes: 0 };
      this.hookOps.set(op, v);
    }
    this.lastOp = op;
    this.lastHist = h;
    this.lastHook = v;
  }

  /** The exposition text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
