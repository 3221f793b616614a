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

/*
 * Recording fast path. hdr-histogram-js finds a sample's bucket with Math.log2 and two
 * Math.pow calls; under a 4 KiB read load with /metrics on that was ~5 % of the target's
 * CPU (perf record, bench/README.md "Session 6"). HdrHistogram's bucket layout for a lowest value of
 * 1 and 3 significant digits is 2048 sub-buckets whose upper half (1024, magnitude 10) is
 * repeated per power of two, so a sample v < 2^FAST_BITS has the counts index
 * `(b << 10) + (v >>> b)` with b = max(floor(log2 v) - 10, 0) — integer arithmetic.
 * Samples are counted there and folded into the HdrHistogram (one recordValueWithCount
 * per touched bucket, at the bucket's lowest value, which maps to the same bucket) before
 * anything reads it, so every figure is what direct recording gives (test/stats).
 */
const SUB_HALF_MAG = 10;
/** Samples below 2^24 ns (16.8 ms) take the fast path; slower ones are recorded directly. */
const FAST_BITS = 24;
export const FAST_LIMIT = 2 ** FAST_BITS;
/** Fast-path bucket slots: fastBucketIndex(v) < FAST_SLOTS for 1 ≤ v < FAST_LIMIT. */
export const FAST_SLOTS = (FAST_BITS - SUB_HALF_MAG + 1) << SUB_HALF_MAG;

/*
 * Cross-thread bucket counts (LatencyBuckets, latency-buckets.ts → addBuckets): FAST_SLOTS
 * counts indexed by fastBucketIndex, then the exact summary of those samples, which the
 * buckets alone cannot give (a bucket is 0.1 % wide): their number, sum (two Uint32
 * halves; exact below 2^53 like LatencyHistogram's own sum), minimum and maximum.
 */
export const BUCKETS_COUNT = FAST_SLOTS;
export const BUCKETS_SUM_LO = FAST_SLOTS + 1;
export const BUCKETS_SUM_HI = FAST_SLOTS + 2;
export const BUCKETS_MIN = FAST_SLOTS + 3;
export const BUCKETS_MAX = FAST_SLOTS + 4;
/** Length of a bucket-counts array. */
export const BUCKETS_LENGTH = FAST_SLOTS + 5;
/** Largest count the count slot holds; LatencyBuckets spills samples beyond it to the slow list. */
export const BUCKETS_MAX_COUNT = 0xffffffff;
const TWO_32 = 2 ** 32;
/** Fold before any slot's Uint32 count could overflow. */
const MAX_PENDING = 2 ** 31;

/** Counts index of a sample 1 ≤ v < FAST_LIMIT (HdrHistogram's countsArrayIndex for this layout). */
export function fastBucketIndex(v: number): number {
  const b = v < 2048 ? 0 : 21 - Math.clz32(v);
  return (b << SUB_HALF_MAG) + (v >>> b);
}

/** Lowest value of a fast-path bucket (HdrHistogram's valueFromIndex for this layout). */
export function fastBucketLowest(index: number): number {
  if (index < 2 << SUB_HALF_MAG) return index;
  const b = (index >>> SUB_HALF_MAG) - 1;
  return ((index & ((1 << SUB_HALF_MAG) - 1)) + (1 << SUB_HALF_MAG)) * 2 ** b;
}

export class LatencyHistogram {
  // Float64 counts: a long-running target records billions of I/Os into one bucket.
  private readonly h = new Float64Histogram(1, HIGHEST_NS, SIGNIFICANT_DIGITS);
  private sum = 0;
  private minNs = Infinity;
  private maxNs = 0;

  constructor() {
    this.h.autoResize = true;
  }

  /** Fast-path counts not yet folded into `h` (allocated on the first fast sample). */
  private pending: Uint32Array | null = null;
  /** Indexes of the non-zero `pending` slots, `nTouched` of them. */
  private touched: Uint16Array | null = null;
  private nTouched = 0;
  private pendingCount = 0;

