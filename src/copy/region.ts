/**
 * Memory regions: the two ends of every DMA.
 *
 * A region is a byte range of some memory plus the PCIe endpoint that owns that
 * memory. The owner is what the link accounting routes on: a device BAR (p2pmem,
 * a CMB) belongs to that device's BDF, host RAM to {@link DRAM}, and an SSD's media
 * to the SSD's BDF.
 *
 * Memory kinds:
 *  - `SharedArrayBuffer`, or a `Uint8Array` view of one: worker threads can copy it.
 *  - any other `Uint8Array` (e.g. a socket chunk in a pooled ArrayBuffer): only the
 *    main thread can see it, so descriptors touching it always run inline. They are
 *    still accounted (the NIC→staging DMA of NVMe/TCP copies from socket chunks).
 */

/** Owner of system memory (host DRAM behind the root complex). */
export const DRAM = 'dram';

/** A PCI BDF such as "0000:03:00.0", or {@link DRAM}. */
export type MemoryOwner = string;

export type DmaMemory = SharedArrayBuffer | Uint8Array;

export interface MemoryRegion {
  readonly memory: DmaMemory;
  /** Start of the region in `memory` (for a Uint8Array: relative to the view, not its buffer). */
  readonly offset: number;
  readonly length: number;
  readonly owner: MemoryOwner;
}

/** Size of the addressable memory in bytes (the view's length for a Uint8Array). */
export function memorySize(memory: DmaMemory): number {
  return memory.byteLength;
}

/** A region covering `length` bytes at `offset` of `memory` (default: all of it). Throws RangeError when it does not fit. */
export function memoryRegion(
  memory: DmaMemory,
  owner: MemoryOwner,
  offset = 0,
  length = memorySize(memory) - offset,
): MemoryRegion {
  checkRange(offset, length, memorySize(memory), 'region');
  return { memory, offset, length, owner };
}

/** A region `length` bytes at `offset` inside `r`. Throws RangeError when it does not fit. */
export function subRegion(r: MemoryRegion, offset: number, length: number): MemoryRegion {
  checkRange(offset, length, r.length, 'sub-region');
  return { memory: r.memory, offset: r.offset + offset, length, owner: r.owner };
}

/** A Uint8Array over the region (shares memory; for filling/verifying on the main thread). */
export function regionView(r: MemoryRegion): Uint8Array {
  const m = r.memory;
  if (m instanceof Uint8Array) return m.subarray(r.offset, r.offset + r.length);
  return new Uint8Array(m, r.offset, r.length);
}

/** Whether worker threads can reach the memory (it is, or is a view of, a SharedArrayBuffer). */
export function isShared(memory: DmaMemory): boolean {
  return memory instanceof SharedArrayBuffer || memory.buffer instanceof SharedArrayBuffer;
}

function checkRange(offset: number, length: number, limit: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > limit) {
    throw new RangeError(`${what} [${offset}, +${length}) does not fit in ${limit} bytes`);
  }
}

