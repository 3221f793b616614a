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
import { xorshift32 } from '../src/stats/xorshift.js';

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

/**
 * The host side the load loop drives: the NVMe/TCP Controller (`runPerf`) or the
 * simulated-RDMA one (bench/staging/rdma-host.ts).
 */
export interface PerfHost {
  /** Names the run in errors ("perf", "rdma perf"). */
  readonly label: string;
  /** MDTS in bytes (0 = no limit). */
  readonly maxTransferBytes: number;
  /** I/O queue ids driven when PerfOptions.qids is not given. */
  readonly qids: readonly number[];
  geometry(nsid: number): Promise<{ lbaSize: number; nsze: number }>;
  /** A data buffer for one slot. */
  allocBuffer(bytes: number): Uint8Array;
  /**
   * Bind one outstanding-I/O slot on `qid` to its SQE and buffer; returns the function
   * that (re)submits it. `done` gets null on success, else the failure (a non-zero NVMe
   * status as an error). Called once per slot, never per I/O.
   */
  slot(s: PerfSlot, done: (err: Error | null) => void): () => void;
}

export interface PerfSlot {
  readonly qid: number;
  readonly sqe: Uint8Array;
  readonly buf: Uint8Array;
  readonly opcode: number;
  readonly o: PerfOptions;
}

/** The NVMe/TCP initiator as a PerfHost: callback submission, a status turns into an NvmeError. */
function tcpPerfHost(ctrl: Controller): PerfHost {
  return {
    label: 'perf',
    maxTransferBytes: ctrl.maxTransferBytes,
    qids: ctrl.ioQueues.map((q) => q.qid),
    geometry: (nsid) => ctrl.geometry(nsid),
    allocBuffer: (bytes) => Buffer.allocUnsafeSlow(bytes),
    slot({ qid, sqe, buf, opcode, o }, done) {
      const q = ctrl.queue(qid);
      const cmd: HostCommand = opcode === IoOpcode.Write
        ? { sqe, dataOut: buf, forceR2T: o.forceR2T === true }
        : { sqe, dataIn: buf };
      const cb = (err: Error | null, c: Completion): void => {
        if (err === null && c.status !== 0) err = new NvmeError(c.status, { ...c, qid, opcode }, `perf ${o.rw}`, 'io');
        done(err);
      };
      return () => q.submitCb(cmd, cb);
    },
  };
}

export function runPerf(ctrl: Controller, o: PerfOptions): Promise<PerfResult> {
  return runPerfLoop(tcpPerfHost(ctrl), o);
}

/** The closed loop itself, for any PerfHost. */
export async function runPerfLoop(host: PerfHost, o: PerfOptions): Promise<PerfResult> {
  const g = await host.geometry(o.nsid);
  if (o.bs <= 0 || o.bs % g.lbaSize !== 0) throw new RangeError(`bs ${o.bs} is not a multiple of the ${g.lbaSize}-byte LBA`);
  if (host.maxTransferBytes > 0 && o.bs > host.maxTransferBytes) {
    throw new RangeError(`bs ${o.bs} exceeds the controller's max transfer of ${host.maxTransferBytes} bytes`);
  }
  const blocks = o.bs / g.lbaSize;
  if (blocks > 0x10000) throw new RangeError(`bs ${o.bs} is more than 65536 blocks`);
  const start = o.startLba ?? 0;
  const range = Math.min(o.rangeBlocks ?? g.nsze - start, g.nsze - start);
  const slots = Math.floor(range / blocks);
  if (slots < 1) throw new RangeError(`range of ${range} blocks is smaller than one ${o.bs}-byte I/O`);
  const qids = o.qids ?? host.qids;
  if (qids.length === 0) throw new RangeError('no I/O queues to drive');
  const qd = Math.max(1, Math.floor(o.qd));
  const timeMs = o.timeMs ?? (o.ios === undefined ? 3000 : Number.POSITIVE_INFINITY);
  const maxIos = o.ios ?? Number.POSITIVE_INFINITY;
  const warmupMs = o.warmupMs ?? 0;
  const opcode = o.rw === 'read' ? IoOpcode.Read : IoOpcode.Write;
  const rand = xorshift32(0x5eed ^ o.bs ^ qd);
  let cursor = 0;
  const nextLba = o.pattern === 'seq'
    ? (): number => {
        const l = start + cursor * blocks;
        cursor = cursor + 1 === slots ? 0 : cursor + 1;
        return l;
      }
    : (): number => start + Math.floor((rand() / 0x1_0000_0000) * slots) * blocks;

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

  const starts: (() => void)[] = [];
  for (const qid of qids) {
    for (let i = 0; i < qd; i++) {
      const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode, cid: 0, nsid: o.nsid, slba: 0, blocks });
      const buf = host.allocBuffer(o.bs);
      if (opcode === IoOpcode.Write) for (let j = 0; j < buf.length; j += 512) buf[j] = (j >>> 9) & 0xff;
      let started = 0;
      const submit = (): void => {
        setSqeSlba(sqe, nextLba());
        inflight++;
        started = performance.now();
        send();
      };
      const send = host.slot({ qid, sqe, buf, opcode, o }, (err) => {
        inflight--;
        const now = performance.now();
        if (err !== null) {
          failure ??= err;
          stop();
        } else if (measuring) {
          ios++;
          bytes += o.bs;
          hist.record((now - started) * 1e6);
        } else if (now - tStart >= warmupMs) {
          measuring = true;
          t0 = now;
        }
        if (!stopped && (ios >= maxIos || (measuring && now - t0 >= timeMs))) stop();
        if (!stopped) submit();
        if (stopped && inflight === 0) resolveDone();
      });
      starts.push(submit);
    }
  }
  // Safety net: a run never outlives its time budget by more than a few seconds.
  const budget = Number.isFinite(timeMs) ? warmupMs + timeMs + 10_000 : 600_000;
  const guard = setTimeout(() => {
    failure ??= new Error(`${host.label} run exceeded its ${budget} ms budget with ${inflight} I/Os in flight`);
    stop();
    resolveDone();
  }, budget);
  for (const submit of starts) submit();
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
