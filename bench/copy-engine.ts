/**
 * Copy engine benchmark.
 *
 *   node dist/bench/run.js copy [--threshold] [--quick] [--qd N] [--rounds N] [--json]
 *   node dist/bench/copy-engine.js [same options]
 *
 * Every figure comes from the same process and the same memories: an inline
 * single-thread copy (`Uint8Array.set` in a bare loop, the floor any engine is
 * measured against) and the engine with 1 and 2 workers. The engine runs are a closed
 * loop of single-descriptor submissions at queue depth `qd` (one DMA per I/O, as the
 * target issues them), cycling through a ring of slots so outstanding DMAs never
 * overlap. "engine" uses the default inline threshold (so small descriptors run
 * inline); "offload" forces every descriptor onto the workers (threshold 0) to show
 * the thread-hop cost. Ratios are engine ÷ inline of the same round; each cell is the
 * median of `rounds` rounds, inline and engine runs interleaved.
 *
 * Main-thread cost: event-loop utilisation during the run × run time ÷ bytes, i.e.
 * main-thread seconds per GB moved. The inline copy costs all of its time.
 *
 * --threshold sweeps 1 KiB..1 MiB with the engine inline-only (workers 0) against the
 * engine offloading everything to one worker, both in the same closed loop, and names
 * the crossover the default inline threshold is taken from (rule in `crossoverOf`).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_INLINE_THRESHOLD, DmaEngine } from '../src/copy/dma-engine.js';
import { memoryRegion, type MemoryRegion } from '../src/copy/region.js';

export interface CopyEngineBenchOptions {
  /** Descriptor sizes for the main table (bytes). */
  readonly sizes?: readonly number[];
  readonly workers?: readonly number[];
  /** Outstanding submissions in the closed loop. */
  readonly qd?: number;
  /** Bytes to move per measurement (rounded to whole descriptors; at least 2000 descriptors). */
  readonly bytesPerRun?: number;
  readonly rounds?: number;
  /** Also sweep sizes for the inline-threshold crossover. */
  readonly threshold?: boolean;
  /** Print JSON and the table to stdout (default true). */
  readonly print?: boolean;
}

export interface CopyEngineBenchRow {
  readonly size: number;
  readonly workers: number;
  readonly mode: 'engine' | 'offload';
  /** Inline single-thread copy, bytes/s (same round). */
  readonly inlineBps: number;
  readonly engineBps: number;
  /** Median over rounds of engine ÷ inline measured back to back (the reported pair above). */
  readonly ratio: number;
  /** Best engine round ÷ best inline round: other processes only ever slow a run down, so on a shared machine this is the less disturbed estimate. */
  readonly bestRatio: number;
  /** Main-thread seconds per GB moved (engine run), vs the inline copy's. */
  readonly mainThreadSecPerGB: number;
  readonly inlineSecPerGB: number;
  /** Fraction of descriptors that ran on a worker. */
  readonly offloaded: number;
  /**
   * Per worker thread during the engine run (Linux schedstat; null elsewhere or with no
   * worker): share of wall time on a CPU, and share spent runnable but waiting for a CPU
   * — the latter is other processes taking the machine, not the engine.
   */
  readonly workerOnCpu: number | null;
  readonly workerWaiting: number | null;
}

export interface ThresholdRow {
  readonly size: number;
  /** Bare inline copy loop, bytes/s (reference). */
  readonly rawInlineBps: number;
  /** Engine, workers 0 (every descriptor inline), closed loop at qd. */
  readonly inlineBps: number;
  readonly inlineMainSecPerGB: number;
  /** Engine, 1 worker, threshold 0 (every descriptor offloaded), closed loop at qd. */
  readonly offloadBps: number;
  readonly offloadMainSecPerGB: number;
  /** qd 1: one submission at a time, µs per descriptor. */
  readonly inlineLatencyUs: number;
  readonly offloadLatencyUs: number;
}

