/**
 * One host queue pair on the simulated RDMA fabric (Linux nvme_rdma_queue): SENDs
 * capsules, receives CQEs, and exposes each command's data buffer to the controller
 * as a memory region for the command's lifetime (register → Keyed SGL Data Block →
 * deregister at completion, like nvme-rdma's per-I/O memory registration). The
 * target moves the data itself with RDMA READ/WRITE; the host never copies it.
 *
 * Buffers backed by a SharedArrayBuffer (see `allocBuffer`) let the target's copy
 * engine move them on worker threads; other buffers are copied on the main thread.
 */

import { SQE_SIZE, SQE_FLAGS_PSDT_MASK, SQE_FLAGS_PSDT_SHIFT, Psdt } from '../../src/nvme/sqe.js';
import { CQE_SIZE, cqeCid, cqeDw0, cqeDw1, cqeSqhd, cqeStatus } from '../../src/nvme/cqe.js';
import { writeInCapsuleSgl, writeKeyedSgl } from '../../src/nvme/sgl.js';
import { wr16 } from '../../src/nvme/le.js';
import { defaultRdmaFabric, ProtectionDomain, type MemoryRegistration, type QpEndpoint, type RdmaFabric } from '../../src/rdma/fabric.js';
import { TimeoutError, TransportError } from '../errors.js';
import type { FabricsQueue, QueueCommand, QueueCompletion } from '../fabrics-queue.js';

const DPTR = 24;

/** An RDMA completion carries exactly the common CQE fields. */
export type RdmaCompletion = QueueCompletion;

export interface RdmaHostCommand extends QueueCommand {
  /** Send `dataOut` in the capsule (Data Block, Offset) instead of a keyed SGL. */
  inCapsule?: boolean;
  /** Leave the SQE's DPTR as given (tests of bad SGLs). */
  rawDptr?: boolean;
}

interface Pending {
  resolve(c: RdmaCompletion): void;
  reject(e: Error): void;
  mr: MemoryRegistration | null;
  timer: NodeJS.Timeout | null;
}

interface Waiting {
  cmd: RdmaHostCommand;
  resolve(c: RdmaCompletion): void;
  reject(e: Error): void;
}

export interface RdmaQueueOptions {
  traddr: string;
  trsvcid: string;
  fabric?: RdmaFabric;
}

export class RdmaHostQueue implements FabricsQueue<RdmaCompletion> {
  /** Queue id once connected (0 = admin), -1 before. */
  qid = -1;
  /** Called once when the connection ends. */
  onClose: ((err: TransportError) => void) | null = null;
  readonly pd = new ProtectionDomain();
  private ep: QpEndpoint | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly freeCids: number[] = [];
  private readonly waiting: Waiting[] = [];
  private depth = 1;
  private nextCid = 0;
  private closedWith: TransportError | null = null;
  /** Set when a command timeout closed the queue: its commands then fail with TimeoutError. */
  private closedByTimeout = false;

  private constructor(readonly where: string) {}

