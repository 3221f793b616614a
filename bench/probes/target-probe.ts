/**
 * Preloaded into the target by the profile bench (`node --import`): counts
 * promises created (v8 promise hooks: every async function call, await and
 * .then makes one) and garbage collections, and prints the running totals as one
 * `PROBE {...}` line on stderr at each SIGUSR2. Only for a counting pass: the
 * promise hook itself costs time, so timings come from a run without it.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { promiseHooks } from 'node:v8';

let promises = 0;
let gcs = 0;
let gcMs = 0;
promiseHooks.onInit(() => {
  promises++;
});
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcs++;
    gcMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  process.stderr.write(`PROBE ${JSON.stringify({ promises, gcs, gcMs })}\n`);
});
