/**
 * The SSD model behind a namespace: its media, and the DMA that moves data between
 * a command's staging buffer and that media (nvme-pci's half of the p2pdma path).
 *
 *  - RAM media: sparse chunks (DmaEngine.allocMemory: shared only when copy workers
 *    may touch them) owned by the SSD's BDF (or "dram" for
 *    a namespace not behind a PCI device). Reads and writes are DMA descriptors
 *    {staging region, media chunk, length} submitted to the copy engine as one
 *    submission per command, so large transfers run on worker threads, the link
 *    accounting sees every byte on every link it crosses, and the engine's ordering
 *    keeps concurrent commands on the same bytes in submission order. A write's
 *    promise resolves only once its data is on the media.
 *  - File media: the bytes move with positioned file I/O straight into/out of the
 *    staging buffer; the SSD DMA is accounted (the copy itself is the kernel's).
 *
 * Unwritten RAM ranges read as zeroes: the SSD "DMAs" from a shared zero chunk, so the
 * read is still one accounted DMA per chunk, and no media is allocated for it. (Storing
 * zeroes with fill(0) instead was measured 3-5x slower: V8 fills SharedArrayBuffer-backed
 * arrays byte by byte; the copy from the shared zero chunk is a word-wise memcpy.)
 *
 * Shared RAM media (`shared: true`, for reactors: worker threads that execute reads and
 * writes themselves): the media is one dense {@link SharedMedia} (SharedArrayBuffer
 * segments another thread is handed with `sharedMedia.handle()`), and the chunk table is
 * filled at construction with one region per chunk, each a view of that chunk's bytes
 * in its segment. Every chunk exists, so reads and writes take the same "chunk present"
 * branches as written private media, with no extra work; unwritten bytes read as zero
 * because the allocation is zeroed. Zeroing (Write Zeroes, deallocate) never drops a
 * chunk from the table — other threads keep views of the same bytes — but overwrites it,
 * and only if it may hold data: a write sets its chunks' flags in the media's written
 * flags (SharedMedia.written, shared with the other threads' writers), and zeroing skips
 * a whole chunk whose flag is 0 — so discarding never-written space commits no memory
 * (SharedMedia's module comment has the numbers).
 * Namespaces too large for shared media (SharedMedia.fits), or whose chunk table would
 * not be dense (more than DENSE_MAX chunks), keep the sparse private media.
 */

import type { MaybePromise, NamespaceBackend } from '../backend/backend.js';
import { FileBackend } from '../backend/file.js';
import type { BackingFileOpener } from '../backend/path-policy.js';
import type { DmaEngine } from '../../src/copy/dma-engine.js';
import type { LinkAccounting } from '../../src/copy/link-accounting.js';
import { DRAM, regionView, type MemoryOwner, type MemoryRegion } from '../../src/copy/region.js';
import type { NamespacePlacement } from './placement.js';
import { DENSE_MAX, MediaChunks } from './media-chunks.js';
import { SEGMENT_BYTES, SharedMedia } from './shared-media.js';

/** Media chunk of the RAM model: large enough that a 128 KiB I/O is one or two descriptors. */
export const MEDIA_CHUNK = 128 * 1024;

/** Reads up to this size are touched ahead (prefetch). */
const PREFETCH_MAX = 16 * 1024;
/** Where touched bytes go, so the loads are not optimized away. */
let prefetchSink = 0;

export interface MediaDmaContext {
  readonly engine: DmaEngine;
  readonly accounting: LinkAccounting;
  /** The region behind a staging buffer's bytes (see P2pStagingAllocator.regionOf). */
  regionOf(bytes: Uint8Array): MemoryRegion;
  /**
   * Throws a retryable BackendStatusError when the staging buffer behind `bytes` was
   * revoked (its provider's MMIO invalidated by move_notify).
   */
  checkMapped(bytes: Uint8Array): void;
}

interface ScratchDescriptor {
  src: MemoryRegion;
  dst: MemoryRegion;
  length: number;
  srcOffset: number;
  dstOffset: number;
}

