/**
 * Running one cell: warm up (unmeasured), snapshot the target's counters, run the
 * measured perf loop, snapshot again. Everything reported for the cell — host
 * throughput and latency, bytes per link class, fallbacks, the projection from
 * measured link bytes — comes from that one measured window.
 */

import type { PerfResult } from '../../initiator/perf.js';
import { DRAM } from '../../src/copy/region.js';
import type { BenchHost } from './host.js';
import { bytesByClass, classifyLinks, counterDelta, perPayloadByte, type ClassBytes } from './link-classes.js';
import type { Cell, Preset } from './matrix.js';
import { projectExpected, projectMeasured, type Projection } from './projection.js';
import type { BenchTarget } from './target.js';

export interface CellResult {
  readonly id: string;
  readonly configKey: string;
  readonly topology: Cell['topology'];
  readonly staging: Cell['staging'];
  readonly transport: Cell['transport'];
  readonly workload: string;
  readonly rw: 'read' | 'write';
  readonly pattern: 'rand' | 'seq';
  readonly bs: number;
  readonly qd: number;
  readonly queues: number;
  /** 0 for the matrix cell, 1.. for extra ratio rounds. */
  readonly round: number;
  /** Set when the cell could not run; every measured field is then null. */
  readonly error: string | null;
  readonly seconds: number | null;
  /**
   * CPU time of the whole process (target, initiator, copy-engine worker: user + system)
   * over the measured window, and per MB of payload: the emulator's own cost of moving
   * the data, which machine load disturbs far less than wall-clock throughput.
   */
  readonly cpuSeconds: number | null;
  readonly cpuUsPerMB: number | null;
  readonly ios: number | null;
  readonly payloadBytes: number | null;
  readonly mbps: number | null;
  readonly iops: number | null;
  readonly latencyUs: { readonly p50: number; readonly p99: number; readonly mean: number; readonly max: number } | null;
  /** Where the data was staged: the provider BDF, "dram", or "<bdf>+dram" when some I/Os fell back. */
  readonly stagedIn: string | null;
  /** Data-carrying I/Os of the measured window staged in p2pmem / in system memory on this cell's port. */
  readonly stagedP2p: number | null;
  readonly stagedSystem: number | null;
  /**
   * p2pmem cells: I/Os of the window that wanted p2pmem and were staged in system memory
   * (no compatible provider for the port, or the provider's pool was exhausted). Null for
   * system-memory cells, which never ask for p2pmem.
   */
  readonly p2pmemFallbacks: number | null;
  /** Of those, the per-command pool allocation failures (mainline's alloc_sgl fallback). */
  readonly poolFallbacks: number | null;
  /** Bytes per payload byte by link class over the measured window (null: no DMA counters). */
  readonly perPayloadByte: ClassBytes | null;
  /** Raw counter delta per link id that carried bytes (idle links omitted), for anyone re-deriving the classes. */
  readonly linkBytes: Readonly<Record<string, { up: number; down: number }>> | null;
  /** Link model projection from the measured link bytes (null: no counters). */
  readonly projected: ProjectionJson | null;
  /** Link model projection from the flow the staging implies (always computed; cross-check). */
  readonly expected: ProjectionJson & { readonly rootComplexPerByte: number; readonly dramPerByte: number };
}

export interface ProjectionJson {
  readonly mbps: number | null;
  readonly limitingLink: string | null;
  readonly limitingClass: string | null;
  readonly limitingLabel: string | null;
  readonly limitingShort: string | null;
}

function projectionJson(p: Projection): ProjectionJson {
  return {
    mbps: Number.isFinite(p.bytesPerSec) ? p.bytesPerSec / 1e6 : null,
    limitingLink: p.limiting === null ? null : `${p.limiting.id} ${p.limiting.direction}`,
    limitingClass: p.limiting?.class ?? null,
    limitingLabel: p.limiting?.label ?? null,
    limitingShort: p.limiting?.short ?? null,
  };
}

function base(cell: Cell, round: number) {
  return {
    id: cell.id,
    configKey: cell.configKey,
    topology: cell.topology,
    staging: cell.staging,
    transport: cell.transport,
    workload: cell.workload.name,
    rw: cell.workload.rw,
    pattern: cell.workload.pattern,
    bs: cell.workload.bs,
    qd: cell.qd,
    queues: cell.queues,
    round,
  };
}

