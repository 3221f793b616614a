/**
 * A host's association with one NVMe-oF controller over the simulated RDMA fabric
 * (Linux nvme_rdma_ctrl): admin queue plus N I/O queue pairs. The bring-up,
 * keep-alive, shutdown and typed commands are the transport-agnostic
 * `HostController`'s, so benches run the same workload over either transport; this
 * class opens queue pairs on the fabric, keeps data buffers in shared memory and
 * chooses in-capsule or keyed-SGL writes.
 *
 * Keep-alive is off by default (KATO 0: the target keeps the controller until the
 * host disconnects); pass `kato` to have one sent every kato/2.
 */

import type { RdmaFabric } from '../../src/rdma/fabric.js';
import { HostController } from '../host-controller.js';
import type { ControllerOptions, IoOptions, NamespaceGeometry } from '../host-controller.js';
import type { QueueCommand } from '../fabrics-queue.js';
import { RdmaHostQueue, type RdmaCompletion, type RdmaHostCommand } from './queue.js';

export interface RdmaConnectOptions extends ControllerOptions {
  traddr: string;
  trsvcid: string;
  /** Default: the process-wide fabric (the one target RDMA ports listen on by default). */
  fabric?: RdmaFabric;
  /** Keep Alive Timeout in ms sent at Connect (default 0: none). */
  kato?: number;
  /** Timeout of every command that names none, ms (default 5000). */
  timeoutMs?: number;
}

export interface RdmaIoOptions extends IoOptions {
  /** Writes: send the data in the capsule instead of a keyed SGL (must fit the port's inline size). */
  inCapsule?: boolean;
}

/** The transport-agnostic NamespaceGeometry (kept under its RDMA name for callers). */
export type RdmaNamespaceGeometry = NamespaceGeometry;

export class RdmaController extends HostController<RdmaHostQueue, RdmaCompletion, RdmaIoOptions> {
  private constructor(private readonly opts: RdmaConnectOptions) {
    const timeoutMs = opts.timeoutMs ?? 5000;
    super(opts, { kato: opts.kato ?? 0, cattr: 0, connectTimeoutMs: timeoutMs, commandTimeoutMs: timeoutMs });
  }

  static async connect(opts: RdmaConnectOptions): Promise<RdmaController> {
    const c = new RdmaController(opts);
    await c.start();
    return c;
  }

  protected openQueue(): Promise<RdmaHostQueue> {
    return RdmaHostQueue.open(this.opts);
  }

  protected ioCommand(cmd: QueueCommand, write: boolean, o: RdmaIoOptions | undefined): QueueCommand {
    if (!write) return cmd;
    const c: RdmaHostCommand = { ...cmd, inCapsule: o?.inCapsule === true };
    return c;
  }

  /** A buffer in a SharedArrayBuffer: the target's copy engine can move it on a worker thread. */
  allocBuffer(bytes: number): Uint8Array {
    return new Uint8Array(new SharedArrayBuffer(bytes));
  }

  protected override allocReadBuffer(bytes: number): Uint8Array {
    return this.allocBuffer(bytes);
  }

  /** Raw command on queue `qid` (0 = admin); returns the completion whatever its status. */
  submit(qid: number, cmd: RdmaHostCommand): Promise<RdmaCompletion> {
    const q = qid === 0 ? this.admin : this.ioQueues[qid - 1];
    if (q === undefined) return Promise.reject(new RangeError(`no queue ${qid}`));
    return q.submit(cmd);
  }
}