export type DeviceMediaSpec =
  | {
      kind: 'ram';
      size: number;
      chunkSize?: number;
      /**
       * Media in shared memory other threads can be handed (DeviceBackend.sharedMedia);
       * ignored — sparse private media — when {@link sharedMediaFits} says no.
       */
      shared?: boolean;
    }
  | { kind: 'file'; path: string; size?: number; open?: BackingFileOpener };

/**
 * Whether RAM media of `size` bytes in `chunkSize` chunks can be held as
 * {@link SharedMedia}: the size fits, a chunk never straddles segments (the chunk size
 * divides SEGMENT_BYTES), and the chunk table stays a dense array (≤ DENSE_MAX chunks:
 * at 128 KiB chunks that is 128 GiB, more than SHARED_MEDIA_MAX).
 */
export function sharedMediaFits(size: number, chunkSize: number = MEDIA_CHUNK): boolean {
  return SharedMedia.fits(size) && chunkSize > 0 && SEGMENT_BYTES % chunkSize === 0 && Math.ceil(size / chunkSize) <= DENSE_MAX;
}

export class DeviceBackend implements NamespaceBackend {
  readonly kind: 'ram' | 'file';
  readonly deallocatedReadsZeroes: boolean;
  /** Who owns the media in the DMA model: the SSD's BDF, or "dram" without a device. */
  readonly owner: MemoryOwner;
  private readonly chunks: MediaChunks<MemoryRegion>;
  private readonly chunkSize: number;
  private zero: MemoryRegion | null = null;
  /** Descriptors reused by every read and write (one per media chunk the I/O touches). */
  private readonly descs: ScratchDescriptor[] = [];
  private readonly file: FileBackend | null;
  private readonly ramSize: number;
  /** Shared RAM media mode (see the module comment). */
  private readonly shared: boolean;
  /** The shared media while open (shared mode only). */
  private media: SharedMedia | null = null;
  /** Its written flags (media.written) while open; null otherwise. */
  private flags: Int32Array | null = null;

  constructor(
    spec: DeviceMediaSpec,
    readonly placement: NamespacePlacement,
    private readonly ctx: MediaDmaContext,
  ) {
    this.kind = spec.kind;
    this.owner = placement.device?.bdf ?? DRAM;
    if (spec.kind === 'ram') {
      if (!Number.isSafeInteger(spec.size) || spec.size <= 0) throw new RangeError(`RAM namespace size must be a positive integer, got ${spec.size}`);
      const cs = spec.chunkSize ?? MEDIA_CHUNK;
      if (cs < 4096 || (cs & (cs - 1)) !== 0) throw new RangeError(`media chunk size must be a power of two ≥ 4096, got ${cs}`);
      this.chunkSize = cs;
      this.ramSize = spec.size;
      this.chunks = new MediaChunks(Math.ceil(spec.size / cs));
      this.file = null;
      this.deallocatedReadsZeroes = true;
      this.shared = spec.shared === true && sharedMediaFits(spec.size, cs);
      if (this.shared) this.fillShared();
    } else {
      this.chunkSize = 0;
      this.ramSize = 0;
      this.shared = false;
      this.chunks = new MediaChunks(0);
      this.file = new FileBackend(spec.path, spec.size, spec.open);
      this.deallocatedReadsZeroes = this.file.deallocatedReadsZeroes;
    }
  }

  get size(): number {
    return this.file !== null ? this.file.size : this.ramSize;
  }

  /** The SSD's BDF, or null when the namespace is not behind a PCI device. */
  get device(): string | null {
    return this.placement.device?.bdf ?? null;
  }

  /**
   * The shared media while open, for handing to other threads (its `handle()`); null for
   * private media (not asked for, or too large for shared media: see sharedMediaFits)
   * and for file media. A reopened namespace has new media: fetch it again after enable.
   */
  get sharedMedia(): SharedMedia | null {
    return this.media;
  }

  /** RAM media chunk size in bytes (0 for file media). */
  get chunkBytes(): number {
    return this.chunkSize;
  }