export interface CopyEngineBenchResult {
  readonly bench: 'copy-engine';
  readonly node: string;
  readonly cpus: number;
  /** 1-minute load average before and after: other processes on the machine skew every ratio. */
  readonly loadavg: readonly [number, number];
  readonly qd: number;
  readonly defaultInlineThreshold: number;
  readonly rows: readonly CopyEngineBenchRow[];
  readonly threshold?: { readonly rows: readonly ThresholdRow[]; readonly crossover: number | null };
}

const RING = 64 * 1024 * 1024;

export async function measureCopyEngine(options: CopyEngineBenchOptions = {}): Promise<CopyEngineBenchResult> {
  const load0 = loadavg()[0]!;
  const sizes = options.sizes ?? [4096, 128 * 1024, 1024 * 1024];
  const workerCounts = options.workers ?? [1, 2];
  const qd = options.qd ?? 32;
  const bytesPerRun = options.bytesPerRun ?? 256 * 1024 * 1024;
  const rounds = options.rounds ?? 5;

  const srcMem = new SharedArrayBuffer(RING);
  const dstMem = new SharedArrayBuffer(RING);
  fill(new Uint8Array(srcMem));
  new Uint8Array(dstMem).fill(1); // fault the pages in before timing
  const src = memoryRegion(srcMem, '0000:01:00.0');
  const dst = memoryRegion(dstMem, '0000:02:00.0');

  const rows: CopyEngineBenchRow[] = [];
  for (const workers of workerCounts) {
    const engines = {
      engine: new DmaEngine({ workers }),
      offload: new DmaEngine({ workers, inlineThreshold: 0 }),
    };
    try {
      for (const size of sizes) {
        const count = Math.max(2000, Math.floor(bytesPerRun / size));
        for (const mode of ['engine', 'offload'] as const) {
          if (mode === 'offload' && size >= DEFAULT_INLINE_THRESHOLD) continue; // same as engine
          const eng = engines[mode];
          await closedLoop(eng, src, dst, size, Math.min(count, 200), qd); // warm up
          const samples: { inl: number; eng: Measure; offloaded: number }[] = [];
          for (let r = 0; r < rounds; r++) {
            const inl = inlineRun(srcMem, dstMem, size, count);
            const before = eng.stats;
            const m = await closedLoop(eng, src, dst, size, count, qd);
            const after = eng.stats;
            samples.push({ inl, eng: m, offloaded: (after.workerSubmissions - before.workerSubmissions) / (after.submissions - before.submissions) });
          }
          const med = medianBy(samples, (s) => s.eng.bps / s.inl);
          rows.push({
            size,
            workers,
            mode,
            inlineBps: med.inl,
            engineBps: med.eng.bps,
            ratio: med.eng.bps / med.inl,
            bestRatio: Math.max(...samples.map((s) => s.eng.bps)) / Math.max(...samples.map((s) => s.inl)),
            mainThreadSecPerGB: med.eng.mainSecPerByte * 1e9,
            inlineSecPerGB: 1e9 / med.inl,
            offloaded: med.offloaded,
            workerOnCpu: Number.isNaN(med.eng.workerOnCpu) ? null : med.eng.workerOnCpu,
            workerWaiting: Number.isNaN(med.eng.workerWaiting) ? null : med.eng.workerWaiting,
          });
        }
      }
    } finally {
      await engines.engine.close();
      await engines.offload.close();
    }
  }

  let threshold: CopyEngineBenchResult['threshold'];
  if (options.threshold === true) threshold = await thresholdSweep(srcMem, dstMem, src, dst, qd, bytesPerRun / 4, rounds);

  const result: CopyEngineBenchResult = {
    bench: 'copy-engine',
    node: process.version,
    cpus: availableParallelism(),
    loadavg: [load0, loadavg()[0]!],
    qd,
    defaultInlineThreshold: DEFAULT_INLINE_THRESHOLD,
    rows,
    ...(threshold === undefined ? {} : { threshold }),
  };
  if (options.print !== false) {
    console.log(renderTable(result));
    console.log(`JSON ${JSON.stringify(result)}`);
  }
  return result;
}

