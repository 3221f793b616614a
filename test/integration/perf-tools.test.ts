/** The initiator's small building blocks: latency histogram, size parsing, CID pool. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { LatencyHistogram } from '../../initiator/latency.js';
import { parseSize } from '../../initiator/perf.js';
import { CidPool } from '../../initiator/cid-pool.js';

describe('LatencyHistogram', () => {
  test('percentiles are within the bucket resolution of the exact ones', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5e9 }), { minLength: 1, maxLength: 500 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (xs, q) => {
        const h = new LatencyHistogram();
        for (const x of xs) h.record(x);
        const sorted = [...xs].sort((a, b) => a - b);
        const exact = sorted[Math.max(0, Math.ceil(q * xs.length) - 1)]!;
        const got = h.percentile(q);
        expect(Math.abs(got - exact)).toBeLessThanOrEqual(Math.max(1, exact / 16));
        expect(h.count).toBe(xs.length);
        expect(h.max).toBe(sorted[sorted.length - 1]);
        expect(h.min).toBe(sorted[0]);
      }),
    );
  });

  test('merge equals recording everything in one histogram', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) {
      (i % 2 === 0 ? a : b).record(i * 1000);
      all.record(i * 1000);
    }
    a.merge(b);
    for (const q of [0.5, 0.9, 0.99]) expect(a.percentile(q)).toBe(all.percentile(q));
    expect(a.meanNs).toBe(all.meanNs);
  });

  test('empty histogram reports zeros', () => {
    const h = new LatencyHistogram();
    expect(h.percentile(0.99)).toBe(0);
    expect(h.meanNs).toBe(0);
  });
});

describe('parseSize', () => {
  test.each([
    ['512', 512],
    ['4k', 4096],
    ['4K', 4096],
    ['128k', 131072],
    ['1m', 1 << 20],
    ['1MiB', 1 << 20],
    ['2g', 2 * 1024 ** 3],
  ])('%s → %d', (s, n) => expect(parseSize(s)).toBe(n));

  test.each(['', 'k', '4x', '-4k', '1.5m'])('rejects "%s"', (s) => expect(() => parseSize(s)).toThrow(RangeError));
});

describe('CidPool', () => {
  test('hands out every CID once, then -1, and reuses released ones', () => {
    const p = new CidPool(8);
    const got = Array.from({ length: 8 }, () => p.alloc());
    expect([...got].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(p.alloc()).toBe(-1);
    expect(p.inUse).toBe(8);
    p.release(5);
    expect(p.alloc()).toBe(5);
  });

  test('rejects impossible sizes', () => {
    expect(() => new CidPool(0)).toThrow(RangeError);
    expect(() => new CidPool(0x10001)).toThrow(RangeError);
  });
});