  async open(): Promise<void> {
    if (this.file !== null) await this.file.open();
    // Reopened after close(): fresh zeroed media, the table dense again.
    else if (this.shared && this.media === null) this.fillShared();
  }

  async close(): Promise<void> {
    // Like the core's RAM backend, a RAM namespace's data does not outlive its enablement.
    // Shared media is dropped the same way: threads still holding the old SharedMedia keep
    // valid memory (it lives while referenced), which no one reads again — the namespace,
    // when reopened, gets new media.
    this.chunks.clear();
    this.media = null;
    this.flags = null;
    if (this.file !== null) await this.file.close();
  }

  /**
   * Touch the first byte of every 4 KiB page of a small read: called for each read of a
   * batch before any of them copies, so their cache and TLB misses are outstanding
   * together instead of one after another (each copy of a cold 4 KiB block from RAM media
   * was ~27 % of a 4 KiB read's CPU, bench/README.md "Session 8"). Measured side by side:
   * 4 KiB random read 1.05-1.07 x, 4 connections 1.03-1.04 x; a touch every 1 KiB
   * instead measured 0.96 x (more stalled loads), batching without the touches 1.01 x.
   */
  prefetch(offset: number, length: number): void {
    if (this.file !== null || length > PREFETCH_MAX) return;
    const cs = this.chunkSize;
    const end = offset + length;
    let s = prefetchSink;
    for (let pos = offset; pos < end; pos += 4096) {
      const idx = Math.floor(pos / cs);
      const c = this.chunks.get(idx);
      if (c === undefined) continue;
      const m = c.memory;
      // Shared memory has no cheap byte access from here (a view per touch): not touched.
      if (m instanceof Uint8Array) s = (s + m[c.offset + (pos - idx * cs)]!) | 0;
    }
    prefetchSink = s;
  }

  read(offset: number, dst: Uint8Array): MaybePromise {
    this.ctx.checkMapped(dst);
    const staging = this.ctx.regionOf(dst);
    if (this.file !== null) return this.fileRead(offset, dst, staging.owner).then(() => this.ctx.checkMapped(dst));
    const cs = this.chunkSize;
    const idx = Math.floor(offset / cs);
    const inChunk = offset - idx * cs;
    const len = dst.length;
    if (len > 0 && inChunk + len <= cs) {
      // One media chunk (every 4 KiB I/O): one descriptor, no scratch array.
      const c = this.chunks.get(idx);
      const p = c === undefined ? this.ctx.engine.copyNow(this.zeroRegion(), 0, staging, 0, len) : this.ctx.engine.copyNow(c, inChunk, staging, 0, len);
      return this.landed(p, dst);
    }
    const n = this.chunkDescs(offset, len, staging, false);
    return this.landed(this.ctx.engine.submitNow(this.descs, n), dst);
  }

  write(offset: number, src: Uint8Array): MaybePromise {
    this.ctx.checkMapped(src);
    const staging = this.ctx.regionOf(src);
    if (this.file !== null) return this.fileWrite(offset, src, staging.owner).then(() => this.ctx.checkMapped(src));
    const cs = this.chunkSize;
    const idx = Math.floor(offset / cs);
    const inChunk = offset - idx * cs;
    const len = src.length;
    if (len > 0 && inChunk + len <= cs) {
      const c = this.chunks.get(idx) ?? this.allocChunk(idx);
      const f = this.flags;
      if (f !== null) f[idx] = 1;
      return this.landed(this.ctx.engine.copyNow(staging, 0, c, inChunk, len), src, offset);
    }
    const n = this.chunkDescs(offset, len, staging, true);
    return this.landed(this.ctx.engine.submitNow(this.descs, n), src, offset);
  }

  private allocChunk(idx: number): MemoryRegion {
    const cs = this.chunkSize;
    const c: MemoryRegion = { memory: this.ctx.engine.allocMemory(cs), offset: 0, length: cs, owner: this.owner };
    this.chunks.set(idx, c);
    return c;
  }

