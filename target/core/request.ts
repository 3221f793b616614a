/**
 * One command in flight (Linux struct nvmet_req). A transport allocates one per
 * command slot (`CoreQueue.allocRequest`, like `struct nvmet_tcp_cmd` embedding
 * its `nvmet_req`) and hands each SQE to `init`, which copies it and parses it
 * into an `execute` function plus the data direction and length the command
 * itself implies (nvmet_req_init + the parser the assembler gave the core).
 *
 * Lifetime (explicit, because p2pmem staging must never leak nor be reused
 * while a backend still writes into it):
 *
 *   free ──init──▶ parsed ──execute──▶ executing ──complete──▶ completed
 *                    │                                   │
 *                    └──────────────complete─────────────┘
 *
 * and, independently, the transport calls `release()` exactly once. The staging
 * buffer is freed and the object is free for its next init when it is both released and no
 * longer executing (completed, or never executed).
 */

import { arrivalNow, departureNow } from './latency-clock.js';
import { DataDir } from './fabrics-ops.js';
import type { TransportRequest, WireFaultParams } from './fabrics-ops.js';
import type { StagingBuffer, StagingContext } from './staging.js';
import type { CoreQueueImpl } from './queue.js';
import type { Controller } from './controller.js';
import type { Namespace } from './namespace.js';
import { wr16, wr32, wr64n } from '../../src/nvme/le.js';
import { copySqe, sqeCid, sqeNsid, sqeOpcode } from '../../src/nvme/sqe.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE, statusFromError } from '../../src/nvme/status.js';
import { ioOpName } from './io-observer.js';
import type { CompletionFault } from './fault-hook.js';

/** Marks "no parameter error location" (Linux NVMET_NO_ERROR_LOC). */
export const NO_ERROR_LOC = 0xffff;

/** What a parsed command runs. It must complete the request exactly once (possibly later). */
export type ExecuteFn = (req: Request) => void | Promise<void>;

/**
 * The command-set dispatch of nvmet_req_init, given to Nvmet by its assembler
 * (target/create-nvmet.ts → target/cmd/dispatch.ts): set `executeFn`, the data
 * direction and length; return an NVMe status (0 = accepted).
 */
export type CommandParser = (req: Request) => number;

const EMPTY = new Uint8Array(0);

export class Request<Owner = unknown> implements TransportRequest<Owner>, StagingContext {
  /** Request-owned copy of the SQE: transports may reuse their receive buffer right after init. */
  readonly sqe = new Uint8Array(64);
  private readonly sqeView = new DataView(this.sqe.buffer);
  readonly cqe = new Uint8Array(16);
  cid = 0;
  dataDir: DataDir = DataDir.None;
  transferLen = 0;
  data: Uint8Array | null = null;
  status = 0;

  /** Set by the parser. */
  executeFn: ExecuteFn | null = null;
  /** Namespace the command addresses (I/O commands and some admin ones); holds an in-flight reference. */
  ns: Namespace | null = null;
  /** Byte offset of the bad field for the Error Information log (NO_ERROR_LOC if none). */
  errorLoc = NO_ERROR_LOC;
  /** LBA for the Error Information log. */
  errorLba = 0;
  /** I/O commands: media byte offset and length, as parsed. */
  offset = 0;
  length = 0;
  /** Set by the fault hook (target/fault/) to act on this request's completion; null = none. */
  completionFault: CompletionFault | null = null;
  /** WireFault bits (./fabrics-ops.ts) the transport applies to this response. */
  wireFault = 0;
  /** Parameters of the arrival-time WireFault bits. */
  wireFaultParams: WireFaultParams | null = null;
  /** True while the fault hook holds the completion (delay, never complete). */
  private held = false;
  /** Host key this command is counted under on a namespace with reservations (Linux pc_ref); null if not counted. */
  prHost: string | null = null;
  /** When the command arrived (latency-clock.ts), for the I/O observer (0 = not observed). */
  private startedAt = 0;
  /** Completed while observed: the observer hears of it when the response has left (recycle). */
  private observe = false;

  private staging: StagingBuffer | null = null;
  private inUse = false;
  private executing = false;
  private done = false;
  private released = false;
  /** Disconnect command: tear the queue down once the response is on the wire. */
  disconnectAfterResponse = false;

  constructor(
    readonly queue: CoreQueueImpl,
    readonly owner: Owner,
  ) {}

