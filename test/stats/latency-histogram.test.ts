import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Float64Histogram } from 'hdr-histogram-js';
import { LatencyHistogram, fastBucketIndex, fastBucketLowest } from '../../src/stats/latency-histogram.js';

/** The layout LatencyHistogram wraps, recorded the slow way: the reference for the fast path. */
function reference(): Float64Histogram {
  const h = new Float64Histogram(1, 2 ** 40, 3);
  h.autoResize = true;
  return h;
}

const QUANTILES = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1];

/** What LatencyHistogram must report for `samples`, computed from a directly recorded HdrHistogram. */
function expected(samples: readonly number[]): { count: number; percentiles: number[]; sum: number } {
  const h = reference();
  let sum = 0;
  let min = Infinity;
  let max = 0;
  for (const s of samples) {
    const v = s >= 1 ? Math.round(s) : 1;
    h.recordValue(v);
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return {
    count: samples.length,
    sum,
    percentiles: QUANTILES.map((q) => (samples.length === 0 ? 0 : Math.min(max, Math.max(min, h.getValueAtPercentile(q * 100))))),
  };
}

function edgeValues(): number[] {
  const out = [1, 2, 3, 1023, 1024, 1025, 2047, 2048, 2049, 2050, 4095, 4096, 4097];
  for (let k = 11; k <= 24; k++) out.push(2 ** k - 3, 2 ** k - 2, 2 ** k - 1, 2 ** k, 2 ** k + 1, 2 ** k + 2);
  return out.filter((v) => v < 2 ** 24);
}

describe('LatencyHistogram fast path (integer bucket index)', () => {
  it('puts every edge value in the bucket HdrHistogram puts it in', () => {
    const h = reference();
    for (const v of edgeValues()) {
      const i = fastBucketIndex(v);
      expect(i, `index of ${v}`).toBe(h.countsArrayIndex(v));
      expect(fastBucketLowest(i), `lowest of ${v}`).toBe(h.lowestEquivalentValue(v));
    }
  });

  it('bucket index and lowest value are inverse over the whole fast range', () => {
    const h = reference();
    const slots = (24 - 10 + 1) << 10;
    for (let i = 1; i < slots; i++) {
      const lo = fastBucketLowest(i);
      expect(lo).toBeLessThan(2 ** 24);
      if (fastBucketIndex(lo) !== i || h.countsArrayIndex(lo) !== i) throw new Error(`slot ${i}: lowest ${lo} maps back to ${fastBucketIndex(lo)} / hdr ${h.countsArrayIndex(lo)}`);
    }
  });

  it('matches HdrHistogram for random values in the fast range', () => {
    const h = reference();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 24 - 1 }), (v) => {
        expect(fastBucketIndex(v)).toBe(h.countsArrayIndex(v));
      }),
      { numRuns: 2000 },
    );
  });

  const cases: { name: string; samples: number[] }[] = [
    { name: 'empty', samples: [] },
    { name: 'one sample', samples: [123_456] },
    { name: 'sub-nanosecond and fractional samples', samples: [0, 0.2, 0.5, 0.7, 1.49, 1.5, 2.5, 999.5] },
    { name: 'bucket edges', samples: edgeValues() },
    { name: 'fast and slow paths mixed', samples: [5_000, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 1, 3e9, 40_000, 7e12, 2 ** 41, 12] },
    { name: 'a loopback-like distribution', samples: Array.from({ length: 5000 }, (_, i) => 20_000 + ((i * 7919) % 300_000)) },
  ];
  for (const c of cases) {
    it(`reports what direct recording reports: ${c.name}`, () => {
      const l = new LatencyHistogram();
      for (const s of c.samples) l.record(s);
      const e = expected(c.samples);
      expect(l.count).toBe(e.count);
      expect(l.sumNs).toBe(e.sum);
      expect(QUANTILES.map((q) => l.percentile(q))).toEqual(e.percentiles);
    });
  }

  it('random sample sets: count, percentiles and Prometheus buckets equal the direct recording', () => {
    const bounds = [1e4, 2.5e4, 5e4, 1e5, 2.5e5, 1e6, 1e7, 1.6e7, 1e8, 1e9];
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 2 ** 24 + 5 }), fc.double({ min: 0, max: 1e11, noNaN: true })), { maxLength: 300 }), (samples) => {
        const l = new LatencyHistogram();
        // Interleave reads with records: a read folds the pending counts, later samples pend again.
        samples.forEach((s, i) => {
          l.record(s);
          if (i % 37 === 0) l.percentile(0.5);
        });
        const e = expected(samples);
        expect(l.count).toBe(e.count);
        expect(QUANTILES.map((q) => l.percentile(q))).toEqual(e.percentiles);
        const direct = new LatencyHistogram();
        for (const s of samples) direct.record(s);
        expect(l.cumulativeCounts(bounds)).toEqual(direct.cumulativeCounts(bounds));
        // cumulativeCounts against the reference itself
        const h = reference();
        for (const s of samples) h.recordValue(s >= 1 ? Math.round(s) : 1);
        const want = bounds.map((b) => {
          let n = 0;
          for (const s of samples) if (h.lowestEquivalentValue(s >= 1 ? Math.round(s) : 1) <= b) n++;
          return n;
        });
        expect(l.cumulativeCounts(bounds)).toEqual(want);
      }),
      { numRuns: 150 },
    );
  });

  it('merging pending histograms equals recording everything in one', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = 1000 + ((i * 104_729) % 20_000_000);
      (i % 3 === 0 ? a : b).record(v);
      all.push(v);
    }
    a.merge(b);
    const e = expected(all);
    expect(a.count).toBe(3000);
    expect(QUANTILES.map((q) => a.percentile(q))).toEqual(e.percentiles);
    expect(a.min).toBe(Math.min(...all));
    expect(a.max).toBe(Math.max(...all));
  });
});