  /**
   * Fill the scratch descriptors for [offset, +len) of the media against `staging`, one
   * per media chunk touched; returns how many. A write (`toMedia`) allocates the chunks
   * it touches (shared media: sets their written flags); a read of a never-written chunk
   * copies from the shared zero region.
   */
  private chunkDescs(offset: number, len: number, staging: MemoryRegion, toMedia: boolean): number {
    const cs = this.chunkSize;
    const flags = toMedia ? this.flags : null;
    let n = 0;
    for (let done = 0; done < len; n++) {
      const pos = offset + done;
      const idx = Math.floor(pos / cs);
      const inChunk = pos - idx * cs;
      const l = Math.min(cs - inChunk, len - done);
      let c = this.chunks.get(idx);
      if (toMedia) {
        c ??= this.allocChunk(idx);
        if (flags !== null) flags[idx] = 1;
        this.desc(n, staging, c, l, done, inChunk);
      } else if (c === undefined) this.desc(n, this.zeroRegion(), staging, l, 0, done);
      else this.desc(n, c, staging, l, inChunk, done);
      done += l;
    }
    return n;
  }

  /**
   * After the submission: bytes that landed inline complete now (no promise, no
   * microtask — the RAM hot path); a DMA in flight cannot be called back, so the
   * revocation check runs again once it landed. A write passes its media `offset`: a
   * write DMA that was in flight sets its chunks' written flags (shared media) again
   * once it landed, so a zeroing that ran meanwhile (it clears the flags; the host raced
   * its own commands) cannot leave a chunk holding the write's bytes with its flag at 0.
   */
  private landed(p: Promise<void> | undefined, bytes: Uint8Array, offset = -1): MaybePromise {
    // Landed inline: nothing ran since the check before the copy that could deliver a
    // move_notify (only the copy and its accounting), so the buffer is still mapped.
    if (p === undefined) return;
    if (offset < 0) return p.then(() => this.ctx.checkMapped(bytes));
    return p.then(() => {
      this.markWritten(offset, bytes.length);
      this.ctx.checkMapped(bytes);
    });
  }

  /** Set the written flags of the chunks [offset, +length) touches (shared media; else nothing). */
  private markWritten(offset: number, length: number): void {
    const f = this.flags;
    if (f === null || length <= 0) return;
    const cs = this.chunkSize;
    const last = Math.min(Math.floor((offset + length - 1) / cs), f.length - 1);
    for (let idx = Math.floor(offset / cs); idx <= last; idx++) f[idx] = 1;
  }

  /** Fill scratch descriptor `i` (the engine reads them during submitNow only). */
  private desc(i: number, src: MemoryRegion, dst: MemoryRegion, length: number, srcOffset: number, dstOffset: number): void {
    const d = this.descs[i];
    if (d === undefined) {
      this.descs.push({ src, dst, length, srcOffset, dstOffset });
      return;
    }
    d.src = src;
    d.dst = dst;
    d.length = length;
    d.srcOffset = srcOffset;
    d.dstOffset = dstOffset;
  }

  flush(): MaybePromise {
    if (this.file !== null) return this.file.flush();
  }

  writeZeroes(offset: number, length: number): MaybePromise {
    if (this.file !== null) return this.file.writeZeroes(offset, length);
    this.zeroRange(offset, length);
  }

  deallocate(offset: number, length: number): MaybePromise {
    if (this.file !== null) return this.file.deallocate(offset, length);
    this.zeroRange(offset, length);
  }

  /**
   * Bytes held for data. Shared media is dense: its whole size, although the OS commits
   * only the pages someone wrote — which the model cannot know (other threads write too).
   */
  allocatedBytes(): number {
    if (this.file !== null) return this.file.allocatedBytes();
    return this.media !== null ? this.media.size : this.chunks.size * this.chunkSize;
  }

  /** RAM media chunks currently allocated (tests); shared media: every chunk, while open. */
  get chunkCount(): number {
    return this.chunks.size;
  }