export const COPY_ENGINE_USAGE = `Usage: node dist/bench/run.js copy [options]

  --threshold     also sweep 1 KiB..1 MiB for the inline-threshold crossover
  --quick         short runs, one round (smoke test)
  --qd N          outstanding submissions in the closed loop (default 32)
  --rounds N      rounds per cell, the median is reported (default 5)
  --json          print only the JSON result`;

/** Bench dispatcher entry: parse argv, run, print the table and a "JSON {...}" line; returns the exit code. */
export async function runCopyEngineBench(argv: string[] = []): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        threshold: { type: 'boolean' },
        quick: { type: 'boolean' },
        qd: { type: 'string' },
        rounds: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${COPY_ENGINE_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(COPY_ENGINE_USAGE);
    return 0;
  }
  const qd = values.qd === undefined ? 32 : Number(values.qd);
  const rounds = values.rounds === undefined ? (values.quick ? 1 : 5) : Number(values.rounds);
  if (!Number.isInteger(qd) || qd < 1 || !Number.isInteger(rounds) || rounds < 1) {
    console.error(`--qd and --rounds take positive integers\n\n${COPY_ENGINE_USAGE}`);
    return 2;
  }
  const result = await measureCopyEngine({
    qd,
    rounds,
    threshold: values.threshold === true,
    print: false,
    ...(values.quick ? { bytesPerRun: 64 * 1024 * 1024 } : {}),
  });
  if (!values.json) console.log(renderTable(result));
  console.log(`${values.json ? '' : 'JSON '}${JSON.stringify(result)}`);
  return 0;
}

interface Measure {
  bps: number;
  mainSecPerByte: number;
  /** Per worker, fraction of wall time on a CPU and runnable but waiting for one (NaN without schedstat). */
  workerOnCpu: number;
  workerWaiting: number;
}

/** ns on CPU and ns runnable-but-waiting per thread (Linux schedstat), or null elsewhere. */
function threadTimes(): Map<string, { run: number; wait: number }> | null {
  try {
    const out = new Map<string, { run: number; wait: number }>();
    for (const tid of readdirSync('/proc/self/task')) {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(tid, { run: run!, wait: wait! });
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * Main thread CPU seconds, and the busiest `workers` other threads' on-CPU and waiting
 * shares, between two samples (the copy workers are the threads that ran most).
 */
function cpuBetween(a: ReturnType<typeof threadTimes>, b: ReturnType<typeof threadTimes>, workers: number, wallSec: number) {
  if (a === null || b === null) return null;
  const main = String(process.pid);
  const d = [...b].map(([tid, t]) => ({ tid, run: t.run - (a.get(tid)?.run ?? 0), wait: t.wait - (a.get(tid)?.wait ?? 0) }));
  const mainRun = d.find((x) => x.tid === main)?.run ?? 0;
  const others = d.filter((x) => x.tid !== main).sort((x, y) => y.run - x.run).slice(0, workers);
  const wallNs = wallSec * 1e9 * Math.max(1, others.length);
  return {
    mainSec: mainRun / 1e9,
    workerOnCpu: workers === 0 ? NaN : others.reduce((s, x) => s + x.run, 0) / wallNs,
    workerWaiting: workers === 0 ? NaN : others.reduce((s, x) => s + x.wait, 0) / wallNs,
  };
}

function fill(b: Uint8Array): void {
  let x = 0x12345678;
  for (let i = 0; i < b.length; i += 4096) {
    x = (x * 1103515245 + 12345) >>> 0;
    b.fill(x & 0xff, i, Math.min(b.length, i + 4096));
  }
}

function slotOffset(i: number, size: number): number {
  const slots = Math.floor(RING / size);
  return (i % slots) * size;
}

/** Single-thread inline copy of `count` descriptors of `size` through the same ring; bytes/s. */
function inlineRun(srcMem: SharedArrayBuffer, dstMem: SharedArrayBuffer, size: number, count: number): number {
  const s = new Uint8Array(srcMem);
  const d = new Uint8Array(dstMem);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const off = slotOffset(i, size);
    d.set(s.subarray(off, off + size), off);
  }
  return (size * count) / ((performance.now() - t0) / 1e3);
}

/** Closed loop: keep `qd` single-descriptor submissions outstanding until `count` completed. */
async function closedLoop(eng: DmaEngine, src: MemoryRegion, dst: MemoryRegion, size: number, count: number, qd: number): Promise<Measure> {
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = threadTimes();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let issued = 0;
    let done = 0;
    const onDone = (): void => {
      done++;
      if (issued < count) issue();
      else if (done === count) resolve();
    };
    const issue = (): void => {
      const off = slotOffset(issued++, size);
      eng.submit({ src, dst, length: size, srcOffset: off, dstOffset: off }).then(onDone, reject);
    };
    for (let i = 0; i < qd && i < count; i++) issue();
  });
  const seconds = (performance.now() - t0) / 1e3;
  const cpu = cpuBetween(cpu0, threadTimes(), eng.workers, seconds);
  const elu = performance.eventLoopUtilization(elu0);
  const bytes = size * count;
  return {
    bps: bytes / seconds,
    // schedstat run time when available (ELU also counts time the thread was preempted)
    mainSecPerByte: (cpu?.mainSec ?? elu.active / 1e3) / bytes,
    workerOnCpu: cpu?.workerOnCpu ?? NaN,
    workerWaiting: cpu?.workerWaiting ?? NaN,
  };
}

