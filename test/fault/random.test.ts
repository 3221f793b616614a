/** The seeded draws behind fault rules: replayable, and the delay distribution has the p50/p99 asked for. */
import { describe, expect, it } from 'vitest';
import { logNormalMs, seededRng } from '../../target/fault/random.js';

describe('fault randomness', () => {
  it('the same seed gives the same sequence, in [0, 1)', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRng(43)()).not.toBe(xs[0]);
  });

  it('log-normal delays: p50 and p99 of 200k draws within 3 % / 6 % of what the rule asked', () => {
    const rng = seededRng(7);
    const n = 200_000;
    const d = Float64Array.from({ length: n }, () => logNormalMs(rng, 5, 50)).sort();
    expect(d[n / 2]! / 5).toBeGreaterThan(0.97);
    expect(d[n / 2]! / 5).toBeLessThan(1.03);
    expect(d[Math.floor(n * 0.99)]! / 50).toBeGreaterThan(0.94);
    expect(d[Math.floor(n * 0.99)]! / 50).toBeLessThan(1.06);
    expect(d[0]!).toBeGreaterThan(0);
  });
});