  // ------------------------------------------------------------ file media

  private async fileRead(offset: number, dst: Uint8Array, stagingOwner: MemoryOwner): Promise<void> {
    await this.file!.read(offset, dst);
    this.ctx.accounting.record(this.owner, stagingOwner, dst.length);
  }

  private async fileWrite(offset: number, src: Uint8Array, stagingOwner: MemoryOwner): Promise<void> {
    await this.file!.write(offset, src);
    this.ctx.accounting.record(stagingOwner, this.owner, src.length);
  }

  // ------------------------------------------------------------ RAM media

  /** Shared mode: new zeroed SharedMedia, and one region per chunk viewing its bytes. */
  private fillShared(): void {
    const cs = this.chunkSize;
    const m = new SharedMedia(this.ramSize, cs);
    const n = Math.ceil(this.ramSize / cs);
    for (let idx = 0; idx < n; idx++) {
      const base = idx * cs;
      // cs divides SEGMENT_BYTES: the chunk is inside one segment. The last chunk is
      // shorter when the size is not a multiple of cs (no media bytes exist past the end).
      const len = Math.min(cs, this.ramSize - base);
      this.chunks.set(idx, { memory: m.view(base, len), offset: 0, length: len, owner: this.owner });
    }
    this.media = m;
    this.flags = m.written;
  }

  private zeroRegion(): MemoryRegion {
    this.zero ??= { memory: this.ctx.engine.allocMemory(this.chunkSize), offset: 0, length: this.chunkSize, owner: this.owner };
    return this.zero;
  }

  private zeroRange(offset: number, length: number): void {
    const flags = this.flags;
    if (flags !== null) {
      this.zeroShared(offset, length, flags);
      return;
    }
    const cs = this.chunkSize;
    const end = offset + length;
    const first = Math.floor(offset / cs);
    const last = Math.floor((end - 1) / cs);
    const visit = (idx: number, c: MemoryRegion): void => {
      const base = idx * cs;
      const from = Math.max(offset, base) - base;
      const to = Math.min(end, base + cs) - base;
      if (from === 0 && to === cs) this.chunks.delete(idx);
      else regionView(c).subarray(from, to).fill(0);
    };
    // A huge range over a sparse table: visit allocated chunks, not every index.
    if (last - first > this.chunks.size) {
      for (const [idx, c] of this.chunks.inRange(first, last)) visit(idx, c);
      return;
    }
    for (let idx = first; idx <= last; idx++) {
      const c = this.chunks.get(idx);
      if (c !== undefined) visit(idx, c);
    }
  }

  /**
   * zeroRange on shared media: other threads view these bytes, so chunks stay in the
   * table and are overwritten — but only the ones whose written flag says they may hold
   * data (a never-written chunk is still zero, and writing zeroes to it would commit its
   * pages). A whole chunk is overwritten from the zero chunk (a memcpy; see the module
   * comment on fill(0)) and its flag cleared — before the bytes, so a writer on another
   * thread, which sets the flag after its bytes, never leaves data behind a 0 flag (see
   * SharedMedia). A partial chunk is filled with zeroes and keeps its flag.
   */
  private zeroShared(offset: number, length: number, flags: Int32Array): void {
    const cs = this.chunkSize;
    const end = offset + length;
    const last = Math.min(Math.floor((end - 1) / cs), flags.length - 1);
    let zero: Uint8Array | null = null;
    for (let idx = Math.floor(offset / cs); idx <= last; idx++) {
      if (flags[idx] === 0) continue;
      const c = this.chunks.get(idx)!;
      const base = idx * cs;
      const from = Math.max(offset, base) - base;
      const to = Math.min(end, base + c.length) - base;
      const bytes = regionView(c);
      if (from === 0 && to === c.length) {
        Atomics.store(flags, idx, 0);
        zero ??= regionView(this.zeroRegion());
        bytes.set(c.length === zero.length ? zero : zero.subarray(0, c.length));
      } else bytes.subarray(from, to).fill(0);
    }
  }
}
