/**
 * Internal: one accepted submission, its descriptors normalized to (backing buffer,
 * absolute offset) pairs, and where it is in its life.
 */

import type { DmaError } from './errors.js';
import type { HazardEntry, HazardOwner } from './hazard-index.js';
import type { MemoryOwner } from './region.js';

export const enum SubState {
  /** Waiting for earlier conflicting submissions to land. */
  Blocked,
  /** Handed to a ring (published or in its backlog). */
  Queued,
  /** Bytes in place (its promise may still wait for pacing). */
  Landed,
  Aborted,
}

export class Submission implements HazardOwner {
  state = SubState.Blocked;
  count = 0;
  bytes = 0;
  /** Runs on a worker ring (else inline on the main thread). */
  worker = false;
  /** Per descriptor: src buffer, dst buffer. */
  bufs: ArrayBufferLike[] = [];
  /** Per descriptor: src owner, dst owner. */
  owners: MemoryOwner[] = [];
  /** Per descriptor: src offset, dst offset, length (offsets absolute in the buffers). */
  nums: number[] = [];
  /** Its ranges in the engine's hazard index while outstanding. */
  entries: HazardEntry<Submission>[] = [];
  mark = 0;
  /** Earlier conflicting submissions not yet landed. */
  waits = 0;
  dependents: Submission[] | null = null;
  /** Index in the engine's outstanding list, -1 when not outstanding. */
  slot = -1;
  /** Descriptors written to the ring so far, and the ring sequence number of the last one. */
  published = 0;
  endSeq = 0;
  /** Pacing deadline (performance.now() ms), 0 = none. */
  deadline = 0;
  resolve: () => void = noop;
  reject: (e: DmaError) => void = noop;
}

function noop(): void {}
