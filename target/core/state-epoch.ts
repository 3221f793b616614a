/**
 * A counter that moves whenever target state a command's outcome depends on changes
 * (controller enable/shutdown/failure/deletion, namespace enable/disable/resize/removal,
 * port enable/disable, ANA state). Reactor threads (target/reactor) execute I/O against a
 * copy of that state and compare its epoch with this counter per command: a copy taken
 * before the latest change is never used, its commands go to the owning thread instead
 * (SPDK pauses a subsystem's poll groups around such changes for the same reason).
 *
 * Process-wide on purpose: two targets in one process (tests) only cost each other a
 * refresh, while a change that bumped the wrong counter would let a stale copy run I/O.
 */

let epoch = 0;
const mirrors = new Set<Int32Array>();

/** Something a command's outcome depends on changed. */
export function bumpStateEpoch(): void {
  epoch = (epoch + 1) | 0;
  for (const m of mirrors) Atomics.store(m, 0, epoch);
}

export function stateEpoch(): number {
  return epoch;
}

/** Keep word 0 of `shared` equal to the epoch (for other threads); returns the undo. */
export function mirrorStateEpoch(shared: Int32Array): () => void {
  Atomics.store(shared, 0, epoch);
  mirrors.add(shared);
  return () => {
    mirrors.delete(shared);
  };
}
