/**
 * In-process loop transport (Linux nvme-loop, TRTYPE 254 / ADRFAM intra-host):
 * a real FabricsOps implementation whose "wire" is a function call, so the
 * whole core (Connect, admin, I/O, keep-alive, AEN) runs end to end without
 * sockets. The host side submits 64-byte SQEs (+ H2C data) and gets the
 * 16-byte CQE (+ C2H data) back as a promise.
 *
 * Like nvme-loop it hands each command to the target asynchronously (a
 * microtask), and releases requests only after the response was delivered.
 */

import { DataDir, TrType } from '../core/fabrics-ops.js';
import type {
  CoreQueue,
  CoreQueueFactory,
  FabricsOps,
  PortInfo,
  TransportQueue,
  TransportRequest,
} from '../core/fabrics-ops.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { decodeCqe, type Cqe } from '../../src/nvme/cqe.js';
import { sqeCid } from '../../src/nvme/sqe.js';

/** What a submitted command comes back with. */
export interface LoopCompletion {
  cqe: Cqe;
  /** 15-bit status (with DNR/MORE). */
  status: number;
  dw0: number;
  dw1: number;
  /** C2H data (a copy), present for successful commands that return data. */
  data?: Uint8Array;
}

/** The queue was disconnected before the command completed. */
export class LoopDisconnectedError extends Error {
  override readonly name = 'LoopDisconnectedError';
  constructor(readonly reason: string) {
    super(`loop queue disconnected: ${reason}`);
  }
}

interface Pending {
  resolve: (c: LoopCompletion) => void;
  reject: (e: Error) => void;
  responded: boolean;
}

/** One command slot of a queue (Linux struct nvme_loop_iod, which embeds its nvmet_req). */
class LoopCmd {
  /** The core's request embedded in this slot: allocated once, reused per command. */
  readonly req: TransportRequest<LoopCmd>;
  /** Initialized and not yet released. */
  busy = false;
  constructor(core: CoreQueue) {
    this.req = core.allocRequest(this);
  }
}

interface LoopPort {
  info: PortInfo;
  factory: CoreQueueFactory;
  queues: Set<LoopQueue>;
}

export interface LoopTransportOptions {
  /** Largest data transfer per command (bytes, 0 = unlimited): becomes MDTS. */
  maxTransferSize?: number;
}

let nextQueueId = 1;

/**
 * One queue pair. Target side: implements TransportQueue for the core. Host
 * side: `submit()`.
 */
export class LoopQueue implements TransportQueue<LoopCmd> {
  readonly peer: string;
  readonly localAddr = 'loop';
  private readonly core: CoreQueue;
  private readonly pending = new Map<number, Pending>();
  private readonly cmds: LoopCmd[] = [];
  private readonly freeCmds: LoopCmd[] = [];
  private closed = false;
  private reason = '';
  private readonly disconnectListeners: ((reason: string) => void)[] = [];

  constructor(private readonly port: LoopPort) {
    this.peer = `loop:${nextQueueId++}`;
    this.core = port.factory.createQueue(this);
  }

  /** True until either side disconnected. */
  get connected(): boolean {
    return !this.closed;
  }

  /** Why the queue was disconnected ('' while connected). */
  get disconnectReason(): string {
    return this.reason;
  }

  /** Queue id the core assigned at Connect (-1 before). */
  get qid(): number {
    return this.core.qid;
  }

  /** Commands submitted and not yet answered. */
  get inflight(): number {
    return this.pending.size;
  }

  onDisconnect(fn: (reason: string) => void): void {
    this.disconnectListeners.push(fn);
  }

  /**
   * Host side: submit an SQE (its CID must not be in flight) with the H2C data
   * the command carries. Resolves with the completion, rejects with
   * LoopDisconnectedError if the queue dies first.
   */
  submit(sqe: Uint8Array, data?: Uint8Array): Promise<LoopCompletion> {
    if (sqe.length !== 64) return Promise.reject(new RangeError(`SQE must be 64 bytes, got ${sqe.length}`));
    if (this.closed) return Promise.reject(new LoopDisconnectedError(this.reason));
    const cid = sqeCid(sqe);
    if (this.pending.has(cid)) return Promise.reject(new Error(`cid ${cid} already in flight on ${this.peer}`));
    const copy = sqe.slice();
    const out = data === undefined ? undefined : data.slice();
    return new Promise<LoopCompletion>((resolve, reject) => {
      this.pending.set(cid, { resolve, reject, responded: false });
      queueMicrotask(() => this.run(cid, copy, out));
    });
  }