async function latency(eng: DmaEngine, src: MemoryRegion, dst: MemoryRegion, size: number, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const off = slotOffset(i, size);
    await eng.submit({ src, dst, length: size, srcOffset: off, dstOffset: off });
  }
  return ((performance.now() - t0) * 1e3) / n;
}

async function thresholdSweep(
  srcMem: SharedArrayBuffer,
  dstMem: SharedArrayBuffer,
  src: MemoryRegion,
  dst: MemoryRegion,
  qd: number,
  bytesPerRun: number,
  rounds: number,
): Promise<NonNullable<CopyEngineBenchResult['threshold']>> {
  const inlineEng = new DmaEngine({ workers: 0 });
  const offload = new DmaEngine({ workers: 1, inlineThreshold: 0 });
  const rows: ThresholdRow[] = [];
  try {
    for (let size = 1024; size <= 1024 * 1024; size *= 2) {
      const count = Math.max(2000, Math.floor(bytesPerRun / size));
      await closedLoop(offload, src, dst, size, 200, qd);
      await closedLoop(inlineEng, src, dst, size, 200, qd);
      const samples: { raw: number; inl: Measure; off: Measure }[] = [];
      for (let r = 0; r < rounds; r++) {
        samples.push({
          raw: inlineRun(srcMem, dstMem, size, count),
          inl: await closedLoop(inlineEng, src, dst, size, count, qd),
          off: await closedLoop(offload, src, dst, size, count, qd),
        });
      }
      const med = medianBy(samples, (s) => s.off.bps / s.inl.bps);
      rows.push({
        size,
        rawInlineBps: med.raw,
        inlineBps: med.inl.bps,
        inlineMainSecPerGB: med.inl.mainSecPerByte * 1e9,
        offloadBps: med.off.bps,
        offloadMainSecPerGB: med.off.mainSecPerByte * 1e9,
        inlineLatencyUs: await latency(inlineEng, src, dst, size, 300),
        offloadLatencyUs: await latency(offload, src, dst, size, 300),
      });
    }
  } finally {
    await offload.close();
    await inlineEng.close();
  }
  return { rows, crossover: crossoverOf(rows) };
}

