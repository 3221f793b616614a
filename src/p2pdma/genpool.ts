/**
 * A page-granular allocator with Linux genalloc semantics (lib/genalloc.c with the
 * default gen_pool_first_fit algorithm), as p2pdma uses it:
 *
 *  - the pool is a list of chunks; each `add` creates one chunk and puts it at the
 *    HEAD of the list, so later chunks are searched first;
 *  - an allocation of `size` bytes takes ceil(size / granule) contiguous granules from
 *    ONE chunk — the first chunk (in list order) whose first-fit search succeeds, at the
 *    lowest free position in it. Free space split across chunks, or fragmented within
 *    one, does not satisfy a larger request even when the total would;
 *  - `avail` counts free bytes over all chunks (what sysfs p2pmem/available shows),
 *    so it can exceed the largest allocation that would succeed;
 *  - each chunk maps an allocation handle ("virt", here the CPU physical address) to a
 *    "phys" address — p2pdma stores the PCI bus address there (gen_pool_virt_to_phys).
 *
 * Free space is kept as a sorted extent list per chunk instead of a bitmap: first fit
 * over extents picks the same lowest position a bitmap scan would, in O(extents).
 */

export interface PoolChunk<Tag> {
  /** Handle of the first byte (CPU physical address in p2pdma). */
  readonly virt: number;
  /** Address the handle translates to (PCI bus address in p2pdma). */
  readonly phys: number;
  readonly size: number;
  readonly tag: Tag;
}

interface ChunkState<Tag> extends PoolChunk<Tag> {
  readonly granules: number;
  /** Free extents [start, length] in granules, sorted by start, never adjacent. */
  free: number[];
  /** start granule → granule count of each live allocation. */
  readonly live: Map<number, number>;
  avail: number;
}

export interface PoolAllocation<Tag> {
  readonly virt: number;
  readonly phys: number;
  /** Bytes actually reserved (size rounded up to the granule). */
  readonly reserved: number;
  readonly chunk: PoolChunk<Tag>;
}

export class GenPool<Tag = undefined> {
  readonly granule: number;
  private readonly chunks: ChunkState<Tag>[] = [];

  constructor(readonly minAllocOrder: number) {
    this.granule = 2 ** minAllocOrder;
  }

  /** gen_pool_add_virt: a new chunk at the head of the list. */
  add(virt: number, phys: number, size: number, tag: Tag): PoolChunk<Tag> {
    const granules = Math.floor(size / this.granule);
    const chunk: ChunkState<Tag> = {
      virt, phys, size, tag, granules,
      free: granules > 0 ? [0, granules] : [],
      live: new Map(),
      avail: size,
    };
    this.chunks.unshift(chunk);
    return chunk;
  }

  /** gen_pool_alloc: null when no single chunk has a long enough free run (or size is 0). */
  alloc(size: number): PoolAllocation<Tag> | null {
    if (size <= 0) return null;
    const n = Math.ceil(size / this.granule);
    const bytes = n * this.granule;
    for (const c of this.chunks) {
      if (bytes > c.avail) continue;
      const free = c.free;
      for (let i = 0; i < free.length; i += 2) {
        const start = free[i]!;
        const len = free[i + 1]!;
        if (len < n) continue;
        if (len === n) removeExtent(free, i);
        else {
          free[i] = start + n;
          free[i + 1] = len - n;
        }
        c.live.set(start, n);
        c.avail -= bytes;
        const off = start * this.granule;
        return { virt: c.virt + off, phys: c.phys + off, reserved: bytes, chunk: c };
      }
    }
    return null;
  }

  /**
   * gen_pool_free. Returns false — instead of the kernel's BUG — unless `virt` starts a
   * live allocation of the same (granule-rounded) size.
   */
  free(virt: number, size: number): boolean {
    const c = this.stateOf(virt);
    if (!c) return false;
    const off = virt - c.virt;
    if (off % this.granule !== 0) return false;
    const start = off / this.granule;
    const n = c.live.get(start);
    if (n === undefined || n !== Math.ceil(size / this.granule) || size <= 0) return false;
    c.live.delete(start);
    c.avail += n * this.granule;
    insertExtent(c.free, start, n);
    return true;
  }

  /** gen_pool_virt_to_phys: −1 when the address is in no chunk. */
  virtToPhys(virt: number): number {
    const c = this.chunkOf(virt);
    return c ? c.phys + (virt - c.virt) : -1;
  }

  chunkOf(virt: number): PoolChunk<Tag> | undefined {
    return this.stateOf(virt);
  }

  private stateOf(virt: number): ChunkState<Tag> | undefined {
    const chunks = this.chunks;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i]!;
      if (virt >= c.virt && virt < c.virt + c.size) return c;
    }
    return undefined;
  }

  /** Chunks in search order (most recently added first). */
  get chunkList(): readonly PoolChunk<Tag>[] {
    return this.chunks;
  }

  /** gen_pool_size: total bytes of all chunks. */
  get size(): number {
    return this.chunks.reduce((s, c) => s + c.size, 0);
  }

  /** gen_pool_avail: free bytes over all chunks. */
  get avail(): number {
    return this.chunks.reduce((s, c) => s + c.avail, 0);
  }

  /** Number of live allocations. */
  get outstanding(): number {
    return this.chunks.reduce((s, c) => s + c.live.size, 0);
  }

  /** The largest single allocation that would succeed now, in bytes. */
  get largestFree(): number {
    let max = 0;
    for (const c of this.chunks) for (let i = 1; i < c.free.length; i += 2) max = Math.max(max, c.free[i]!);
    return max * this.granule;
  }
}

/*
 * The extent list is edited in place: Array#splice allocates the array of removed
 * elements on every call, and allocation and free run once per staged I/O.
 */

/** Drop the extent at pair index `i`. */
function removeExtent(free: number[], i: number): void {
  const n = free.length;
  for (let j = i + 2; j < n; j++) free[j - 2] = free[j]!;
  free.length = n - 2;
}

/** Return [start, start + len) to a sorted, non-adjacent extent list, coalescing with its neighbours. */
function insertExtent(free: number[], start: number, len: number): void {
  const n = free.length;
  let i = 0;
  while (i < n && free[i]! < start) i += 2;
  const joinsPrev = i >= 2 && free[i - 2]! + free[i - 1]! === start;
  const joinsNext = i < n && start + len === free[i]!;
  if (joinsPrev && joinsNext) {
    free[i - 1]! += len + free[i + 1]!;
    removeExtent(free, i);
  } else if (joinsPrev) {
    free[i - 1]! += len;
  } else if (joinsNext) {
    free[i] = start;
    free[i + 1]! += len;
  } else {
    free.push(0, 0); // grow packed, then shift the tail up one pair
    for (let j = n - 1; j >= i; j--) free[j + 2] = free[j]!;
    free[i] = start;
    free[i + 1] = len;
  }
}
