/**
 * The one latency histogram of nvmet-ts: an HdrHistogram (hdr-histogram-js, the
 * JavaScript port of Gil Tene's HdrHistogram) with 3 significant digits (≤ 0.1 %
 * relative error), O(1) record and no allocation per sample, so the initiator's
 * perf loop, the benchmarks and the target's /metrics record every I/O into the
 * same structure. Values are nanoseconds; the exact sum, minimum and maximum are
 * kept beside it (HdrHistogram reports them at bucket resolution) so means,
 * Prometheus `_sum` and min/max are exact.
 */
import { Float64Histogram } from 'hdr-histogram-js';

/** 1 ns .. 2^40 ns (~18 minutes) before the histogram grows (autoResize covers beyond). */
const HIGHEST_NS = 2 ** 40;
const SIGNIFICANT_DIGITS = 3;

export class LatencyHistogram {
  // Float64 counts: a long-running target records billions of I/Os into one bucket.
  private readonly h = new Float64Histogram(1, HIGHEST_NS, SIGNIFICANT_DIGITS);
  private sum = 0;
  private minNs = Infinity;
  private maxNs = 0;

  constructor() {
    this.h.autoResize = true;
  }

  /** Record one sample in nanoseconds (below 1 ns counts as 1 ns). */
  record(ns: number): void {
    const v = ns >= 1 ? Math.round(ns) : 1;
    this.h.recordValue(v);
    this.sum += v;
    if (v < this.minNs) this.minNs = v;
    if (v > this.maxNs) this.maxNs = v;
  }

  /** Fold another histogram into this one (per-queue histograms → one report). */
  merge(o: LatencyHistogram): void {
    this.h.add(o.h);
    this.sum += o.sum;
    if (o.minNs < this.minNs) this.minNs = o.minNs;
    if (o.maxNs > this.maxNs) this.maxNs = o.maxNs;
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Exact sum of the recorded samples, ns. */
  get sumNs(): number {
    return this.sum;
  }

  get meanNs(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  get min(): number {
    return this.count === 0 ? 0 : this.minNs;
  }

  get max(): number {
    return this.maxNs;
  }

  /** Value (ns) at quantile q in [0, 1]: the bucket holding that rank, clamped to the observed range. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    return Math.min(this.maxNs, Math.max(this.minNs, this.h.getValueAtPercentile(q * 100)));
  }

  /**
   * Cumulative counts of samples ≤ each of `boundsNs` (ascending), as a
   * Prometheus histogram's buckets want them. A sample is placed by the lowest
   * value of its 0.1 %-wide bucket, so a sample exactly at a bound counts as ≤ it.
   */
  cumulativeCounts(boundsNs: readonly number[]): number[] {
    const out = new Array<number>(boundsNs.length).fill(0);
    const it = this.h.recordedValuesIterator;
    it.reset();
    while (it.hasNext()) {
      const v = it.next();
      const at = this.h.lowestEquivalentValue(v.valueIteratedTo);
      for (let i = 0; i < boundsNs.length; i++) if (at <= boundsNs[i]!) out[i]! += v.countAtValueIteratedTo;
    }
    return out;
  }
}
