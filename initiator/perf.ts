/**
 * Closed-loop I/O load generator (fio-like) over a connected Controller: `qd`
 * commands kept outstanding on each chosen I/O queue, each completion
 * immediately resubmitting. Buffers, SQEs and command objects are allocated once
 * per slot; the loop itself allocates nothing per I/O.
 */
import { IoOpcode } from '../src/nvme/opcodes.js';
import { encodeRwCommand, setSqeSlba, SQE_SIZE } from '../src/nvme/sqe.js';
import type { Controller } from './controller.js';
import type { Completion, HostCommand } from './host-queue.js';
import { NvmeError } from './errors.js';
import { LatencyHistogram } from './latency.js';

export interface PerfOptions {
  nsid: number;
  /** Bytes per I/O (a multiple of the LBA size). */
  bs: number;
  /** Outstanding I/Os per queue. */
  qd: number;
  /** I/O queue ids to drive (default: all of the controller's). */
  qids?: number[];
  /** Run length, ms (default 3000 unless `ios` is given). */
  timeMs?: number;
  /** Stop after this many I/Os (whichever of time/ios comes first). */
  ios?: number;
  pattern: 'seq' | 'rand';
  rw: 'read' | 'write';
  /** LBAs exercised, from `startLba` (default: the whole namespace). */
  rangeBlocks?: number;
  startLba?: number;
  /** Warm-up before measuring, ms (default 0). */
  warmupMs?: number;
  /** Writes: force R2T/H2CData even for sizes that fit in-capsule. */
  forceR2T?: boolean;
}

