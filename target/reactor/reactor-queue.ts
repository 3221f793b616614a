/**
 * The core side of one connection served by a reactor thread (a CoreQueue, like
 * core/queue.ts on the main thread): the reactor's TcpQueue talks to it exactly as it
 * would to the main thread's core. It mirrors the main-side queue's qid, size and SQ
 * flow control from every forwarded answer, keeps the SQ head itself (local and
 * forwarded completions interleave on one queue), and holds the connection's view: the
 * namespaces it may run Read/Write on, valid while the state epoch has not moved.
 */

import type { CoreQueue, DataDir, TransportQueue } from '../core/fabrics-ops.js';
import type { NicKind } from '../../src/pci/model.js';
import type { DmaRecorder } from '../../src/copy/dma-recorder.js';
import { DRAM } from '../../src/copy/region.js';
import { accountNicMove } from '../p2p/staging.js';
import { SEGMENT_BYTES } from '../p2p/shared-media.js';
import type { ConnView, FromReactor, NsView, QueueState } from './protocol.js';
import type { BufferPool } from './buffer-pool.js';
import { ReactorRequest } from './reactor-request.js';

/** What the reactor thread gives its queues. */
export interface ReactorContext {
  /** Word 0: the main thread's state epoch (target/core/state-epoch.ts); word 1: I/O latency is observed. */
  readonly epoch: Int32Array;
  /** The transport's MDTS in bytes (0 = none): forwarded commands stage at most this. */
  readonly maxTransfer: number;
  /** Whether I/O latency is observed (the main thread has an I/O observer). */
  readonly observing: boolean;
  readonly buffers: BufferPool;
  readonly dma: DmaRecorder;
  countRead(key: number, bytes: number): void;
  countWrite(key: number, bytes: number): void;
  observe(read: boolean, bytes: number, ms: number): void;
  noteTraffic(q: ReactorQueue): void;
  noteForwarded(): void;
  post(msg: FromReactor, transfer?: ArrayBuffer[]): void;
  log(level: 'error' | 'warn' | 'info' | 'debug', msg: string): void;
}

/** A namespace's shared media as a reactor reads and writes it. */
export class LocalNs {
  readonly blockSize: number;
  private readonly segs: Uint8Array[];
  /** The media's written flags (SharedMedia.written): one per media chunk, shared with every thread. */
  private readonly written: Int32Array;

  constructor(
    private readonly v: NsView,
    readonly chunk: number,
  ) {
    this.blockSize = 2 ** v.shift;
    this.segs = v.media.segments.map((s) => new Uint8Array(s));
    // write() sets one flag per `chunk` piece: the flags must be per `chunk` too (both
    // are the DeviceBackend's chunk size, target/reactor/pool.ts takes them from it).
    if (v.media.chunkSize !== chunk) throw new RangeError(`namespace ${v.nsid}: media chunk ${v.media.chunkSize} != view chunk ${chunk}`);
    this.written = new Int32Array(v.media.written);
  }

  get nsid(): number {
    return this.v.nsid;
  }
  get key(): number {
    return this.v.key;
  }
  get nsze(): number {
    return this.v.nsze;
  }

  /**
   * The SSD's DMA into the staging buffer: the copy, and one DMA record per media
   * chunk it touches, as the SSD model on the main thread submits one descriptor per
   * chunk (target/p2p/device-backend.ts).
   */
  read(offset: number, dst: Uint8Array, dma: DmaRecorder): void {
    const len = dst.length;
    const cs = this.chunk;
    const owner = this.v.owner;
    for (let done = 0; done < len; ) {
      const pos = offset + done;
      const l = Math.min(cs - (pos % cs), len - done);
      const si = Math.floor(pos / SEGMENT_BYTES);
      const at = pos - si * SEGMENT_BYTES;
      const seg = this.segs[si]!;
      dst.set(seg.subarray(at, at + l), done);
      dma.record(owner, DRAM, l);
      done += l;
    }
  }

  write(offset: number, src: Uint8Array, dma: DmaRecorder): void {
    const len = src.length;
    const cs = this.chunk;
    const owner = this.v.owner;
    for (let done = 0; done < len; ) {
      const pos = offset + done;
      const l = Math.min(cs - (pos % cs), len - done);
      const si = Math.floor(pos / SEGMENT_BYTES);
      this.segs[si]!.set(l === len ? src : src.subarray(done, done + l), pos - si * SEGMENT_BYTES);
      // After the bytes: a zeroing main thread clears the flag before it zeroes (SharedMedia).
      this.written[Math.floor(pos / cs)] = 1;
      dma.record(DRAM, owner, l);
      done += l;
    }
  }
}