/**
 * The smallest size from which (for it and every larger size) offloading at least
 * halves the main thread's CPU time per byte compared with copying inline. Main-thread
 * time is what the target runs out of first (one event loop runs every socket and the
 * protocol), and it is measured as CPU time (schedstat), so other processes on the
 * machine do not move it. Below the crossover the thread hop (submit, completion
 * wake-up, promise) costs the main thread more than half of the copy it saves, and
 * adds its wake-up latency for nothing. Throughput and latency are reported next to
 * it; they depend on the machine being idle, this criterion does not.
 */
export function crossoverOf(rows: readonly ThresholdRow[]): number | null {
  let crossover: number | null = null;
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i]!;
    if (r.offloadMainSecPerGB <= 0.5 * r.inlineMainSecPerGB) crossover = r.size;
    else break;
  }
  return crossover;
}

function medianBy<T>(xs: readonly T[], key: (x: T) => number): T {
  const sorted = [...xs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor(sorted.length / 2)]!;
}

const gbs = (bps: number): string => (bps / 1e9).toFixed(2);
const pct = (f: number): string => `${(f * 100).toFixed(0)} %`;
const kib = (n: number): string => (n >= 1024 * 1024 ? `${n / 1024 / 1024} MiB` : `${n / 1024} KiB`);

function renderTable(r: CopyEngineBenchResult): string {
  const lines: string[] = [];
  lines.push(`copy engine — node ${r.node}, ${r.cpus} CPUs, load ${r.loadavg[0].toFixed(2)}→${r.loadavg[1].toFixed(2)}, qd ${r.qd}, inline threshold ${kib(r.defaultInlineThreshold)}`);
  lines.push('size      workers  mode     inline GB/s  engine GB/s  ratio   best   main-thread s/GB (inline)  offloaded  worker on-CPU / waiting');
  for (const x of r.rows) {
    lines.push(
      [
        kib(x.size).padEnd(9),
        String(x.workers).padEnd(8),
        x.mode.padEnd(8),
        gbs(x.inlineBps).padStart(11),
        gbs(x.engineBps).padStart(12),
        `${(x.ratio * 100).toFixed(0)} %`.padStart(6),
        `${(x.bestRatio * 100).toFixed(0)} %`.padStart(6),
        `${x.mainThreadSecPerGB.toFixed(3)} (${x.inlineSecPerGB.toFixed(3)})`.padStart(27),
        `${(x.offloaded * 100).toFixed(0)} %`.padStart(10),
        (x.workerOnCpu === null || x.workerWaiting === null ? '-' : `${pct(x.workerOnCpu)} / ${pct(x.workerWaiting)}`).padStart(24),
      ].join(' '),
    );
  }
  if (r.threshold) {
    lines.push('');
    lines.push(`inline-threshold sweep: engine inline-only vs engine offloading to 1 worker (qd ${r.qd}; latency at qd 1)`);
    lines.push('size      raw GB/s  inline GB/s  offload GB/s  main s/GB inline  offload  latency µs inline  offload');
    for (const x of r.threshold.rows) {
      lines.push(
        [
          kib(x.size).padEnd(9),
          gbs(x.rawInlineBps).padStart(8),
          gbs(x.inlineBps).padStart(12),
          gbs(x.offloadBps).padStart(13),
          x.inlineMainSecPerGB.toFixed(3).padStart(17),
          x.offloadMainSecPerGB.toFixed(3).padStart(8),
          x.inlineLatencyUs.toFixed(1).padStart(18),
          x.offloadLatencyUs.toFixed(1).padStart(8),
        ].join(' '),
      );
    }
    lines.push(`crossover: ${r.threshold.crossover === null ? 'none' : kib(r.threshold.crossover)} (default inline threshold ${kib(r.defaultInlineThreshold)})`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCopyEngineBench(process.argv.slice(2));
}
