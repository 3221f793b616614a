import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LatencyBuckets } from '../../src/stats/latency-buckets.js';
import { BUCKETS_COUNT, BUCKETS_LENGTH, BUCKETS_MAX, BUCKETS_MIN, BUCKETS_SUM_HI, BUCKETS_SUM_LO, FAST_LIMIT, LatencyHistogram, fastBucketIndex, fastBucketLowest } from '../../src/stats/latency-histogram.js';

const QUANTILES = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1];
/** The Prometheus bounds of target/api/metrics.ts in ns, and a few at the fast-range edge. */
const BOUNDS = [1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7, 1.6e7, FAST_LIMIT - 1, FAST_LIMIT, 2.5e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2.5e9, 5e9];

function view(h: LatencyHistogram): { count: number; sum: number; min: number; max: number; percentiles: number[]; cumulative: number[] } {
  return { count: h.count, sum: h.sumNs, min: h.min, max: h.max, percentiles: QUANTILES.map((q) => h.percentile(q)), cumulative: h.cumulativeCounts(BOUNDS) };
}

/**
 * `samples` recorded directly into one histogram vs recorded into LatencyBuckets, drained
 * after the sample indexes in `drainAfter` and at the end, each drain structured-cloned
 * (as postMessage carries it) and added to another histogram.
 */
function compare(samples: readonly number[], drainAfter: ReadonlySet<number> = new Set(), before: readonly number[] = []): void {
  const direct = new LatencyHistogram();
  const merged = new LatencyHistogram();
  for (const s of before) {
    direct.record(s);
    merged.record(s);
  }
  const b = new LatencyBuckets();
  const post = (): void => {
    const d = structuredClone(b.drain());
    merged.addBuckets(d.counts, d.slow);
  };
  samples.forEach((s, i) => {
    direct.record(s);
    b.record(s);
    if (drainAfter.has(i)) post();
  });
  post();
  expect(b.count).toBe(0);
  const want = view(direct);
  const got = view(merged);
  expect(got).toEqual(want);
  expect(merged.meanNs).toBeCloseTo(direct.meanNs, 9);
}

function edgeValues(): number[] {
  const out = [0, 0.2, 0.5, 0.7, 1, 1.49, 1.5, 2, 3, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097];
  for (let k = 11; k <= 26; k++) out.push(2 ** k - 2, 2 ** k - 1, 2 ** k - 0.5, 2 ** k - 0.51, 2 ** k, 2 ** k + 1);
  return out;
}

