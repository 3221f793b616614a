/**
 * The host side of a cell: something that runs the initiator's closed-loop perf
 * engine against one port of the bench target. TCP connects the TypeScript
 * initiator over loopback; the simulated RDMA host plugs in here too.
 */

import { connect } from '../../initiator/index.js';
import type { Controller } from '../../initiator/controller.js';
import { runPerf, type PerfOptions, type PerfResult } from '../../initiator/perf.js';
import type { Staging, Transport } from './matrix.js';
import { BENCH_NQN, type BenchTarget } from './target.js';

export interface BenchHost {
  readonly transport: Transport;
  /** I/O queue ids available to perf (cells use the first `queues` of them). */
  readonly qids: readonly number[];
  perf(o: PerfOptions): Promise<PerfResult>;
  close(): Promise<void>;
}

/** Connect the TypeScript NVMe/TCP initiator to the port of `staging`, with `queues` I/O queues. */
export async function connectTcpHost(target: BenchTarget, staging: Staging, queues: number, queueDepth: number): Promise<BenchHost> {
  const ctrl: Controller = await connect({
    host: '127.0.0.1',
    port: Number(target.trsvcid(staging)),
    subnqn: BENCH_NQN,
    queues,
    queueDepth,
  });
  return {
    transport: 'tcp',
    qids: ctrl.ioQueues.map((q) => q.qid),
    perf: (o) => runPerf(ctrl, o),
    close: () => ctrl.close(),
  };
}
