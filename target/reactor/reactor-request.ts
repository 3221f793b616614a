/**
 * One command slot of a connection served by a reactor thread (the reactor's
 * `nvmet_req`). It either runs locally — a Read or Write that passes every check the
 * main thread's dispatch would make (target/cmd/dispatch.ts, cmd/io/read-write.ts,
 * cmd/io/lba-range.ts, core/queue.ts) against a namespace the connection's view
 * lists — or is forwarded: the main thread's core parses and runs it as it would any
 * command, so everything else (Connect, admin, fabrics, authentication, reservations,
 * errors and their log entries, namespaces without shared media) keeps one
 * implementation. A local command that would fail any check is forwarded too: the
 * main thread then produces the exact status and Error Information entry.
 *
 * A forwarded command's direction and length come from the command itself as Linux
 * nvmet-tcp takes them before parsing (nvme_is_write: opcode bit 0, FCTYPE bit 0 for
 * fabrics; the SGL's length), and the main thread's parse checks the SGL length
 * against what the command implies (nvmet_check_transfer_len), as it always does.
 *
 *   free ──init──▶ local ──execute──▶ completed ──release──▶ free
 *              └─▶ forward ──execute──▶ sent ──resp──▶ completed ──release──▶ free
 */

import { DataDir } from '../core/fabrics-ops.js';
import type { TransportRequest, WireFaultParams } from '../core/fabrics-ops.js';
import { IoOpcode, FABRICS_OPCODE } from '../../src/nvme/opcodes.js';
import { Psdt, SqeOff, copySqe, sqeBlockCount, sqeCid, sqeFctype, sqeFuse, sqeNsid, sqeOpcode, sqePsdt, sqeSlba } from '../../src/nvme/sqe.js';
import { sglLength } from '../../src/nvme/sgl.js';
import { wr16, wr32 } from '../../src/nvme/le.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import type { ReactorQueue, LocalNs } from './reactor-queue.js';

const EMPTY = new Uint8Array(0);

const enum Mode {
  Free,
  Local,
  Forward,
}

export class ReactorRequest<Owner = unknown> implements TransportRequest<Owner> {
  readonly sqe = new Uint8Array(64);
  private readonly sqeView = new DataView(this.sqe.buffer);
  readonly cqe = new Uint8Array(16);
  cid = 0;
  dataDir: DataDir = DataDir.None;
  transferLen = 0;
  data: Uint8Array | null = null;
  status = 0;
  readonly wireFault = 0;
  readonly wireFaultParams: WireFaultParams | null = null;

  private mode = Mode.Free;
  private ns: LocalNs | null = null;
  /** Media byte offset of a local command. */
  private offset = 0;
  /** Forwarded and not yet answered by the main thread. */
  private sent = false;
  /** The main thread holds a request for this slot (released by our `release` message). */
  private mainHolds = false;
  private executing = false;
  private done = false;
  private released = false;
  private startedAt = 0;
  /** The staging buffer of the last command, kept for the next one of the same length. */
  private own: Uint8Array | null = null;

  constructor(
    readonly queue: ReactorQueue,
    readonly owner: Owner,
    readonly slot: number,
  ) {}

  init(sqe: Uint8Array, offset = 0): boolean {
    if (this.mode !== Mode.Free) throw new Error(`reactor qid ${this.queue.qid} slot ${this.slot}: request initialized again before release`);
    if (offset < 0 || offset + 64 > sqe.length) throw new RangeError(`SQE at ${offset} does not fit a ${sqe.length}-byte buffer`);
    copySqe(this.sqeView, sqe, offset);
    const c = this.cqe;
    for (let i = 0; i < 16; i++) c[i] = 0;
    this.cid = sqeCid(this.sqe);
    this.status = 0;
    this.data = null;
    this.executing = false;
    this.done = false;
    this.released = false;
    this.sent = false;
    this.ns = null;
    if (this.parseLocal()) {
      this.mode = Mode.Local;
      this.startedAt = this.queue.ctx.observing ? performance.now() : 0;
    } else {
      this.mode = Mode.Forward;
      this.parseForward();
    }
    return true;
  }

  /** The checks a successful Read/Write passes on the main thread, against this connection's view. */
  private parseLocal(): boolean {
    const s = this.sqe;
    const op = sqeOpcode(s);
    if (op !== IoOpcode.Read && op !== IoOpcode.Write) return false;
    const view = this.queue.currentView();
    if (view === null) return false;
    if (sqeFuse(s) !== 0 || sqePsdt(s) !== Psdt.SglMetaBuf) return false;
    const ns = view.ns(sqeNsid(s));
    if (ns === null) return false;
    const slba = sqeSlba(s);
    const nlb = sqeBlockCount(s);
    if (slba >= ns.nsze || nlb > ns.nsze - slba) return false;
    const len = nlb * ns.blockSize;
    if (view.mdts !== 0 && len > view.mdts) return false;
    if (sglLength(s, SqeOff.Dptr) !== len) return false;
    this.ns = ns;
    this.offset = slba * ns.blockSize;
    this.transferLen = len;
    this.dataDir = op === IoOpcode.Read ? DataDir.C2H : DataDir.H2C;
    return true;
  }

