/**
 * The RDMA host of a cell: the simulated-RDMA initiator (initiator/rdma) driven by the
 * same closed-loop load generator as the TCP host (initiator/perf.ts runPerfLoop): `qd`
 * commands outstanding per queue, each completion resubmitting, optional warm-up, stop
 * after `timeMs`, every completed I/O counted.
 * Data buffers live in SharedArrayBuffers (RdmaController.allocBuffer) so the
 * target's copy engine can move them on its worker, as a real RNIC DMAs host memory.
 */

import { RdmaController } from '../../initiator/rdma/controller.js';
import type { RdmaCompletion, RdmaHostCommand } from '../../initiator/rdma/queue.js';
import { runPerfLoop, type PerfHost, type PerfOptions, type PerfResult } from '../../initiator/perf.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import type { BenchHost } from './host.js';
import type { Staging } from './matrix.js';
import { BENCH_NQN, type BenchTarget } from './target.js';

/** The simulated-RDMA initiator as the perf loop's host: promise submission, buffers in SharedArrayBuffers. */
function rdmaPerfHost(ctrl: RdmaController): PerfHost {
  return {
    label: 'rdma perf',
    maxTransferBytes: ctrl.maxTransferBytes,
    qids: ctrl.ioQueues.map((_, i) => i + 1),
    geometry: (nsid) => ctrl.geometry(nsid),
    allocBuffer: (bytes) => ctrl.allocBuffer(bytes),
    slot({ qid, sqe, buf, opcode, o }, done) {
      const cmd: RdmaHostCommand = opcode === IoOpcode.Write ? { sqe, dataOut: buf } : { sqe, dataIn: buf };
      const onDone = (c: RdmaCompletion): void => {
        done(c.status === 0 ? null : new Error(`rdma perf ${o.rw}: NVMe status 0x${c.status.toString(16)}`));
      };
      const onErr = (e: unknown): void => done(e instanceof Error ? e : new Error(String(e)));
      return () => {
        ctrl.submit(qid, cmd).then(onDone, onErr);
      };
    },
  };
}

export function rdmaPerf(ctrl: RdmaController, o: PerfOptions): Promise<PerfResult> {
  return runPerfLoop(rdmaPerfHost(ctrl), o);
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
