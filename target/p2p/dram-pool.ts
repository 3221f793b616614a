/**
 * System-memory staging: buffers owned by "dram", in memory from the copy engine
 * (SharedArrayBuffers when its workers may copy them, plain memory when every copy is
 * inline: DmaEngine.allocMemory), and routed by the link accounting through the root
 * complex like any other DMA. Pooled by power-of-two size class so steady-state I/O
 * allocates no memory; buffers are not zeroed on reuse (every consumer writes the bytes
 * it exposes, as with the core's SystemStagingAllocator).
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

export class DramChunk {
  /** The live allocation's bytes (a view of `memory`, `length` long). */
  bytes: Uint8Array;
  live = false;

  constructor(
    readonly memory: DmaMemory,
    /** Size class shift, or -1 for an unpooled buffer. */
    readonly cls: number,
  ) {
    this.bytes = viewOf(memory, memory.byteLength);
  }
}

export class DramPool {
  private readonly classes: DramChunk[][] = [];
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

  alloc(len: number): DramChunk {
    if (!Number.isSafeInteger(len) || len <= 0) throw new RangeError(`staging length ${len} must be a positive integer`);
    let shift = MIN_CLASS_SHIFT;
    while (shift <= MAX_CLASS_SHIFT && 2 ** shift < len) shift++;
    let c: DramChunk | undefined;
    if (shift > MAX_CLASS_SHIFT) {
      c = new DramChunk(this.memory(len), -1);
      this.createdBytes += len;
    } else {
      c = this.classes[shift]!.pop();
      if (c !== undefined) {
        this.pooledBytes -= c.memory.byteLength;
      } else {
        c = new DramChunk(this.memory(2 ** shift), shift);
        this.createdBytes += 2 ** shift;
      }
    }
    // A fresh view per allocation: the view identifies the allocation (see StagingBuffers.regionOf).
    c.bytes = viewOf(c.memory, len);
    c.live = true;
    this.outstandingBytes += len;
    this.outstandingBuffers++;
    return c;
  }

  free(c: DramChunk): void {
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
