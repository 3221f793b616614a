/**
 * Media of a RAM namespace that several threads can address: the namespace's bytes in
 * SharedArrayBuffer segments, so a reactor (a worker thread owning NVMe/TCP
 * connections) handed the segments in a postMessage reads and writes the very bytes the
 * main thread's DeviceBackend reads and writes.
 *
 * Dense: every byte of the namespace is allocated up front, in segments of
 * {@link SEGMENT_BYTES} (the last one shorter when the size is not a multiple). That is
 * affordable because the allocation is zero-initialised by the allocator and not by
 * touching the pages: V8 (through Node's array buffer allocator) allocates a
 * SharedArrayBuffer's backing store with calloc, which for sizes like these maps fresh
 * anonymous pages — pages no one writes are never committed and cost no RSS, and they
 * read as zero. (Measured on Node 20: eight 1 GiB segments, RSS +~0.) A sparse table like
 * the private media's cannot be shared this way: a chunk allocated later on one thread
 * would have to be announced to every other thread before it could be used.
 *
 * Beyond {@link SHARED_MEDIA_MAX} the namespace keeps the sparse private media
 * ({@link SharedMedia.fits}): the page tables and the per-chunk views of a dense
 * multi-terabyte media are not free, and such namespaces are for sparse workloads.
 *
 * Written flags ({@link SharedMedia.written}): one Int32 per media chunk (of the
 * `chunkSize` the media is made with: the DeviceBackend's), in a SharedArrayBuffer of
 * its own that the handle carries to every thread. A flag is 1 once any byte of its
 * chunk may be non-zero. Why: the private media deallocates a chunk by dropping it, but
 * shared chunks cannot be dropped (other threads hold views of them), so zeroing them
 * means writing zeroes — and writing zeroes to pages no one ever wrote commits them. A
 * host discarding a whole namespace (mkfs does) then committed all of it. Measured
 * (Node 20.20, 2 CPUs shared with a CI run; one run each, DeviceBackend.deallocate):
 * deallocating 4 GiB of never-written space on a 64 GiB shared namespace took 17.4 s
 * (mostly page faults in the kernel) and grew RSS by 4108 MiB — the whole 64 GiB would
 * commit 64 GiB and block the event loop 16 times as long. With the flags, zeroing skips a
 * whole chunk whose flag is 0 (it is still zero), and zeroes a flagged one and clears
 * its flag: the same deallocate took 1.1 ms and grew RSS by 0.1 MiB. Partially zeroed
 * chunks keep their flag.
 *
 * Every writer sets the flag of every chunk it writes: DeviceBackend.write on the main
 * thread (again once a write DMA that was in flight landed), LocalNs.write on a reactor
 * (target/reactor/reactor-queue.ts). The writers' hot paths use a plain store. One
 * ordering rule keeps "flag 0 ⇒ the chunk is zero" when a writer on another thread
 * races the zeroing (the host racing its own commands): the writer stores its flag
 * after its bytes, and the zeroing thread clears the flag (Atomics.store) before it
 * zeroes the bytes — a flag left at 0 was cleared after the writer's bytes landed, and
 * the zeroing that followed erased them. (The writer's plain stores are not ordered by
 * the JavaScript memory model; in practice they are on x86, and a weaker machine could
 * at worst leave such a raced chunk non-zero with its flag at 0 until it is written
 * again.)
 */

/** Bytes per SharedArrayBuffer segment (1 GiB). Media chunk sizes must divide it. */
export const SEGMENT_BYTES = 1024 * 1024 * 1024;

/** Largest media held shared (64 GiB); larger namespaces keep the sparse private media. */
export const SHARED_MEDIA_MAX = 64 * SEGMENT_BYTES;

/**
 * What crosses a postMessage to give another thread the media: a plain object and the
 * SharedArrayBuffers (structured-clone safe; the buffers are shared, not copied).
 */
export interface SharedMediaHandle {
  readonly size: number;
  /** Media chunk size in bytes: one written flag per chunk. */
  readonly chunkSize: number;
  readonly segments: readonly SharedArrayBuffer[];
  /** The written flags: one Int32 per chunk ({@link SharedMedia.written}). */
  readonly written: SharedArrayBuffer;
}

export class SharedMedia {
  /** Media size in bytes. */
  readonly size: number;
  /** Media chunk size in bytes (a power of two dividing SEGMENT_BYTES): the unit of {@link written}. */
  readonly chunkSize: number;
  /** The segments, in media order: segment i holds bytes [i * SEGMENT_BYTES, +segmentBytes(i)). */
  readonly segments: readonly SharedArrayBuffer[];
  /**
   * The written flags, shared by every thread: element i is 1 once any byte of chunk i
   * (media bytes [i * chunkSize, +chunkSize)) may be non-zero, 0 while the chunk is known
   * zero. Writers set it (after their bytes), zeroing clears it (before the bytes): see
   * the module comment.
   */
  readonly written: Int32Array;

  /** Whether media of `size` bytes is held shared (a positive integer ≤ {@link SHARED_MEDIA_MAX}). */
  static fits(size: number): boolean {
    return Number.isSafeInteger(size) && size > 0 && size <= SHARED_MEDIA_MAX;
  }