  /** Record one sample in nanoseconds (below 1 ns counts as 1 ns). */
  record(ns: number): void {
    const v = ns >= 1 ? Math.round(ns) : 1;
    this.sum += v;
    if (v < this.minNs) this.minNs = v;
    if (v > this.maxNs) this.maxNs = v;
    if (v >= FAST_LIMIT) {
      this.h.recordValue(v);
      return;
    }
    const p = this.pending ?? this.allocPending();
    const i = fastBucketIndex(v);
    if (p[i]++ === 0) this.touched![this.nTouched++] = i;
    if (++this.pendingCount === MAX_PENDING) this.fold();
  }

  private allocPending(): Uint32Array {
    this.touched = new Uint16Array(FAST_SLOTS);
    return (this.pending = new Uint32Array(FAST_SLOTS));
  }

  /** Move the fast-path counts into the HdrHistogram. */
  private fold(): void {
    const p = this.pending;
    const t = this.touched;
    if (p === null || t === null) return;
    for (let k = 0; k < this.nTouched; k++) {
      const i = t[k]!;
      this.h.recordValueWithCount(fastBucketLowest(i), p[i]!);
      p[i] = 0;
    }
    this.nTouched = 0;
    this.pendingCount = 0;
  }

  /**
   * Fold a LatencyBuckets drain (from another thread) in: `counts` (null: none; layout
   * above) through the same pending fast-bucket path `record` uses, `slow` (raw samples
   * ≥ FAST_LIMIT, or spilled) as `record` records them. Every figure is then what
   * recording the same samples here would give.
   */
  addBuckets(counts: Uint32Array | null, slow: Float64Array): void {
    if (counts !== null) this.addFastCounts(counts);
    for (let k = 0; k < slow.length; k++) this.record(slow[k]!);
  }

  private addFastCounts(counts: Uint32Array): void {
    if (counts.length !== BUCKETS_LENGTH) throw new RangeError(`bucket counts: length ${counts.length}, expected ${BUCKETS_LENGTH}`);
    const n = counts[BUCKETS_COUNT]!;
    let seen = 0;
    for (let i = 0; i < FAST_SLOTS; i++) seen += counts[i]!;
    if (seen !== n) throw new RangeError(`bucket counts: slots sum to ${seen}, count slot says ${n}`);
    if (n === 0) return;
    const p = this.pending ?? this.allocPending();
    const t = this.touched!;
    for (let i = 0; i < FAST_SLOTS; i++) {
      const c = counts[i]!;
      if (c === 0) continue;
      // Keep pendingCount (and so every slot) below MAX_PENDING, as record does.
      if (this.pendingCount + c >= MAX_PENDING) this.fold();
      if (c >= MAX_PENDING) {
        this.h.recordValueWithCount(fastBucketLowest(i), c);
        continue;
      }
      if (p[i] === 0) t[this.nTouched++] = i;
      p[i]! += c;
      this.pendingCount += c;
    }
    this.sum += counts[BUCKETS_SUM_HI]! * TWO_32 + counts[BUCKETS_SUM_LO]!;
    const lo = counts[BUCKETS_MIN]!;
    const hi = counts[BUCKETS_MAX]!;
    if (lo < this.minNs) this.minNs = lo;
    if (hi > this.maxNs) this.maxNs = hi;
  }

  /** Fold another histogram into this one (per-queue histograms → one report). */
  merge(o: LatencyHistogram): void {
    this.fold();
    o.fold();
    this.h.add(o.h);
    this.sum += o.sum;
    if (o.minNs < this.minNs) this.minNs = o.minNs;
    if (o.maxNs > this.maxNs) this.maxNs = o.maxNs;
  }

  get count(): number {
    return this.h.totalCount + this.pendingCount;
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
    this.fold();
    return Math.min(this.maxNs, Math.max(this.minNs, this.h.getValueAtPercentile(q * 100)));
  }

  /**
   * Cumulative counts of samples ≤ each of `boundsNs` (ascending), as a
   * Prometheus histogram's buckets want them. A sample is placed by the lowest
   * value of its 0.1 %-wide bucket, so a sample exactly at a bound counts as ≤ it.
   */
  cumulativeCounts(boundsNs: readonly number[]): number[] {
    const out = new Array<number>(boundsNs.length).fill(0);
    this.fold();
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