  /** Host side: drop the connection (like closing the socket). */
  close(reason = 'host closed the queue'): void {
    this.teardown(reason);
  }

  // ------------------------------------------------------------ TransportQueue (target side)

  queueResponse(req: TransportRequest<LoopCmd>): void {
    const cmd = req.owner;
    const p = this.pending.get(req.cid);
    if (p === undefined || p.responded) {
      this.releaseCmd(cmd);
      return;
    }
    p.responded = true;
    this.pending.delete(req.cid);
    const cqe = req.cqe.slice();
    let data: Uint8Array | undefined;
    if (req.dataDir === DataDir.C2H && req.status === 0 && req.transferLen > 0 && req.data !== null) {
      data = req.data.slice(0, req.transferLen);
    }
    const c = decodeCqe(cqe);
    const completion: LoopCompletion = { cqe: c, status: c.status, dw0: c.dw0, dw1: c.dw1 };
    if (data !== undefined) completion.data = data;
    // The response is "on the wire" once delivered: release afterwards, as a socket transport would.
    queueMicrotask(() => this.releaseCmd(cmd));
    p.resolve(completion);
  }

  disconnect(reason: string): void {
    this.teardown(reason);
  }

  // ------------------------------------------------------------ internals

  private run(cid: number, sqe: Uint8Array, data: Uint8Array | undefined): void {
    const p = this.pending.get(cid);
    if (this.closed || p === undefined) return;
    let cmd = this.freeCmds.pop();
    if (cmd === undefined) {
      cmd = new LoopCmd(this.core);
      this.cmds.push(cmd);
    }
    cmd.busy = true;
    const req = cmd.req;
    if (!req.init(sqe)) return; // completed during init (bad command)
    if (req.dataDir === DataDir.H2C && req.transferLen > 0) {
      if (data === undefined || data.length !== req.transferLen) {
        // What a fabric would see as a data length mismatch.
        req.completeWithStatus(NvmeStatus.SglInvalidDataLength | STATUS_DNR);
        return;
      }
      req.allocData();
      req.data!.set(data);
    }
    req.execute();
  }

  private releaseCmd(cmd: LoopCmd): void {
    if (!cmd.busy) return;
    cmd.busy = false;
    if (!this.closed) this.freeCmds.push(cmd);
    cmd.req.release();
  }

  private teardown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.reason = reason;
    this.port.queues.delete(this);
    this.core.destroy();
    for (const cmd of this.cmds) this.releaseCmd(cmd);
    const err = new LoopDisconnectedError(reason);
    for (const p of this.pending.values()) if (!p.responded) p.reject(err);
    this.pending.clear();
    for (const fn of this.disconnectListeners) fn(reason);
  }
}

export class LoopTransport implements FabricsOps {
  readonly trtype = TrType.LOOP;
  private readonly ports = new Map<number, LoopPort>();

  constructor(private readonly opts: LoopTransportOptions = {}) {}

  async addPort(port: PortInfo, core: CoreQueueFactory): Promise<{ trsvcid: string }> {
    if (this.ports.has(port.portId)) throw new Error(`loop port ${port.portId} already added`);
    this.ports.set(port.portId, { info: port, factory: core, queues: new Set() });
    return { trsvcid: port.trsvcid };
  }

  async removePort(portId: number): Promise<void> {
    const p = this.ports.get(portId);
    if (p === undefined) return;
    this.ports.delete(portId);
    for (const q of [...p.queues]) q.disconnect(`port ${portId} removed`);
  }

  maxTransferSize(): number {
    return this.opts.maxTransferSize ?? 0;
  }

  /** Host side: open a new queue pair (a "connection") to an enabled port. */
  connect(portId: number): LoopQueue {
    const p = this.ports.get(portId);
    if (p === undefined) throw new Error(`loop port ${portId} is not enabled`);
    const q = new LoopQueue(p);
    p.queues.add(q);
    return q;
  }

  /** Number of open queues on a port (tests). */
  queueCount(portId: number): number {
    return this.ports.get(portId)?.queues.size ?? 0;
  }
}
