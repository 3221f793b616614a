/**
 * Log-linear latency histogram (HdrHistogram-like, ~3 % resolution) with O(1)
 * record and no allocation per sample: perf runs record one sample per I/O at
 * 100k+ IOPS, so a sorted array of samples is not an option.
 */

/** Sub-buckets per power of two: 32 gives ≤ 1/32 relative bucket width. */
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
/** Covers 1 ns .. 2^40 ns (~18 minutes). */
const MAX_EXP = 40;

export class LatencyHistogram {
  private readonly counts = new Float64Array((MAX_EXP + 1) * SUB);
  private n = 0;
  private sum = 0;
  private minNs = Infinity;
  private maxNs = 0;

  /** Record one sample in nanoseconds. */
  record(ns: number): void {
    if (!(ns >= 1)) ns = 1;
    this.counts[bucketOf(ns)]!++;
    this.n++;
    this.sum += ns;
    if (ns < this.minNs) this.minNs = ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  /** Fold another histogram into this one (per-queue histograms → one report). */
  merge(o: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += o.counts[i]!;
    this.n += o.n;
    this.sum += o.sum;
    if (o.minNs < this.minNs) this.minNs = o.minNs;
    if (o.maxNs > this.maxNs) this.maxNs = o.maxNs;
  }

  get count(): number {
    return this.n;
  }

  get meanNs(): number {
    return this.n === 0 ? 0 : this.sum / this.n;
  }

  get min(): number {
    return this.n === 0 ? 0 : this.minNs;
  }

  get max(): number {
    return this.maxNs;
  }

  /** Value (ns, bucket midpoint clamped to the observed range) at quantile q in [0, 1]. */
  percentile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxNs, Math.max(this.minNs, bucketMid(i)));
    }
    return this.maxNs;
  }
}

function bucketOf(ns: number): number {
  const v = Math.floor(ns);
  const exp = Math.min(MAX_EXP, v < 0x8000_0000 ? 31 - Math.clz32(v) : Math.floor(Math.log2(v)));
  if (exp < SUB_BITS) return v; // exact below 2^SUB_BITS
  const sub = Math.min(SUB - 1, Math.floor(v / 2 ** (exp - SUB_BITS)) - SUB);
  return exp * SUB + sub;
}

function bucketMid(i: number): number {
  const exp = Math.floor(i / SUB);
  if (exp < SUB_BITS) return i;
  const sub = i % SUB;
  const width = 2 ** (exp - SUB_BITS);
  return (SUB + sub) * width + width / 2;
}
