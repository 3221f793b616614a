import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { arrivalNow, beginDeparture, departureNow, endDeparture } from '../../target/core/latency-clock.js';

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('arrivalNow', () => {
  it('reads the clock once per turn of the event loop: later calls in the turn get the first reading', async () => {
    // start in a fresh turn
    await new Promise((r) => setTimeout(r, 1));
    const before = performance.now();
    const first = arrivalNow();
    expect(first).toBeGreaterThanOrEqual(before);
    spin(2);
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
    spin(1);
    await new Promise((r) => setImmediate(r));
    expect(arrivalNow()).toBeGreaterThanOrEqual(first + 1);
  });
});

describe('departureNow', () => {
  it('outside a departure bracket reads the clock on every call', () => {
    const a = departureNow();
    spin(1);
    expect(departureNow()).toBeGreaterThanOrEqual(a + 1);
  });

  it('inside a bracket every call gets the bracket’s one reading, taken at the first call', () => {
    const before = performance.now();
    beginDeparture();
    try {
      spin(1);
      const first = departureNow();
      expect(first).toBeGreaterThanOrEqual(before + 1);
      spin(2);
      expect(departureNow()).toBe(first);
    } finally {
      endDeparture();
    }
    spin(1);
    const after = departureNow();
    expect(after).toBeGreaterThan(before + 3);
  });

  it('a new bracket (a later write) reads the clock again, also when nested', () => {
    beginDeparture();
    let outer = 0;
    try {
      outer = departureNow();
      spin(1);
      beginDeparture();
      try {
        expect(departureNow()).toBeGreaterThanOrEqual(outer + 1);
      } finally {
        endDeparture();
      }
    } finally {
      endDeparture();
    }
    // both closed: exact again
    const a = departureNow();
    spin(1);
    expect(departureNow()).toBeGreaterThanOrEqual(a + 1);
  });

  it('an unbalanced end does not leave the clock stuck', () => {
    endDeparture();
    const a = departureNow();
    spin(1);
    expect(departureNow()).toBeGreaterThanOrEqual(a + 1);
  });
});