  /** How many segments media of `size` bytes has. */
  static segmentCount(size: number): number {
    return Math.ceil(size / SEGMENT_BYTES);
  }

  /** How many chunks (written flags) media of `size` bytes in `chunkSize` chunks has. */
  static chunkCount(size: number, chunkSize: number): number {
    return Math.ceil(size / chunkSize);
  }

  /** The media on another thread (or this one) from a {@link handle}: the same bytes and flags, nothing allocated. */
  static fromHandle(h: SharedMediaHandle): SharedMedia {
    if (h === null || typeof h !== 'object' || !Array.isArray(h.segments)) throw new TypeError('shared media handle must be { size, chunkSize, segments, written }');
    return new SharedMedia(h.size, h.chunkSize, { segments: h.segments, written: h.written });
  }

  /**
   * Media of `size` zeroed bytes in chunks of `chunkSize` (a power of two dividing
   * SEGMENT_BYTES, so a chunk never straddles segments), every written flag 0 (see the
   * module comment for why allocating all of it up front is cheap). `adopt` is
   * {@link fromHandle}'s: the existing segments and flags instead of new ones; they must
   * be exactly the layout `size` and `chunkSize` have.
   */
  constructor(size: number, chunkSize: number, adopt?: { readonly segments: readonly SharedArrayBuffer[]; readonly written: SharedArrayBuffer }) {
    if (!SharedMedia.fits(size)) throw new RangeError(`shared media size must be an integer in 1..${SHARED_MEDIA_MAX}, got ${size}`);
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || (chunkSize & (chunkSize - 1)) !== 0 || SEGMENT_BYTES % chunkSize !== 0) {
      throw new RangeError(`shared media chunk size must be a power of two dividing ${SEGMENT_BYTES}, got ${chunkSize}`);
    }
    const n = SharedMedia.segmentCount(size);
    const flagBytes = SharedMedia.chunkCount(size, chunkSize) * Int32Array.BYTES_PER_ELEMENT;
    this.size = size;
    this.chunkSize = chunkSize;
    if (adopt === undefined) {
      const segs: SharedArrayBuffer[] = [];
      for (let i = 0; i < n; i++) segs.push(new SharedArrayBuffer(this.segmentBytes(i)));
      this.segments = segs;
      this.written = new Int32Array(new SharedArrayBuffer(flagBytes));
      return;
    }
    const { segments, written } = adopt;
    if (!Array.isArray(segments)) throw new TypeError('shared media segments must be an array of SharedArrayBuffers');
    if (segments.length !== n) throw new RangeError(`shared media of ${size} bytes has ${n} segments, got ${segments.length}`);
    for (let i = 0; i < n; i++) {
      const s = segments[i];
      if (!(s instanceof SharedArrayBuffer)) throw new TypeError(`shared media segment ${i} is not a SharedArrayBuffer`);
      if (s.byteLength !== this.segmentBytes(i)) throw new RangeError(`shared media segment ${i} has ${s.byteLength} bytes, expected ${this.segmentBytes(i)}`);
    }
    if (!(written instanceof SharedArrayBuffer)) throw new TypeError('shared media written flags are not a SharedArrayBuffer');
    if (written.byteLength !== flagBytes) throw new RangeError(`shared media of ${size} bytes in ${chunkSize}-byte chunks has ${flagBytes} bytes of written flags, got ${written.byteLength}`);
    this.segments = segments.slice();
    this.written = new Int32Array(written);
  }

  /** For a postMessage to another thread (see {@link SharedMediaHandle}). */
  handle(): SharedMediaHandle {
    return { size: this.size, chunkSize: this.chunkSize, segments: this.segments.slice(), written: this.written.buffer as SharedArrayBuffer };
  }

  /** Index of the segment holding media byte `offset`. */
  segmentOf(offset: number): number {
    return Math.floor(offset / SEGMENT_BYTES);
  }

  /** Where media byte `offset` lies in its segment. */
  offsetInSegment(offset: number): number {
    return offset - Math.floor(offset / SEGMENT_BYTES) * SEGMENT_BYTES;
  }

  /** Length of segment `i` (SEGMENT_BYTES, except possibly the last). */
  segmentBytes(i: number): number {
    return Math.min(SEGMENT_BYTES, this.size - i * SEGMENT_BYTES);
  }

  /** Whether [offset, +length) is inside the media and inside one segment (what {@link view} accepts). */
  inOneSegment(offset: number, length: number): boolean {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) return false;
    if (length === 0) return true;
    return this.segmentOf(offset) === this.segmentOf(offset + length - 1);
  }

  /**
   * A view of media bytes [offset, +length): the shared memory itself, not a copy.
   * RangeError unless the range is inside the media and inside one segment (a range
   * aligned to a chunk size dividing SEGMENT_BYTES always is).
   */
  view(offset: number, length: number): Uint8Array {
    if (!this.inOneSegment(offset, length)) throw new RangeError(`shared media range [${offset}, +${length}) is not inside one segment of ${this.size}-byte media`);
    // An empty range at the very end lies past the last segment's start: view the last segment's end.
    const seg = length === 0 && offset === this.size ? this.segments.length - 1 : this.segmentOf(offset);
    return new Uint8Array(this.segments[seg]!, offset - seg * SEGMENT_BYTES, length);
  }
}
