/**
 * Staging buffers of one reactor thread: power-of-two size classes from 4 KiB, each a
 * free list, with at most `cap` bytes kept free in all (the rest is left to the GC), so
 * a burst of large commands does not pin memory after it. What is staged at a time is
 * bounded by the transport's staging budget (target/tcp/budget.ts), as on the main thread.
 */

const MIN_SHIFT = 12;

export class BufferPool {
  private readonly free: ArrayBuffer[][] = [];
  private cached = 0;

  constructor(private readonly cap: number) {}

  /** Bytes held in the free lists. */
  get cachedBytes(): number {
    return this.cached;
  }

  /** A zero-offset view of exactly `n` bytes (n > 0). */
  take(n: number): Uint8Array {
    const c = sizeClass(n);
    const list = this.free[c];
    const b = list !== undefined ? list.pop() : undefined;
    if (b !== undefined) {
      this.cached -= b.byteLength;
      return new Uint8Array(b, 0, n);
    }
    return new Uint8Array(new ArrayBuffer(2 ** c), 0, n);
  }

  /** Return a buffer `take` handed out (any view of it). */
  give(v: Uint8Array): void {
    const b = v.buffer;
    if (!(b instanceof ArrayBuffer)) return;
    const size = b.byteLength;
    const c = Math.log2(size);
    if (!Number.isInteger(c) || c < MIN_SHIFT || this.cached + size > this.cap) return;
    (this.free[c] ??= []).push(b);
    this.cached += size;
  }
}

function sizeClass(n: number): number {
  let c = MIN_SHIFT;
  while (2 ** c < n) c++;
  return c;
}