/** A connection's view, decoded once: namespaces by NSID. */
export class LocalView {
  readonly epoch: number;
  readonly mdts: number;
  private readonly byNsid = new Map<number, LocalNs>();
  private lastNsid = -1;
  private lastNs: LocalNs | null = null;

  constructor(v: ConnView, chunkOf: (n: NsView) => number) {
    this.epoch = v.epoch;
    this.mdts = v.mdts;
    for (const n of v.ns) this.byNsid.set(n.nsid, new LocalNs(n, chunkOf(n)));
  }

  ns(nsid: number): LocalNs | null {
    // A load addresses one namespace after another: skip the Map then.
    if (nsid === this.lastNsid) return this.lastNs;
    const n = this.byNsid.get(nsid) ?? null;
    this.lastNsid = nsid;
    this.lastNs = n;
    return n;
  }
}

export class ReactorQueue implements CoreQueue {
  qid = -1;
  size = 0;
  sqFlowControlDisabled = false;
  live = true;
  /** Ran a command locally since the last stats report (traffic-based keep-alive). */
  traffic = false;
  private sqhd = 0;
  private readonly reqs: ReactorRequest[] = [];
  private view: LocalView | null = null;
  private viewAsked = false;

  constructor(
    readonly ctx: ReactorContext,
    readonly conn: number,
    readonly transport: TransportQueue,
    private readonly nic: string | null,
    private readonly nicKind: NicKind | null,
  ) {}

  allocRequest<Owner>(owner: Owner): ReactorRequest<Owner> {
    const r = new ReactorRequest<Owner>(this, owner, this.reqs.length);
    this.reqs.push(r as ReactorRequest);
    return r;
  }

  destroy(): void {
    if (!this.live) return;
    this.live = false;
    this.view = null;
    this.ctx.post({ t: 'close', conn: this.conn });
    for (const r of this.reqs) r.dispose();
  }

  advanceSqhd(): number {
    if (this.sqFlowControlDisabled) return 0xffff;
    if (this.size !== 0) this.sqhd = (this.sqhd + 1) % this.size;
    return this.sqhd;
  }

  /** The view, if it is still the main thread's current state; else ask for a new one. */
  currentView(): LocalView | null {
    const v = this.view;
    if (v === null) return null;
    if (Atomics.load(this.ctx.epoch, 0) !== v.epoch) {
      this.view = null;
      this.askView();
      return null;
    }
    return v;
  }

  private askView(): void {
    if (this.viewAsked || !this.live || this.qid <= 0) return;
    this.viewAsked = true;
    this.ctx.post({ t: 'view', conn: this.conn });
  }

  installView(v: ConnView): void {
    this.viewAsked = false;
    this.view = v.ok && this.live ? new LocalView(v, (n) => n.chunk) : null;
  }

  /** The main-side queue's state, as of a forwarded answer. */
  applyState(q: QueueState): void {
    this.qid = q.qid;
    this.size = q.size;
    this.sqFlowControlDisabled = q.sqfc;
    if (this.qid > 0 && this.view === null) this.askView();
  }

  answered(slot: number, q: QueueState, cqe: Uint8Array, status: number, data: Uint8Array | null): void {
    this.applyState(q);
    this.reqs[slot]?.answered(cqe, status, data);
  }

  forward(req: ReactorRequest, data: Uint8Array | null): void {
    this.ctx.noteForwarded();
    const sqe = req.sqe.slice();
    this.ctx.post({ t: 'cmd', conn: this.conn, slot: req.slot, sqe, data }, data !== null ? [sqe.buffer, data.buffer as ArrayBuffer] : [sqe.buffer]);
  }

  releaseOnMain(slot: number): void {
    this.ctx.post({ t: 'release', conn: this.conn, slot });
  }

  /** The NIC's DMA of `bytes` between the wire and a staging buffer in system memory. */
  nicMoved(bytes: number, dir: DataDir, digest: boolean): void {
    accountNicMove(this.ctx.dma, this.nic, this.nicKind, DRAM, bytes, dir, digest);
  }

  noteLocal(): void {
    if (!this.traffic) {
      this.traffic = true;
      this.ctx.noteTraffic(this);
    }
  }
}
