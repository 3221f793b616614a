/**
 * Command identifier allocation for one queue. A CID is an index into the
 * queue's request slots, so a completion finds its request with one array load.
 * Free slots are kept on a stack: LIFO reuse keeps the hot slots' buffers warm.
 */
export class CidPool {
  readonly size: number;
  private readonly free: Uint16Array;
  private top: number;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 0x10000) throw new RangeError(`CID pool size ${size} out of range`);
    this.size = size;
    this.free = new Uint16Array(size);
    // Lowest CIDs on top so a fresh queue hands out 0, 1, 2, ...
    for (let i = 0; i < size; i++) this.free[i] = size - 1 - i;
    this.top = size;
  }

  /** Number of CIDs currently handed out. */
  get inUse(): number {
    return this.size - this.top;
  }

  get available(): number {
    return this.top;
  }

  /** Take a free CID, or -1 when every slot is outstanding. */
  alloc(): number {
    if (this.top === 0) return -1;
    return this.free[--this.top]!;
  }

  /** Return a CID; the caller guarantees it was allocated and not yet freed. */
  release(cid: number): void {
    this.free[this.top++] = cid;
  }
}
