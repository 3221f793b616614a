/**
 * Small statistics for bench reports: order statistics over a handful of samples
 * (rounds of one cell), ratios that refuse to invent numbers, and number
 * formatting that keeps tables narrow. Per-I/O latency percentiles come from the
 * initiator's histogram; these are for aggregating a few measured values.
 */

/** Nearest-rank percentile (q in [0, 1]) of `values`; NaN for no values. Does not modify `values`. */
export function percentile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * s.length));
  return s[rank - 1]!;
}

/** Median; for an even count the mean of the two middle values. NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { n: 0, min: NaN, max: NaN, mean: NaN, p50: NaN, p99: NaN };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { n: values.length, min, max, mean: sum / values.length, p50: percentile(values, 0.5), p99: percentile(values, 0.99) };
}

/** a / b, or null when either is missing or not finite, or b is 0 (a ratio that means nothing is not printed). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/**
 * A number with about `sig` significant digits, never in exponent notation, trailing
 * zeros dropped: 1234.5 → "1235", 12.345 → "12.3", 0.01234 → "0.0123", 2.0004 → "2".
 * null/NaN → "–", ±Infinity → "∞"/"-∞".
 */
export function formatNumber(v: number | null | undefined, sig = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  if (v === 0) return '0';
  const mag = Math.floor(Math.log10(Math.abs(v)));
  const decimals = Math.max(0, sig - 1 - mag);
  // toFixed switches to exponent notation from 1e21 on; BigInt prints every digit.
  let s = Math.abs(v) >= 1e21 ? BigInt(Math.round(v)).toString() : v.toFixed(Math.min(decimals, 12));
  // Trailing zeros claim precision the value was not rounded to: 2.00 → 2, 1.50 → 1.5.
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  // "-0" after rounding a tiny negative number is noise, not a sign.
  return s === '-0' ? '0' : s;
}

/** Bytes per second in decimal units: "3.94 GB/s", "812 MB/s". */
export function formatRate(bytesPerSec: number | null | undefined): string {
  if (bytesPerSec === null || bytesPerSec === undefined || Number.isNaN(bytesPerSec)) return '–';
  if (!Number.isFinite(bytesPerSec)) return '∞';
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  let v = bytesPerSec;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${formatNumber(v, 3)} ${units[i]}`;
}

/** "950 ms", "12.3 s", "2m05s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${formatNumber(ms / 1000, 3)} s`;
  const total = Math.round(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}m${String(s).padStart(2, '0')}s`;
}

/** "4 KiB", "128 KiB", "1 MiB" for power-of-two transfer sizes; plain bytes otherwise. */
export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