/** The flow model's view of the cell: the port's provider for the p2pmem share of I/Os, DRAM for the rest. */
function expectedFor(target: BenchTarget, cell: Cell, p2pFraction: number) {
  const pl = target.placement;
  const provider = cell.staging === 'p2pmem' ? target.portProvider('p2pmem').provider : null;
  const e = projectExpected(pl.parsed, cell.workload.rw, pl.nic, pl.ssd, provider, provider === null ? 0 : p2pFraction);
  return { ...projectionJson(e), rootComplexPerByte: e.rootComplexPerByte, dramPerByte: e.dramPerByte };
}

/** A cell that could not run (no transport, connect failure, I/O error): recorded, not fatal to the bench. */
export function failedCell(target: BenchTarget | null, cell: Cell, round: number, error: string): CellResult {
  const expected = target === null
    ? { mbps: null, limitingLink: null, limitingClass: null, limitingLabel: null, limitingShort: null, rootComplexPerByte: NaN, dramPerByte: NaN }
    : expectedFor(target, cell, 1);
  return {
    ...base(cell, round),
    error,
    seconds: null,
    cpuSeconds: null,
    cpuUsPerMB: null,
    ios: null,
    payloadBytes: null,
    mbps: null,
    iops: null,
    latencyUs: null,
    stagedIn: null,
    stagedP2p: null,
    stagedSystem: null,
    p2pmemFallbacks: null,
    poolFallbacks: null,
    perPayloadByte: null,
    linkBytes: null,
    projected: null,
    expected,
  };
}

export async function runCell(target: BenchTarget, host: BenchHost, cell: Cell, preset: Preset, round: number): Promise<CellResult> {
  const qids = host.qids.slice(0, cell.queues);
  if (qids.length < cell.queues) throw new Error(`host has ${host.qids.length} I/O queues, the cell wants ${cell.queues}`);
  const perfBase = {
    nsid: 1,
    bs: cell.workload.bs,
    qd: cell.qd,
    qids,
    pattern: cell.workload.pattern,
    rw: cell.workload.rw,
  } as const;
  // Extra ratio rounds are short slices on warm connections; the matrix cell warms up first.
  const warmup = round === 0 ? preset.warmupSeconds : 0;
  const seconds = round === 0 ? preset.seconds : preset.ratioSliceSeconds;
  if (warmup > 0) await host.perf({ ...perfBase, timeMs: warmup * 1000 });

  const c0 = target.counters();
  const p0 = target.portCounters(cell.staging);
  const cpu0 = process.cpuUsage();
  const r: PerfResult = await host.perf({ ...perfBase, timeMs: seconds * 1000 });
  const cpu = process.cpuUsage(cpu0);
  const c1 = target.counters();
  const p1 = target.portCounters(cell.staging);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;

  const p2p = p1.p2pAllocations - p0.p2pAllocations;
  const sys = p1.systemAllocations - p0.systemAllocations;
  const provider = target.portProvider(cell.staging).provider;
  const stagedIn = p2p === 0 ? DRAM : sys === 0 ? provider : `${provider}+${DRAM}`;
  const p2pFraction = p2p + sys === 0 ? 0 : p2p / (p2p + sys);

  const delta = counterDelta(c0, c1);
  const perByte: ClassBytes | null = perPayloadByte(bytesByClass(delta, classifyLinks(target.placement.parsed)), r.bytes);
  const p = projectMeasured(target.placement.parsed, delta, r.bytes);
  return {
    ...base(cell, round),
    error: null,
    seconds: r.elapsedMs / 1000,
    cpuSeconds,
    cpuUsPerMB: r.bytes > 0 ? (cpuSeconds * 1e6) / (r.bytes / 1e6) : null,
    ios: r.ios,
    payloadBytes: r.bytes,
    mbps: r.mbps,
    iops: r.iops,
    latencyUs: { p50: r.latencyUs.p50, p99: r.latencyUs.p99, mean: r.latencyUs.mean, max: r.latencyUs.max },
    stagedIn,
    stagedP2p: p2p,
    stagedSystem: sys,
    p2pmemFallbacks: cell.staging === 'p2pmem' ? sys : null,
    poolFallbacks: cell.staging === 'p2pmem' ? p1.poolFallbacks - p0.poolFallbacks : null,
    perPayloadByte: perByte,
    linkBytes: Object.fromEntries(Object.entries(delta.links).filter(([, b]) => b.up !== 0 || b.down !== 0)),
    projected: p === null ? null : projectionJson(p),
    expected: expectedFor(target, cell, p2pFraction),
  };
}
