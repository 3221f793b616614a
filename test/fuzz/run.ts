/**
 * Longer fuzz runs of the NVMe/TCP port: `npm run fuzz -- --seconds 600 [--seed N] [--parallel 4]`.
 * Exits non-zero on the first invariant broken (bystander I/O error or mismatch,
 * leaked staging, connections left open, an uncaught error).
 */
import { runFuzz } from './tcp-fuzz.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`--${name} needs a non-negative number`);
    process.exit(2);
  }
  return v;
}

const seconds = arg('seconds', 60);
const seed = arg('seed', Date.now() & 0x7fffffff);
const parallel = arg('parallel', 4);
console.log(`fuzzing the NVMe/TCP port for ${seconds} s, seed ${seed}, ${parallel} hostile connections at a time`);
runFuzz({ seconds, seed, parallel, log: (m) => console.log(m) })
  .then((r) => {
    if (r.leakedStaging !== 0 || r.connectionsLeft !== 2) {
      console.error(`FAIL: staging left ${r.leakedStaging} B, connections left ${r.connectionsLeft} (expected 0 and 2)`);
      process.exit(1);
    }
    console.log('OK');
  })
  .catch((e: unknown) => {
    console.error(`FAIL (seed ${seed}): ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  });