  /** Direction and length as nvmet-tcp takes them before the core parses the command. */
  private parseForward(): void {
    const s = this.sqe;
    const op = sqeOpcode(s);
    const bits = (op === FABRICS_OPCODE ? sqeFctype(s) : op) & 3;
    const len = sglLength(s, SqeOff.Dptr);
    const max = this.queue.ctx.maxTransfer;
    // Bidirectional (11b) has no NVM or admin command; beyond MDTS nothing is staged: the core refuses it.
    if ((bits === 1 || bits === 2) && len > 0 && (max === 0 || len <= max)) {
      this.dataDir = bits === 1 ? DataDir.H2C : DataDir.C2H;
      this.transferLen = len;
    } else {
      this.dataDir = DataDir.None;
      this.transferLen = 0;
    }
  }

  allocData(): void {
    if (this.data !== null || this.mode === Mode.Free) return;
    const n = this.transferLen;
    if (n === 0) {
      this.data = EMPTY;
      return;
    }
    const own = this.own;
    if (own !== null && own.length === n) {
      this.data = own;
      return;
    }
    this.data = this.queue.ctx.buffers.take(n);
  }

  dataMoved(bytes: number, digest = false): void {
    if (bytes > 0) this.queue.nicMoved(bytes, this.dataDir, digest);
  }

  execute(): void {
    if (this.done || this.executing || this.mode === Mode.Free) return;
    this.executing = true;
    if (this.data === null) this.allocData();
    if (this.mode === Mode.Local) {
      // The view may have gone stale while write data arrived: the main thread decides then.
      if (this.queue.currentView() !== null) {
        this.runLocal();
        return;
      }
      this.mode = Mode.Forward;
    }
    this.forward();
  }

  private runLocal(): void {
    const ns = this.ns!;
    const data = this.data!;
    const len = this.transferLen;
    const ctx = this.queue.ctx;
    try {
      if (this.dataDir === DataDir.C2H) {
        ns.read(this.offset, data, ctx.dma);
        ctx.countRead(ns.key, len);
      } else {
        ns.write(this.offset, data, ctx.dma);
        ctx.countWrite(ns.key, len);
      }
    } catch (e) {
      ctx.log('error', `reactor nsid ${ns.nsid}: local ${this.dataDir === DataDir.C2H ? 'read' : 'write'} failed: ${String(e)}`);
      this.finish(NvmeStatus.InternalError | STATUS_DNR, null);
      return;
    }
    this.queue.noteLocal();
    this.finish(0, null);
  }

  private forward(): void {
    this.sent = true;
    this.mainHolds = true;
    const d = this.dataDir === DataDir.H2C && this.transferLen > 0 ? this.data!.slice(0, this.transferLen) : null;
    this.queue.forward(this, d);
  }

  /** The main thread's answer to a forwarded command. */
  answered(cqe: Uint8Array, status: number, data: Uint8Array | null): void {
    if (!this.sent || this.done) return;
    this.sent = false;
    if (data !== null && this.data !== null && this.dataDir === DataDir.C2H) this.data.set(data.length <= this.data.length ? data : data.subarray(0, this.data.length));
    this.finish(status, cqe);
  }

  completeWithStatus(status: number): void {
    if (this.done || this.mode === Mode.Free) return;
    this.finish(status & 0x7fff, null);
  }

  /** Fill the CQE: the main thread's (result dwords, status) when forwarded; the SQ head is this queue's. */
  private finish(status: number, fromMain: Uint8Array | null): void {
    this.done = true;
    const c = this.cqe;
    if (fromMain !== null) c.set(fromMain.subarray(0, 8));
    else {
      wr32(c, 0, 0);
      wr32(c, 4, 0);
    }
    this.status = status;
    const q = this.queue;
    wr16(c, 8, q.advanceSqhd());
    wr16(c, 10, q.qid < 0 ? 0 : q.qid);
    wr16(c, 12, this.cid);
    wr16(c, 14, status << 1);
    if (this.released) this.recycle();
    else if (q.live) q.transport.queueResponse(this);
  }

  release(): void {
    if (this.mode === Mode.Free || this.released) {
      this.queue.ctx.log('error', `reactor qid ${this.queue.qid} slot ${this.slot}: request released twice`);
      return;
    }
    this.released = true;
    if (this.mainHolds) {
      this.mainHolds = false;
      this.queue.releaseOnMain(this.slot);
    }
    // A forwarded command whose connection died: the main thread sends nothing once it has our release.
    if (this.sent) {
      this.sent = false;
      this.done = true;
    }
    if (!this.executing || this.done) this.recycle();
  }

  private recycle(): void {
    if (this.mode === Mode.Local && this.startedAt !== 0 && this.status === 0) {
      this.queue.ctx.observe(this.dataDir === DataDir.C2H, this.transferLen, performance.now() - this.startedAt);
    }
    const d = this.data;
    if (d !== null && d.length !== 0 && d !== this.own) {
      // Small buffers stay with the slot (the 4 KiB I/O path allocates nothing); larger ones go back.
      if (d.length <= 16384) {
        if (this.own !== null) this.queue.ctx.buffers.give(this.own);
        this.own = d;
      } else this.queue.ctx.buffers.give(d);
    }
    this.data = null;
    this.ns = null;
    this.mode = Mode.Free;
  }

  /** The connection is gone for good: return the kept buffer. */
  dispose(): void {
    if (this.own !== null) {
      this.queue.ctx.buffers.give(this.own);
      this.own = null;
    }
  }
}