  static async open(o: RdmaQueueOptions): Promise<RdmaHostQueue> {
    const q = new RdmaHostQueue(`${o.traddr}:${o.trsvcid}`);
    const fabric = o.fabric ?? defaultRdmaFabric;
    let ep: QpEndpoint;
    try {
      ep = await fabric.connect(o.traddr, o.trsvcid, q.pd);
    } catch (e) {
      throw new TransportError('connect', `rdma connect to ${q.where}: ${(e as Error).message}`, { cause: e });
    }
    q.ep = ep;
    ep.onRecv = (m) => q.onCqe(m);
    ep.onClose = (why) => q.die(new TransportError('closed', `rdma queue to ${q.where} closed: ${why}`));
    return q;
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  describe(): string {
    return `rdma ${this.where} qid ${this.qid}`;
  }

  /** Commands in flight. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Commands allowed in flight (SQ size − 1); more wait here. */
  setDepth(n: number): void {
    this.depth = Math.max(1, n);
    this.pump();
  }

  submit(cmd: RdmaHostCommand): Promise<RdmaCompletion> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.waiting.push({ cmd, resolve, reject });
      this.pump();
    });
  }

  /** Drop the connection (in-flight commands fail with a TransportError). */
  close(reason = 'host close'): void {
    this.ep?.close(reason);
    this.die(new TransportError('closed', `rdma queue to ${this.where} closed: ${reason}`));
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.pending.size < this.depth && this.closedWith === null) {
      const w = this.waiting.shift()!;
      try {
        this.send(w);
      } catch (e) {
        w.reject(e as Error);
      }
    }
  }

  private allocCid(): number {
    const c = this.freeCids.pop();
    if (c !== undefined) return c;
    return this.nextCid++;
  }

  private send(w: Waiting): void {
    const { cmd } = w;
    if (cmd.sqe.length < SQE_SIZE) throw new RangeError(`SQE must be ${SQE_SIZE} bytes`);
    const cid = this.allocCid();
    const sqe = cmd.sqe.slice(0, SQE_SIZE);
    wr16(sqe, 2, cid);
    sqe[1] = (sqe[1]! & ~SQE_FLAGS_PSDT_MASK) | (Psdt.SglMetaBuf << SQE_FLAGS_PSDT_SHIFT);
    const data = cmd.dataOut ?? cmd.dataIn ?? null;
    let mr: MemoryRegistration | null = null;
    let msg = sqe;
    if (cmd.rawDptr !== true) {
      if (data === null || data.length === 0) {
        sqe.fill(0, DPTR, DPTR + 16);
      } else if (cmd.inCapsule === true && cmd.dataOut) {
        writeInCapsuleSgl(sqe, data.length, 0, DPTR);
        msg = new Uint8Array(SQE_SIZE + data.length);
        msg.set(sqe);
        msg.set(data, SQE_SIZE);
      } else {
        mr = registerView(this.pd, data);
        writeKeyedSgl(sqe, mr.addr, data.length, mr.rkey, false, DPTR);
      }
    }
    const p: Pending = { resolve: w.resolve, reject: w.reject, mr, timer: null };
    // 0 = no timeout (an AER waits as long as the controller has nothing to report).
    if (cmd.timeoutMs !== undefined && cmd.timeoutMs > 0) {
      const ms = cmd.timeoutMs;
      p.timer = setTimeout(() => {
        this.closedByTimeout = true;
        this.close(`command ${cid} timed out`);
      }, ms);
      p.timer.unref();
      const reject = p.reject;
      // A queue closed by a command timeout fails its commands as timed out (a flag, not the message text).
      p.reject = (e) => reject(e instanceof TransportError && this.closedByTimeout ? new TimeoutError(`rdma command cid ${cid}`, ms) : e);
    }
    this.pending.set(cid, p);
    this.ep!.send(msg);
  }

  private onCqe(m: Uint8Array): void {
    if (m.length < CQE_SIZE) {
      this.close(`${m.length}-byte response`);
      return;
    }
    const cid = cqeCid(m);
    const p = this.pending.get(cid);
    if (p === undefined) {
      this.close(`response for unknown cid ${cid}`);
      return;
    }
    this.pending.delete(cid);
    this.freeCids.push(cid);
    if (p.timer !== null) clearTimeout(p.timer);
    if (p.mr !== null) this.pd.deregisterMr(p.mr);
    p.resolve({ cid, status: cqeStatus(m), dw0: cqeDw0(m), dw1: cqeDw1(m), sqhd: cqeSqhd(m) });
    this.pump();
  }

  private die(err: TransportError): void {
    if (this.closedWith !== null) return;
    this.closedWith = err;
    for (const [, p] of this.pending) {
      if (p.timer !== null) clearTimeout(p.timer);
      // The target may still touch the buffer until its queue is gone; the key dies with the connection.
      if (p.mr !== null) this.pd.deregisterMr(p.mr);
      p.reject(err);
    }
    this.pending.clear();
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.onClose?.(err);
  }
}

/** Register a view as an MR: over its SharedArrayBuffer when it has one (worker-copyable), else the view itself. */
export function registerView(pd: ProtectionDomain, v: Uint8Array): MemoryRegistration {
  if (v.buffer instanceof SharedArrayBuffer) return pd.registerMr(v.buffer, v.byteOffset, v.length);
  return pd.registerMr(v, 0, v.length);
}
