/**
 * The two ends of the I/O latency the observer records (`nvmet_io_latency_seconds`):
 * when a command's capsule arrived, and when its response left.
 *
 * Commands arrive in batches: one socket read delivers ~20 capsules at QD 32, and the
 * transport hands them to the core one after another in the same turn of the event
 * loop. They all arrived when that read did, so the first command of the turn reads
 * the clock and the rest reuse the reading; a microtask forgets it when the turn ends.
 * That is one clock read per batch instead of one per command, and it is also the
 * truer start: a command's wait behind the ones ahead of it in its batch is part of
 * its latency, which a per-command reading at init left out.
 *
 * Responses leave in batches too: NVMe/TCP writes a turn's responses with one writev
 * and hands the requests back when the kernel took the bytes. A transport that knows
 * this brackets the hand-back with `beginDeparture()` / `endDeparture()`, and every
 * request released inside reads the one clock value of that write. Outside a bracket
 * `departureNow()` reads the clock itself, so a transport that does not bracket gets
 * exact per-request times, never a stale reading. With the management API on, the
 * per-command clock read at completion cost 3-5 % of 4 KiB I/O throughput on Node 20
 * (`performance.now()` validates its receiver on every call; bench/README.md
 * "Session 8").
 */

import { performance } from 'node:perf_hooks';

let reading = 0;
let valid = false;

function forget(): void {
  valid = false;
}

// The end of the turn is found with a reaction on a settled promise, not queueMicrotask:
// Node 20's queueMicrotask validates its argument and wraps the callback in an
// AsyncResource on every call. The reaction runs in the same microtask checkpoint.
const settled = Promise.resolve();

/** performance.now() as of the first call in the current turn of the event loop. */
export function arrivalNow(): number {
  if (!valid) {
    reading = performance.now();
    valid = true;
    void settled.then(forget);
  }
  return reading;
}

let departureDepth = 0;
let departureReading = 0;
let departureValid = false;

/** The requests released until `endDeparture()` had their responses written together. */
export function beginDeparture(): void {
  departureDepth++;
  departureValid = false;
}

/** Closes `beginDeparture()` (call it in a `finally`). */
export function endDeparture(): void {
  if (departureDepth > 0) departureDepth--;
}

/** When the response of the request being released left: the bracket's one reading, else now. */
export function departureNow(): number {
  if (departureDepth === 0) return performance.now();
  if (!departureValid) {
    departureReading = performance.now();
    departureValid = true;
  }
  return departureReading;
}
