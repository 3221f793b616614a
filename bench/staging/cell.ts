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
  readonly ios: number | null;
  readonly payloadBytes: number | null;
  readonly mbps: number | null;
  readonly iops: number | null;
  readonly latencyUs: { readonly p50: number; readonly p99: number; readonly mean: number; readonly max: number } | null;
  /** Where the data was staged: the provider BDF, "dram", or null when the data path does not say. */
  readonly stagedIn: string | null;
  /** I/Os of the measured window that wanted p2pmem but were staged in system memory (null: not reported). */
  readonly p2pmemFallbacks: number | null;
  /** Bytes per payload byte by link class over the measured window (null: no DMA counters). */
  readonly perPayloadByte: ClassBytes | null;
  /** Raw counter delta per link id (both directions), for anyone re-deriving the classes. */
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

/** The expected staging location for the flow model: the reported provider, else the policy's choice, else DRAM. */
function expectedFor(target: BenchTarget, cell: Cell, stagedIn: string | null, p2pFraction: number) {
  const pl = target.placement;
  let provider: string | null = null;
  if (cell.staging === 'p2pmem') provider = stagedIn !== null && stagedIn !== DRAM ? stagedIn : target.p2pDecision().provider;
  const e = projectExpected(pl.parsed, cell.workload.rw, pl.nic, pl.ssd, provider, provider === null ? 0 : p2pFraction);
  return { ...projectionJson(e), rootComplexPerByte: e.rootComplexPerByte, dramPerByte: e.dramPerByte };
}

/** A cell that could not run (no transport, connect failure, I/O error): recorded, not fatal to the bench. */
export function failedCell(target: BenchTarget | null, cell: Cell, round: number, error: string): CellResult {
  const expected = target === null
    ? { mbps: null, limitingLink: null, limitingClass: null, limitingLabel: null, limitingShort: null, rootComplexPerByte: NaN, dramPerByte: NaN }
    : expectedFor(target, cell, null, 1);
  return {
    ...base(cell, round),
    error,
    seconds: null,
    ios: null,
    payloadBytes: null,
    mbps: null,
    iops: null,
    latencyUs: null,
    stagedIn: null,
    p2pmemFallbacks: null,
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
  if (preset.warmupSeconds > 0) await host.perf({ ...perfBase, timeMs: preset.warmupSeconds * 1000 });

  const c0 = target.counters();
  const f0 = target.fallbacks(cell.staging);
  const r: PerfResult = await host.perf({ ...perfBase, timeMs: preset.seconds * 1000 });
  const c1 = target.counters();
  const f1 = target.fallbacks(cell.staging);

  const provider = target.provider(cell.staging);
  const fallbacks = f0 !== null && f1 !== null ? f1 - f0 : null;
  let stagedIn: string | null;
  if (provider === undefined) stagedIn = null;
  else if (provider === null) stagedIn = DRAM;
  else stagedIn = fallbacks !== null && fallbacks >= r.ios && r.ios > 0 ? DRAM : provider;
  const p2pFraction = fallbacks === null || r.ios === 0 ? 1 : Math.max(0, 1 - fallbacks / r.ios);

  let perByte: ClassBytes | null = null;
  let linkBytes: Record<string, { up: number; down: number }> | null = null;
  let projected: ProjectionJson | null = null;
  if (c0 !== null && c1 !== null) {
    const delta = counterDelta(c0, c1);
    linkBytes = delta.links as Record<string, { up: number; down: number }>;
    perByte = perPayloadByte(bytesByClass(delta, classifyLinks(target.placement.parsed)), r.bytes);
    const p = projectMeasured(target.placement.parsed, delta, r.bytes);
    projected = p === null ? null : projectionJson(p);
  }
  return {
    ...base(cell, round),
    error: null,
    seconds: r.elapsedMs / 1000,
    ios: r.ios,
    payloadBytes: r.bytes,
    mbps: r.mbps,
    iops: r.iops,
    latencyUs: { p50: r.latencyUs.p50, p99: r.latencyUs.p99, mean: r.latencyUs.mean, max: r.latencyUs.max },
    stagedIn,
    p2pmemFallbacks: fallbacks,
    perPayloadByte: perByte,
    linkBytes,
    projected,
    expected: expectedFor(target, cell, stagedIn, p2pFraction),
  };
}