  // ------------------------------------------------------------ StagingContext

  get qid(): number {
    return this.queue.qid < 0 ? 0 : this.queue.qid;
  }
  get nsid(): number {
    return sqeNsid(this.sqe);
  }
  get cntlid(): number {
    return this.queue.ctrl?.cntlid ?? 0xffff;
  }
  get portId(): number {
    return this.queue.port.id;
  }

  // ------------------------------------------------------------ accessors for handlers

  /** The controller this queue belongs to (parsers only route here once connected). */
  get ctrl(): Controller {
    const c = this.queue.ctrl;
    if (c === null) throw new Error('request has no controller');
    return c;
  }

  get opcode(): number {
    return sqeOpcode(this.sqe);
  }

  /** True once the core has completed this request (queueResponse already called or skipped). */
  get completed(): boolean {
    return this.done;
  }

  /** Set completion dword 0 (dword 1 cleared). */
  setResult(dw0: number): void {
    wr32(this.cqe, 0, dw0);
    wr32(this.cqe, 4, 0);
  }

  /** Set the 64-bit result dw1:dw0 (Property Get of CAP). */
  setResult64(v: bigint): void {
    wr64n(this.cqe, 0, v);
  }

  // ------------------------------------------------------------ queue side

  /** TransportRequest.init: nvmet_req_init. */
  init(sqe: Uint8Array, offset = 0): boolean {
    if (this.inUse) throw new Error(`qid ${this.qid} cid ${this.cid}: request initialized again before release`);
    if (offset < 0 || offset + 64 > sqe.length) throw new RangeError(`SQE at ${offset} does not fit a ${sqe.length}-byte buffer`);
    this.reset(sqe, offset);
    if (!this.queue.startRequest(this)) return false;
    const hook = this.queue.port.nvmet.faultHook;
    if (hook !== null) hook.onArrival(this);
    return true;
  }

  /** Prepare the object for a new SQE. */
  private reset(sqe: Uint8Array, offset: number): void {
    if (offset === 0 && sqe.length === 64) this.sqe.set(sqe);
    else copySqe(this.sqeView, sqe, offset);
    // 16 stores: fill() on a 16-byte array is a call into the runtime, ~1 % of a 4 KiB read's CPU.
    const c = this.cqe;
    for (let i = 0; i < 16; i++) c[i] = 0;
    this.cid = sqeCid(this.sqe);
    this.dataDir = DataDir.None;
    this.transferLen = 0;
    this.data = null;
    this.status = 0;
    this.executeFn = null;
    this.ns = null;
    this.prHost = null;
    this.errorLoc = NO_ERROR_LOC;
    this.errorLba = 0;
    this.offset = 0;
    this.length = 0;
    this.staging = null;
    this.inUse = true;
    this.executing = false;
    this.done = false;
    this.released = false;
    this.disconnectAfterResponse = false;
    this.completionFault = null;
    this.wireFault = 0;
    this.wireFaultParams = null;
    this.held = false;
    this.observe = false;
    this.startedAt = this.queue.qid > 0 && this.queue.ioObserver() !== null ? arrivalNow() : 0;
  }

  // ------------------------------------------------------------ TransportRequest

  allocData(): void {
    if (this.data !== null || !this.inUse) return;
    if (this.transferLen === 0) {
      this.data = EMPTY;
      return;
    }
    this.staging = this.queue.allocator().alloc(this.transferLen, this);
    this.data = this.staging.bytes;
  }

  dataMoved(bytes: number, digest = false): void {
    const st = this.staging;
    if (st !== null && st.dataMoved !== undefined && bytes > 0) st.dataMoved(bytes, this.dataDir, digest);
  }

  prefetch(): void {
    const ns = this.ns;
    if (ns !== null && this.dataDir === DataDir.C2H && this.length !== 0) ns.backend.prefetch?.(this.offset, this.length);
  }

  execute(): void {
    if (this.done || this.executing || !this.inUse) return;
    const fn = this.executeFn;
    if (fn === null) {
      this.complete(NvmeStatus.InternalError | STATUS_DNR);
      return;
    }
    this.executing = true;
    if (this.data === null) this.allocData();
    const hook = this.queue.port.nvmet.faultHook;
    if (hook !== null && hook.beforeExecute(this)) return;
    try {
      const r = fn(this);
      if (r !== undefined) r.then(undefined, this.onExecError);
    } catch (e) {
      this.onExecError(e);
    }
  }