export interface LatencySummaryUs {
  mean: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface PerfResult {
  rw: 'read' | 'write';
  pattern: 'seq' | 'rand';
  bs: number;
  qd: number;
  queues: number;
  ios: number;
  bytes: number;
  elapsedMs: number;
  iops: number;
  /** Decimal megabytes per second (1e6 bytes), like fio's MB/s. */
  mbps: number;
  /** Binary MiB per second. */
  mibps: number;
  latencyUs: LatencySummaryUs;
}

interface Worker {
  readonly q: ReturnType<Controller['queue']>;
  readonly cmd: HostCommand;
  readonly sqe: Uint8Array;
  started: number;
  readonly cb: (err: Error | null, c: Completion) => void;
}

/** 32-bit xorshift: cheap reproducible randomness for LBA choice. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export async function runPerf(ctrl: Controller, o: PerfOptions): Promise<PerfResult> {
  const g = await ctrl.geometry(o.nsid);
  if (o.bs <= 0 || o.bs % g.lbaSize !== 0) throw new RangeError(`bs ${o.bs} is not a multiple of the ${g.lbaSize}-byte LBA`);
  if (ctrl.maxTransferBytes > 0 && o.bs > ctrl.maxTransferBytes) {
    throw new RangeError(`bs ${o.bs} exceeds the controller's max transfer of ${ctrl.maxTransferBytes} bytes`);
  }
  const blocks = o.bs / g.lbaSize;
  if (blocks > 0x10000) throw new RangeError(`bs ${o.bs} is more than 65536 blocks`);
  const start = o.startLba ?? 0;
  const range = Math.min(o.rangeBlocks ?? g.nsze - start, g.nsze - start);
  const slots = Math.floor(range / blocks);
  if (slots < 1) throw new RangeError(`range of ${range} blocks is smaller than one ${o.bs}-byte I/O`);
  const qids = o.qids ?? ctrl.ioQueues.map((q) => q.qid);
  if (qids.length === 0) throw new RangeError('no I/O queues to drive');
  const qd = Math.max(1, Math.floor(o.qd));
  const timeMs = o.timeMs ?? (o.ios === undefined ? 3000 : Number.POSITIVE_INFINITY);
  const maxIos = o.ios ?? Number.POSITIVE_INFINITY;
  const warmupMs = o.warmupMs ?? 0;
  const opcode = o.rw === 'read' ? IoOpcode.Read : IoOpcode.Write;
  const rand = xorshift(0x5eed ^ o.bs ^ qd);
  let cursor = 0;
  const nextLba = o.pattern === 'seq'
    ? (): number => {
        const l = start + cursor * blocks;
        cursor = cursor + 1 === slots ? 0 : cursor + 1;
        return l;
      }
    : (): number => start + Math.floor(rand() * slots) * blocks;

  const hist = new LatencyHistogram();
  let measuring = warmupMs === 0;
  let t0 = performance.now();
  const tStart = t0;
  let ios = 0;
  let bytes = 0;
  let inflight = 0;
  let stopped = false;
  let failure: Error | null = null;
  let tEnd = 0;

  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    tEnd = performance.now();
  };

  const submit = (w: Worker): void => {
    setSqeSlba(w.sqe, nextLba());
    inflight++;
    w.started = performance.now();
    w.q.submitCb(w.cmd, w.cb);
  };

  const workers: Worker[] = [];
  for (const qid of qids) {
    const q = ctrl.queue(qid);
    for (let i = 0; i < qd; i++) {
      const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode, cid: 0, nsid: o.nsid, slba: 0, blocks });
      const buf = Buffer.allocUnsafeSlow(o.bs);
      if (opcode === IoOpcode.Write) for (let j = 0; j < buf.length; j += 512) buf[j] = (j >>> 9) & 0xff;
      const cmd: HostCommand = opcode === IoOpcode.Write
        ? { sqe, dataOut: buf, forceR2T: o.forceR2T === true }
        : { sqe, dataIn: buf };
      const w: Worker = {
        q,
        cmd,
        sqe,
        started: 0,
        cb: (err, c) => {
          inflight--;
          const now = performance.now();
          if (err !== null || c.status !== 0) {
            failure ??= err ?? new NvmeError(c.status, { ...c, qid, opcode }, `perf ${o.rw}`, 'io');
            stop();
          } else if (measuring) {
            ios++;
            bytes += o.bs;
            hist.record((now - w.started) * 1e6);
          } else if (now - tStart >= warmupMs) {
            measuring = true;
            t0 = now;
          }
          if (!stopped && (ios >= maxIos || (measuring && now - t0 >= timeMs))) stop();
          if (!stopped) submit(w);
          if (stopped && inflight === 0) resolveDone();
        },
      };
      workers.push(w);
    }
  }
  // Safety net: a run never outlives its time budget by more than a few seconds.
  const budget = Number.isFinite(timeMs) ? warmupMs + timeMs + 10_000 : 600_000;
  const guard = setTimeout(() => {
    failure ??= new Error(`perf run exceeded its ${budget} ms budget with ${inflight} I/Os in flight`);
    stop();
    resolveDone();
  }, budget);
  for (const w of workers) submit(w);
  await done;
  clearTimeout(guard);
  if (failure !== null) throw failure;
  const elapsedMs = (tEnd || performance.now()) - t0;
  const s = elapsedMs / 1000;
  return {
    rw: o.rw,
    pattern: o.pattern,
    bs: o.bs,
    qd,
    queues: qids.length,
    ios,
    bytes,
    elapsedMs,
    iops: ios / s,
    mbps: bytes / s / 1e6,
    mibps: bytes / s / 1048576,
    latencyUs: {
      mean: hist.meanNs / 1000,
      p50: hist.percentile(0.5) / 1000,
      p99: hist.percentile(0.99) / 1000,
      p999: hist.percentile(0.999) / 1000,
      max: hist.max / 1000,
    },
  };
}

/** Parse "4k", "128k", "1m", "512" into bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)([kmg]?)(i?b?)?$/i.exec(s.trim());
  if (m === null) throw new RangeError(`bad size "${s}" (use e.g. 512, 4k, 128k, 1m)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}
