/**
 * 32-bit xorshift (Marsaglia 13/17/5): cheap, reproducible randomness for LBA
 * choice in load generators and for test data. Not for anything that needs to be
 * unpredictable.
 */

/** A generator of 32-bit unsigned words from `seed` (0 would stick at 0, so it is replaced). */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
