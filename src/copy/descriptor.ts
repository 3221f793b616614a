/**
 * A DMA descriptor: move `length` bytes from `src` to `dst`.
 *
 * Offsets are relative to the regions, so a request can keep one region for its
 * whole staging buffer and issue one descriptor per chunk as it arrives.
 */

import type { MemoryRegion } from './region.js';

export interface DmaDescriptor {
  readonly src: MemoryRegion;
  readonly dst: MemoryRegion;
  /** Bytes to move; must fit in both regions after their offsets. 0 is allowed (a no-op that is still ordered). */
  readonly length: number;
  /** Where in `src` to start (default 0). */
  readonly srcOffset?: number;
  /** Where in `dst` to start (default 0). */
  readonly dstOffset?: number;
}
