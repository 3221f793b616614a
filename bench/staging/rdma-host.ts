/**
 * The RDMA host of a cell: the simulated-RDMA initiator (initiator/rdma) driven by a
 * closed-loop load generator with the same semantics as the TCP perf engine
 * (initiator/perf.ts): `qd` commands outstanding per queue, each completion
 * resubmitting, optional warm-up, stop after `timeMs`, every completed I/O counted.
 * Data buffers live in SharedArrayBuffers (RdmaController.allocBuffer) so the
 * target's copy engine can move them on its worker, as a real RNIC DMAs host memory.
 */

import { RdmaController } from '../../initiator/rdma/controller.js';
import type { RdmaCompletion, RdmaHostCommand } from '../../initiator/rdma/queue.js';
import { LatencyHistogram } from '../../initiator/latency.js';
import type { PerfOptions, PerfResult } from '../../initiator/perf.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { encodeRwCommand, setSqeSlba, SQE_SIZE } from '../../src/nvme/sqe.js';
import type { BenchHost } from './host.js';
import type { Staging } from './matrix.js';
import { BENCH_NQN, type BenchTarget } from './target.js';

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

export async function rdmaPerf(ctrl: RdmaController, o: PerfOptions): Promise<PerfResult> {
  const g = await ctrl.geometry(o.nsid);
  if (o.bs <= 0 || o.bs % g.lbaSize !== 0) throw new RangeError(`bs ${o.bs} is not a multiple of the ${g.lbaSize}-byte LBA`);
  if (ctrl.maxTransferBytes > 0 && o.bs > ctrl.maxTransferBytes) throw new RangeError(`bs ${o.bs} exceeds the controller's max transfer of ${ctrl.maxTransferBytes} bytes`);
  const blocks = o.bs / g.lbaSize;
  const slots = Math.floor(g.nsze / blocks);
  if (slots < 1) throw new RangeError('namespace smaller than one I/O');
  const qids = o.qids ?? ctrl.ioQueues.map((_, i) => i + 1);
  const qd = Math.max(1, Math.floor(o.qd));
  const timeMs = o.timeMs ?? 3000;
  const warmupMs = o.warmupMs ?? 0;
  const opcode = o.rw === 'read' ? IoOpcode.Read : IoOpcode.Write;
  const rand = xorshift(0x5eed ^ o.bs ^ qd);
  let cursor = 0;
  const nextLba = (): number => {
    if (o.pattern === 'rand') return Math.floor(rand() * slots) * blocks;
    const l = cursor * blocks;
    cursor = cursor + 1 === slots ? 0 : cursor + 1;
    return l;
  };

  const hist = new LatencyHistogram();
  const tStart = performance.now();
  let measuring = warmupMs === 0;
  let t0 = tStart;
  let tEnd = 0;
  let ios = 0;
  let inflight = 0;
  let stopped = false;
  let failure: Error | null = null;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const stop = (): void => {
    if (!stopped) {
      stopped = true;
      tEnd = performance.now();
    }
  };

  const loop = (qid: number): void => {
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode, cid: 0, nsid: o.nsid, slba: 0, blocks });
    const buf = ctrl.allocBuffer(o.bs);
    if (opcode === IoOpcode.Write) for (let j = 0; j < buf.length; j += 512) buf[j] = (j >>> 9) & 0xff;
    const cmd: RdmaHostCommand = opcode === IoOpcode.Write ? { sqe, dataOut: buf } : { sqe, dataIn: buf };
    let started = 0;
    const onDone = (c: RdmaCompletion): void => {
      inflight--;
      const now = performance.now();
      if (c.status !== 0) {
        failure ??= new Error(`rdma perf ${o.rw}: NVMe status 0x${c.status.toString(16)}`);
        stop();
      } else if (measuring) {
        ios++;
        hist.record((now - started) * 1e6);
      } else if (now - tStart >= warmupMs) {
        measuring = true;
        t0 = now;
      }
      if (!stopped && measuring && now - t0 >= timeMs) stop();
      if (!stopped) submit();
      else if (inflight === 0) resolveDone();
    };
    const onErr = (e: unknown): void => {
      inflight--;
      failure ??= e instanceof Error ? e : new Error(String(e));
      stop();
      if (inflight === 0) resolveDone();
    };
    const submit = (): void => {
      setSqeSlba(sqe, nextLba());
      inflight++;
      started = performance.now();
      ctrl.submit(qid, cmd).then(onDone, onErr);
    };
    submit();
  };

  const budget = warmupMs + timeMs + 10_000;
  const guard = setTimeout(() => {
    failure ??= new Error(`rdma perf exceeded its ${budget} ms budget with ${inflight} I/Os in flight`);
    stop();
    resolveDone();
  }, budget);
  for (const qid of qids) for (let i = 0; i < qd; i++) loop(qid);
  await done;
  clearTimeout(guard);
  if (failure !== null) throw failure;
  const elapsedMs = (tEnd || performance.now()) - t0;
  const s = elapsedMs / 1000;
  const bytes = ios * o.bs;
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

/** Connect the simulated-RDMA host to the port of `staging`. */
export async function connectRdmaHost(target: BenchTarget, staging: Staging, queues: number, queueDepth: number): Promise<BenchHost> {
  const ctrl = await RdmaController.connect({ traddr: '127.0.0.1', trsvcid: target.trsvcid(staging), subnqn: BENCH_NQN, queues, queueDepth });
  return {
    transport: 'rdma',
    qids: ctrl.ioQueues.map((_, i) => i + 1),
    perf: (o) => rdmaPerf(ctrl, o),
    close: () => ctrl.close(),
  };
}
