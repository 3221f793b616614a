/**
 * Latency samples in a form that crosses threads: a reactor (worker thread) records its
 * I/Os' latencies here, and every ~100 ms posts `drain()` to the main thread, which
 * folds it into its LatencyHistogram with `addBuckets(counts, slow)` (or
 * NvmetMetrics.mergeIo). The result is exactly what recording the same samples into that
 * histogram would give: count, sum, min, max, percentiles, bucket counts
 * (test/stats/latency-buckets.test.ts).
 *
 * `record` allocates nothing: a sample below FAST_LIMIT (2^24 ns, 16.8 ms) increments a
 * Uint32 slot at LatencyHistogram's own fast bucket index (latency-histogram.ts) and the
 * exact count/sum/min/max kept beside the slots; a slower one — rare by definition — is
 * kept raw in a list that grows as needed (it is emptied at every drain). Nothing is
 * clamped or dropped.
 */

import {
  BUCKETS_COUNT,
  BUCKETS_LENGTH,
  BUCKETS_MAX,
  BUCKETS_MAX_COUNT,
  BUCKETS_MIN,
  BUCKETS_SUM_HI,
  BUCKETS_SUM_LO,
  FAST_LIMIT,
  fastBucketIndex,
} from './latency-histogram.js';

/** One drain, structured-clone safe (both buffers can be transferred). */
export interface LatencyBucketsDrain {
  /**
   * Fast-range counts by fastBucketIndex, followed by those samples' exact count, sum
   * (two Uint32 halves), min and max (layout: BUCKETS_* in latency-histogram.ts);
   * null when no sample took the fast range.
   */
  readonly counts: Uint32Array | null;
  /** Samples ≥ FAST_LIMIT ns (or spilled past the limits of `counts`), rounded as LatencyHistogram.record rounds them. */
  readonly slow: Float64Array;
}

const TWO_32 = 2 ** 32;
/** Keep the fast sum an exact integer (float64) whatever the next sample. */
const MAX_FAST_SUM = Number.MAX_SAFE_INTEGER - FAST_LIMIT;

export class LatencyBuckets {
  /** Allocated on the first fast sample after a drain (drain hands the array over). */
  #counts: Uint32Array | null = null;
  #fastCount = 0;
  #fastSum = 0;
  #fastMin = Infinity;
  #fastMax = 0;
  #slow = new Float64Array(64);
  #nSlow = 0;

  /** Record one sample in nanoseconds (below 1 ns counts as 1 ns, as in LatencyHistogram). */
  record(ns: number): void {
    const v = ns >= 1 ? Math.round(ns) : 1;
    // At the Uint32 count limit, or the exact-sum limit, spill to the raw list (never in practice).
    if (v >= FAST_LIMIT || this.#fastCount === BUCKETS_MAX_COUNT || this.#fastSum > MAX_FAST_SUM) {
      this.#pushSlow(v);
      return;
    }
    const c = this.#counts ?? (this.#counts = new Uint32Array(BUCKETS_LENGTH));
    c[fastBucketIndex(v)]!++;
    this.#fastCount++;
    this.#fastSum += v;
    if (v < this.#fastMin) this.#fastMin = v;
    if (v > this.#fastMax) this.#fastMax = v;
  }

  #pushSlow(v: number): void {
    if (this.#nSlow === this.#slow.length) {
      const next = new Float64Array(this.#slow.length * 2);
      next.set(this.#slow);
      this.#slow = next;
    }
    this.#slow[this.#nSlow++] = v;
  }

  /** Samples recorded since the previous drain. */
  get count(): number {
    return this.#fastCount + this.#nSlow;
  }

  /** Everything recorded since the previous drain; resets. */
  drain(): LatencyBucketsDrain {
    let counts: Uint32Array | null = null;
    if (this.#fastCount > 0) {
      counts = this.#counts!;
      const sum = this.#fastSum;
      const lo = sum % TWO_32;
      counts[BUCKETS_COUNT] = this.#fastCount;
      counts[BUCKETS_SUM_LO] = lo;
      counts[BUCKETS_SUM_HI] = (sum - lo) / TWO_32;
      counts[BUCKETS_MIN] = this.#fastMin;
      counts[BUCKETS_MAX] = this.#fastMax;
      this.#counts = null;
    }
    // A fresh array every drain (never a shared empty one): the caller may transfer it.
    const slow = this.#slow.slice(0, this.#nSlow);
    this.#fastCount = 0;
    this.#fastSum = 0;
    this.#fastMin = Infinity;
    this.#fastMax = 0;
    this.#nSlow = 0;
    return { counts, slow };
  }
}
