/**
 * Sparse RAM backend: media is a map of fixed-size chunks created on first
 * write. Unwritten ranges read as zeroes, so a 1 GiB namespace costs nothing
 * until written; Write Zeroes and deallocate drop whole chunks they cover.
 */

import type { MaybePromise, NamespaceBackend } from './backend.js';

/** Default chunk: big enough to keep the map small, small enough that 4 KiB writes stay cheap. */
export const RAM_DEFAULT_CHUNK = 64 * 1024;

export class RamBackend implements NamespaceBackend {
  readonly kind = 'ram';
  readonly deallocatedReadsZeroes = true;
  private readonly chunks = new Map<number, Uint8Array>();
  private readonly chunkSize: number;

  constructor(
    readonly size: number,
    chunkSize = RAM_DEFAULT_CHUNK,
  ) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`RAM namespace size must be a positive integer, got ${size}`);
    if (chunkSize < 4096 || (chunkSize & (chunkSize - 1)) !== 0) {
      throw new RangeError(`RAM chunk size must be a power of two ≥ 4096, got ${chunkSize}`);
    }
    this.chunkSize = chunkSize;
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {
    this.chunks.clear();
  }

  read(offset: number, dst: Uint8Array): MaybePromise {
    let done = 0;
    const len = dst.length;
    while (done < len) {
      const pos = offset + done;
      const idx = Math.floor(pos / this.chunkSize);
      const inChunk = pos - idx * this.chunkSize;
      const n = Math.min(this.chunkSize - inChunk, len - done);
      const c = this.chunks.get(idx);
      if (c === undefined) dst.fill(0, done, done + n);
      else dst.set(c.subarray(inChunk, inChunk + n), done);
      done += n;
    }
  }

  write(offset: number, src: Uint8Array): MaybePromise {
    let done = 0;
    const len = src.length;
    while (done < len) {
      const pos = offset + done;
      const idx = Math.floor(pos / this.chunkSize);
      const inChunk = pos - idx * this.chunkSize;
      const n = Math.min(this.chunkSize - inChunk, len - done);
      let c = this.chunks.get(idx);
      if (c === undefined) {
        c = new Uint8Array(this.chunkSize);
        this.chunks.set(idx, c);
      }
      c.set(src.subarray(done, done + n), inChunk);
      done += n;
    }
  }

  flush(): MaybePromise {}

  writeZeroes(offset: number, length: number): MaybePromise {
    this.zeroRange(offset, length);
  }

  deallocate(offset: number, length: number): MaybePromise {
    // Deallocated blocks read as zeroes (DLFEAT): same as zeroing, whole chunks are freed.
    this.zeroRange(offset, length);
  }

  allocatedBytes(): number {
    return this.chunks.size * this.chunkSize;
  }

  /** Number of chunks currently allocated (tests). */
  get chunkCount(): number {
    return this.chunks.size;
  }

  private zeroRange(offset: number, length: number): void {
    const end = offset + length;
    const first = Math.floor(offset / this.chunkSize);
    const last = Math.floor((end - 1) / this.chunkSize);
    // A huge range over a sparse map: visit allocated chunks, not every index.
    if (last - first > this.chunks.size) {
      for (const [idx, c] of this.chunks) if (idx >= first && idx <= last) this.zeroChunkPart(idx, c, offset, end);
      return;
    }
    for (let idx = first; idx <= last; idx++) {
      const c = this.chunks.get(idx);
      if (c !== undefined) this.zeroChunkPart(idx, c, offset, end);
    }
  }

  private zeroChunkPart(idx: number, c: Uint8Array, start: number, end: number): void {
    const base = idx * this.chunkSize;
    const from = Math.max(start, base) - base;
    const to = Math.min(end, base + this.chunkSize) - base;
    if (from === 0 && to === this.chunkSize) {
      this.chunks.delete(idx);
      return;
    }
    c.fill(0, from, to);
  }
}
