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
  readonly segments: readonly SharedArrayBuffer[];
}

export class SharedMedia {
  /** Media size in bytes. */
  readonly size: number;
  /** The segments, in media order: segment i holds bytes [i * SEGMENT_BYTES, +segmentBytes(i)). */
  readonly segments: readonly SharedArrayBuffer[];

  /** Whether media of `size` bytes is held shared (a positive integer ≤ {@link SHARED_MEDIA_MAX}). */
  static fits(size: number): boolean {
    return Number.isSafeInteger(size) && size > 0 && size <= SHARED_MEDIA_MAX;
  }

  /** How many segments media of `size` bytes has. */
  static segmentCount(size: number): number {
    return Math.ceil(size / SEGMENT_BYTES);
  }

  /** The media on another thread (or this one) from a {@link handle}: the same bytes, nothing allocated. */
  static fromHandle(h: SharedMediaHandle): SharedMedia {
    if (h === null || typeof h !== 'object' || !Array.isArray(h.segments)) throw new TypeError('shared media handle must be { size, segments }');
    return new SharedMedia(h.size, h.segments);
  }

  /**
   * Media of `size` zeroed bytes (see the module comment for why allocating all of it
   * up front is cheap). `segments` is {@link fromHandle}'s: adopt existing segments
   * instead of allocating; they must be exactly the layout `size` has.
   */
  constructor(size: number, segments?: readonly SharedArrayBuffer[]) {
    if (!SharedMedia.fits(size)) throw new RangeError(`shared media size must be an integer in 1..${SHARED_MEDIA_MAX}, got ${size}`);
    const n = SharedMedia.segmentCount(size);
    this.size = size;
    if (segments === undefined) {
      const segs: SharedArrayBuffer[] = [];
      for (let i = 0; i < n; i++) segs.push(new SharedArrayBuffer(this.segmentBytes(i)));
      this.segments = segs;
      return;
    }
    if (segments.length !== n) throw new RangeError(`shared media of ${size} bytes has ${n} segments, got ${segments.length}`);
    for (let i = 0; i < n; i++) {
      const s = segments[i];
      if (!(s instanceof SharedArrayBuffer)) throw new TypeError(`shared media segment ${i} is not a SharedArrayBuffer`);
      if (s.byteLength !== this.segmentBytes(i)) throw new RangeError(`shared media segment ${i} has ${s.byteLength} bytes, expected ${this.segmentBytes(i)}`);
    }
    this.segments = segments.slice();
  }

  /** For a postMessage to another thread (see {@link SharedMediaHandle}). */
  handle(): SharedMediaHandle {
    return { size: this.size, segments: this.segments.slice() };
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
