import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { arrivalNow } from '../../target/core/arrival-clock.js';

describe('arrivalNow', () => {
  it('reads the clock once per turn of the event loop: later calls in the turn get the first reading', async () => {
    // start in a fresh turn
    await new Promise((r) => setTimeout(r, 1));
    const before = performance.now();
    const first = arrivalNow();
    expect(first).toBeGreaterThanOrEqual(before);
    const spinUntil = performance.now() + 2;
    while (performance.now() < spinUntil);
    // 2 ms later, same turn: still the batch's arrival time
    expect(arrivalNow()).toBe(first);
    // the next turn reads the clock again
    await new Promise((r) => setTimeout(r, 2));
    const next = arrivalNow();
    expect(next).toBeGreaterThanOrEqual(first + 2);
    expect(arrivalNow()).toBe(next);
  });

  it('forgets the reading once the turn’s microtasks ran', async () => {
    await new Promise((r) => setTimeout(r, 1));
    const first = arrivalNow();
    const spinUntil = performance.now() + 1;
    while (performance.now() < spinUntil);
    await new Promise((r) => setImmediate(r));
    expect(arrivalNow()).toBeGreaterThanOrEqual(first + 1);
  });
});