describe('LatencyBuckets → LatencyHistogram.addBuckets', () => {
  it('drains nothing as null counts and an empty slow list', () => {
    const d = new LatencyBuckets().drain();
    expect(d.counts).toBeNull();
    expect(d.slow).toBeInstanceOf(Float64Array);
    expect(d.slow.length).toBe(0);
    const h = new LatencyHistogram();
    h.addBuckets(d.counts, d.slow);
    expect(h.count).toBe(0);
  });

  it('drains fast samples as bucket counts with their exact count, sum, min and max, and slow ones raw', () => {
    const b = new LatencyBuckets();
    for (const v of [5000, 5001, 40_000.4, 0.3, FAST_LIMIT - 1, FAST_LIMIT, 3e9]) b.record(v);
    const { counts, slow } = b.drain();
    expect(counts).toHaveLength(BUCKETS_LENGTH);
    expect(counts![BUCKETS_COUNT]).toBe(5);
    expect(counts![BUCKETS_SUM_HI]! * 2 ** 32 + counts![BUCKETS_SUM_LO]!).toBe(5000 + 5001 + 40_000 + 1 + FAST_LIMIT - 1);
    expect(counts![BUCKETS_MIN]).toBe(1);
    expect(counts![BUCKETS_MAX]).toBe(FAST_LIMIT - 1);
    expect(counts![fastBucketIndex(5000)]).toBe(fastBucketIndex(5000) === fastBucketIndex(5001) ? 2 : 1);
    expect([...slow]).toEqual([FAST_LIMIT, 3e9]);
    // Reset: the next drain starts empty, with fresh arrays.
    b.record(7);
    const next = b.drain();
    expect(next.counts).not.toBe(counts);
    expect(next.counts![BUCKETS_COUNT]).toBe(1);
    expect(next.slow.length).toBe(0);
  });

  const cases: { name: string; samples: number[]; drains?: number[]; before?: number[] }[] = [
    { name: 'one sample', samples: [123_456] },
    { name: 'edge and fractional values', samples: edgeValues() },
    { name: 'only slow samples', samples: [2 ** 24, 3e9, 7e12, 2 ** 41, 2 ** 24 + 0.4] },
    { name: 'a loopback-like distribution, drained every 500', samples: Array.from({ length: 5000 }, (_, i) => 20_000 + ((i * 7919) % 300_000)), drains: Array.from({ length: 9 }, (_, i) => 500 * i + 499) },
    { name: 'added to a histogram that already has samples', samples: [10, 20_000, 5e8, 70_000], before: [3, 1e10, 45_000], drains: [1] },
    { name: 'many drains, some empty', samples: [1, 2e7, 3, 4e4, 5e4], drains: [0, 1, 2, 3, 4] },
  ];
  for (const c of cases) {
    it(`reports what direct recording reports: ${c.name}`, () => {
      compare(c.samples, new Set(c.drains ?? []), c.before ?? []);
    });
  }

  it('random samples, random drains (fast-check)', () => {
    const sample = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: FAST_LIMIT - 1 }) },
      { weight: 2, arbitrary: fc.double({ min: 0, max: 1e5, noNaN: true }) },
      { weight: 1, arbitrary: fc.integer({ min: FAST_LIMIT - 3, max: FAST_LIMIT + 3 }) },
      { weight: 1, arbitrary: fc.double({ min: FAST_LIMIT, max: 1e12, noNaN: true }) },
    );
    fc.assert(
      fc.property(
        fc.array(sample, { maxLength: 400 }),
        fc.uniqueArray(fc.nat({ max: 400 }), { maxLength: 10 }),
        fc.array(sample, { maxLength: 20 }),
        (samples, drains, before) => compare(samples, new Set(drains), before),
      ),
      { numRuns: 200 },
    );
  });

  it('folds counts beyond the pending limit (2^31) without overflowing a slot', () => {
    const v = fastBucketLowest(fastBucketIndex(50_000));
    const i = fastBucketIndex(v);
    const counts = new Uint32Array(BUCKETS_LENGTH);
    const n = 2 ** 31 + 5;
    counts[i] = n;
    counts[BUCKETS_COUNT] = n;
    // n samples of v: the exact sum is n * v (< 2^53).
    const sum = n * v;
    counts[BUCKETS_SUM_LO] = sum % 2 ** 32;
    counts[BUCKETS_SUM_HI] = Math.floor(sum / 2 ** 32);
    counts[BUCKETS_MIN] = v;
    counts[BUCKETS_MAX] = v;
    const h = new LatencyHistogram();
    h.record(v);
    h.addBuckets(counts, new Float64Array(0));
    const ref = new Uint32Array(BUCKETS_LENGTH);
    ref.set(counts);
    ref[i] = 2 ** 31 - 2; // just under the limit: pending, then folded by the next add
    ref[BUCKETS_COUNT] = 2 ** 31 - 2;
    h.addBuckets(ref, new Float64Array([2 ** 30]));
    expect(h.count).toBe(1 + n + 2 ** 31 - 2 + 1);
    expect(h.sumNs).toBe(v + sum + sum + 2 ** 30);
    expect(h.min).toBe(v);
    expect(h.max).toBe(2 ** 30);
    // Where the same shape recorded directly (few samples) puts its quantiles.
    const small = new LatencyHistogram();
    for (const s of [v, v, v, 2 ** 30]) small.record(s);
    for (const q of [0, 0.5, 0.75, 1]) expect(h.percentile(q)).toBe(small.percentile(q));
    expect(h.cumulativeCounts([v - 1, v, 2 ** 31])).toEqual([0, 1 + n + 2 ** 31 - 2, h.count]);
  });

  it('rejects counts of another layout, or whose slots disagree with their count, before adding anything', () => {
    const h = new LatencyHistogram();
    expect(() => h.addBuckets(new Uint32Array(16), new Float64Array(0))).toThrow(RangeError);
    const bad = new Uint32Array(BUCKETS_LENGTH);
    bad[fastBucketIndex(1000)] = 3;
    bad[BUCKETS_COUNT] = 2;
    expect(() => h.addBuckets(bad, new Float64Array(0))).toThrow(RangeError);
    expect(h.count).toBe(0);
  });
});
