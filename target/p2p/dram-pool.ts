/**
 * System-memory staging: buffers owned by "dram", in memory from the copy engine
 * (SharedArrayBuffers when its workers may copy them, plain memory when every copy is
 * inline: DmaEngine.allocMemory), and routed by the link accounting through the root
 * complex like any other DMA. Pooled by power-of-two size class so steady-state I/O
 * allocates no memory; buffers are not zeroed on reuse (every consumer writes the bytes
 * it exposes, as with the core's SystemStagingAllocator).
 *
 * A chunk reallocated at the length of its previous allocation hands out the same view
 * object again, and keeps what its allocator attached to it (`attached`): the 4 KiB
 * I/O path then creates no view and no wrapper per command (a view and two objects per
 * I/O were ~5 % of a 4 KiB read's CPU, bench/README.md "Session 7"). A view reused
 * this way is no more dangerous than the memory reuse the pool exists for: whoever kept
 * a freed view would already share its bytes with the next owner.
 */

import type { DmaMemory } from '../../src/copy/region.js';

/** Where the pool's memory comes from (DmaEngine.allocMemory). */
export type MemorySource = (bytes: number) => DmaMemory;

const sharedMemory: MemorySource = (n) => new SharedArrayBuffer(n);

function viewOf(memory: DmaMemory, len: number): Uint8Array {
  return memory instanceof SharedArrayBuffer ? new Uint8Array(memory, 0, len) : memory.subarray(0, len);
}

/** Smallest pooled class: one page. */
const MIN_CLASS_SHIFT = 12;
/** Largest pooled class; bigger buffers get their own SharedArrayBuffer and are dropped on free. */
const MAX_CLASS_SHIFT = 22;

/** The pool class of a `len`-byte buffer (MAX_CLASS_SHIFT + 1: unpooled). */
function classShift(len: number): number {
  if (len <= 1 << MIN_CLASS_SHIFT) return MIN_CLASS_SHIFT;
  if (len > 1 << MAX_CLASS_SHIFT) return MAX_CLASS_SHIFT + 1;
  return 32 - Math.clz32(len - 1);
}

export class DramChunk<A = unknown> {
  /** The live allocation's bytes (a view of `memory`, `length` long). */
  bytes: Uint8Array;
  live = false;
  /** What the allocating layer built around `bytes` (StagedBuffer), reusable while `bytes` is unchanged. */
  attached: A | null = null;

  constructor(
    readonly memory: DmaMemory,
    /** Size class shift, or -1 for an unpooled buffer. */
    readonly cls: number,
  ) {
    this.bytes = viewOf(memory, memory.byteLength);
  }
}

export class DramPool<A = unknown> {
  private readonly classes: DramChunk<A>[][] = [];
  /** Bytes and buffers currently handed out (leak checks). */
  outstandingBytes = 0;
  outstandingBuffers = 0;
  /** Bytes of memory created so far (pooled or not). */
  createdBytes = 0;

  /** Bytes kept in the pools for reuse. */
  pooledBytes = 0;

  /**
   * @param maxPooledBytes  free chunks kept across all classes; the rest go back to
   *   the garbage collector, so what a burst of (hostile) connections needed is
   *   released when they go.
   */
  constructor(
    private readonly maxPooledPerClass = 256,
    private readonly maxPooledBytes = 64 << 20,
    private readonly memory: MemorySource = sharedMemory,
  ) {
    for (let s = 0; s <= MAX_CLASS_SHIFT; s++) this.classes.push([]);
  }

  alloc(len: number): DramChunk<A> {
    if (!Number.isSafeInteger(len) || len <= 0) throw new RangeError(`staging length ${len} must be a positive integer`);
    const shift = classShift(len);
    let c: DramChunk<A> | undefined;
    if (shift > MAX_CLASS_SHIFT) {
      c = new DramChunk<A>(this.memory(len), -1);
      this.createdBytes += len;
    } else {
      c = this.classes[shift]!.pop();
      if (c !== undefined) {
        this.pooledBytes -= c.memory.byteLength;
      } else {
        c = new DramChunk<A>(this.memory(2 ** shift), shift);
        this.createdBytes += 2 ** shift;
      }
    }
    if (c.bytes.length !== len) {
      c.bytes = viewOf(c.memory, len);
      c.attached = null;
    }
    c.live = true;
    this.outstandingBytes += len;
    this.outstandingBuffers++;
    return c;
  }

  free(c: DramChunk<A>): void {
    if (!c.live) throw new Error('system-memory staging buffer freed twice');
    c.live = false;
    this.outstandingBytes -= c.bytes.length;
    this.outstandingBuffers--;
    if (c.cls >= 0) {
      const pool = this.classes[c.cls]!;
      if (pool.length < this.maxPooledPerClass && this.pooledBytes + c.memory.byteLength <= this.maxPooledBytes) {
        pool.push(c);
        this.pooledBytes += c.memory.byteLength;
      }
    }
  }
}
