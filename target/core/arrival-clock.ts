/**
 * The time a command arrived, for the I/O latency the observer records
 * (`nvmet_io_latency_seconds`, "from capsule to completion").
 *
 * Commands arrive in batches: one socket read delivers ~20 capsules at QD 32, and the
 * transport hands them to the core one after another in the same turn of the event
 * loop. They all arrived when that read did, so the first command of the turn reads
 * the clock and the rest reuse the reading; a microtask forgets it when the turn ends.
 * That is one clock read per batch instead of one per command (performance.now() is
 * ~50 ns on Node 20), and it is also the truer start: a command's wait behind the
 * ones ahead of it in its batch is part of its latency, which a per-command reading
 * at init left out.
 */

import { performance } from 'node:perf_hooks';

let reading = 0;
let valid = false;

function forget(): void {
  valid = false;
}

/** performance.now() as of the first call in the current turn of the event loop. */
export function arrivalNow(): number {
  if (!valid) {
    reading = performance.now();
    valid = true;
    queueMicrotask(forget);
  }
  return reading;
}
