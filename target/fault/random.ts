/**
 * Seeded randomness for fault rules, so a run can be replayed: the same seed and
 * the same command sequence fire the same faults and draw the same delays.
 */
import { xorshift32 } from '../../src/stats/xorshift.js';

export type Rng = () => number;

/** Uniform in [0, 1) from `seed` (xorshift32's words scaled). */
export function seededRng(seed: number): Rng {
  const next = xorshift32(seed);
  return () => next() / 0x1_0000_0000;
}

/** z of the standard normal's 99th percentile. */
const Z99 = 2.326347874;

/**
 * A delay in ms drawn from the log-normal distribution whose median is `p50` and
 * whose 99th percentile is `p99` (ln X ~ N(ln p50, σ), σ = ln(p99/p50)/z99). A
 * log-normal is the usual model of storage latency: positive, long right tail.
 */
export function logNormalMs(rng: Rng, p50: number, p99: number): number {
  const sigma = Math.log(p99 / p50) / Z99;
  // Box-Muller; 1 - u keeps the log's argument in (0, 1].
  const u = 1 - rng();
  const v = rng();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return p50 * Math.exp(sigma * z);
}
