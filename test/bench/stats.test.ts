import { describe, expect, it } from 'vitest';
import { formatDuration, formatNumber, formatRate, formatSize, median, percentile, ratio, summarize } from '../../bench/report/stats.js';

describe('percentile (nearest rank)', () => {
  const v = [15, 20, 35, 40, 50];
  it.each([
    [0, 15],
    [0.05, 15],
    [0.3, 20],
    [0.4, 20],
    [0.5, 35],
    [0.99, 50],
    [1, 50],
  ])('q=%s → %s', (q, want) => expect(percentile(v, q)).toBe(want));

  it('does not depend on input order and does not reorder the input', () => {
    const shuffled = [50, 15, 40, 20, 35];
    expect(percentile(shuffled, 0.5)).toBe(35);
    expect(shuffled).toEqual([50, 15, 40, 20, 35]);
  });

  it('p99 of 1..1000 is 990, p50 is 500', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(xs, 0.99)).toBe(990);
    expect(percentile(xs, 0.5)).toBe(500);
  });

  it('NaN for no values; RangeError for a quantile outside [0, 1]', () => {
    expect(percentile([], 0.5)).toBeNaN();
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
    expect(() => percentile([1], NaN)).toThrow(RangeError);
  });
});

describe('median / summarize', () => {
  it('odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
  it('summary fields', () => {
    expect(summarize([2, 4, 6, 8])).toEqual({ n: 4, min: 2, max: 8, mean: 5, p50: 4, p99: 8 });
    expect(summarize([]).n).toBe(0);
  });
});

describe('ratio', () => {
  it('divides finite numbers', () => expect(ratio(90, 100)).toBeCloseTo(0.9));
  it.each([
    [1, 0],
    [null, 1],
    [1, undefined],
    [NaN, 1],
    [1, Infinity],
  ])('%s / %s is not a ratio', (a, b) => expect(ratio(a as number | null, b as number | undefined)).toBeNull());
});

describe('formatNumber', () => {
  it.each([
    [1234.5, '1235'],
    [12.345, '12.3'],
    [0.01234, '0.0123'],
    [2, '2'],
    [2.0004, '2'],
    [1.5, '1.5'],
    [0, '0'],
    [-0.0001, '-0.0001'],
    [999.6, '1000'],
    [Infinity, '∞'],
    [-Infinity, '-∞'],
    [NaN, '–'],
    [null, '–'],
  ])('%s → %s', (v, want) => expect(formatNumber(v as number | null)).toBe(want));
  it('honours significant digits', () => expect(formatNumber(0.98765, 2)).toBe('0.99'));
  it('never prints exponent notation', () => {
    expect(formatNumber(1e21)).not.toMatch(/e/);
    expect(formatNumber(1.23e-9)).not.toMatch(/e/);
  });
});

describe('formatRate / formatDuration / formatSize', () => {
  it('rates in decimal units', () => {
    expect(formatRate(3_938_461_538)).toBe('3.94 GB/s');
    expect(formatRate(812e6)).toBe('812 MB/s');
    expect(formatRate(Infinity)).toBe('∞');
    expect(formatRate(null)).toBe('–');
  });
  it('durations', () => {
    expect(formatDuration(950)).toBe('950 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(125_000)).toBe('2m05s');
    expect(formatDuration(-1)).toBe('–');
  });
  it('sizes', () => {
    expect(formatSize(4096)).toBe('4 KiB');
    expect(formatSize(128 * 1024)).toBe('128 KiB');
    expect(formatSize(1 << 20)).toBe('1 MiB');
    expect(formatSize(1000)).toBe('1000 B');
  });
});