  completeWithStatus(status: number): void {
    this.complete(status);
  }

  release(): void {
    if (!this.inUse || this.released) {
      this.queue.logger().error(`qid ${this.qid} cid ${this.cid}: request released twice`);
      return;
    }
    this.released = true;
    if (this.held) {
      // Held by an injected fault: nobody will complete it for this connection now.
      this.held = false;
      this.completionFault?.cancel(this);
      this.completionFault = null;
      this.abandon();
      return;
    }
    if (!this.executing || this.done) this.recycle();
    // else: the command still runs (backend I/O, held AER); recycle when it completes.
  }

  // ------------------------------------------------------------ completion

  private readonly onExecError = (e: unknown): void => {
    if (this.done) {
      this.queue.logger().error(`qid ${this.qid} cid ${this.cid}: handler failed after completion: ${String(e)}`);
      return;
    }
    const status = statusFromError(e);
    if (status === NvmeStatus.InternalError) {
      this.queue.logger().error(`qid ${this.qid} cid ${this.cid} opcode 0x${this.opcode.toString(16)}: ${String(e)}`);
    }
    this.complete(status === NvmeStatus.InternalError ? status | STATUS_DNR : status);
  };

  /**
   * Complete with `status` (SCT<<8|SC with DNR): fill the CQE (sqhd, sqid, cid,
   * status), record errors in the Error Information log and hand the request to
   * the transport. Later calls are ignored.
   */
  complete(status: number): void {
    if (this.done || !this.inUse) return;
    const fault = this.completionFault;
    if (fault !== null) {
      // Injected fault (target/fault/): it may change the data or hold this completion;
      // the call that ends a hold comes back here with `held` set and goes through.
      if (!this.held && fault.onComplete(this, status)) {
        this.held = true;
        return;
      }
      // Completed while held by someone else (the transport refused a held command's data): the hook forgets it.
      if (this.held) fault.cancel(this);
      this.completionFault = null;
      this.held = false;
    }
    this.done = true;
    const q = this.queue;
    let st = status & 0x7fff;
    if (st !== 0) {
      const ctrl = q.ctrl;
      if (ctrl !== null && this.errorLoc !== NO_ERROR_LOC) {
        ctrl.recordError(this, st);
        st |= STATUS_MORE;
      }
    }
    this.status = st;
    const sqhd = q.advanceSqhd();
    wr16(this.cqe, 8, sqhd);
    wr16(this.cqe, 10, this.qid);
    wr16(this.cqe, 12, this.cid);
    wr16(this.cqe, 14, st << 1);
    // Observed when the response has left (recycle), not here: see latency-clock.ts.
    this.observe = this.startedAt !== 0;
    this.putNamespace();
    if (this.released) {
      // The transport already let go (its connection died): nothing to send.
      this.recycle();
    } else if (q.isLive()) {
      q.transport.queueResponse(this);
    }
    // else: queue torn down by the core; the transport still owes release().
  }

  /**
   * The fault hook holds this request before it runs (an R2T withheld): only
   * `complete()` (Abort) or the transport's release (disconnect) ends it.
   */
  holdForFault(fault: CompletionFault): void {
    this.completionFault = fault;
    this.held = true;
  }

  /** Drop the command without a response (queue torn down under it, e.g. a held AER). */
  abandon(): void {
    if (this.done || !this.inUse) return;
    this.done = true;
    this.putNamespace();
    if (this.released) this.recycle();
  }

  private putNamespace(): void {
    const ns = this.ns;
    if (ns !== null) {
      this.ns = null;
      // Reservations count each host's commands on the namespace (preempt-and-abort waits for them).
      if (this.prHost !== null) {
        ns.pr?.commandDone(this.prHost);
        this.prHost = null;
      }
      ns.put();
    }
  }

  private recycle(): void {
    if (this.observe) {
      this.observe = false;
      this.queue.ioObserver()?.observeIo(ioOpName(this.opcode), this.transferLen, (departureNow() - this.startedAt) / 1000, this.status);
    }
    const disconnect = this.disconnectAfterResponse;
    this.putNamespace();
    const st = this.staging;
    this.staging = null;
    this.data = null;
    this.inUse = false;
    if (st !== null) st.free();
    this.queue.recycle();
    if (disconnect) this.queue.disconnectFromCore('host Disconnect command');
  }
}
