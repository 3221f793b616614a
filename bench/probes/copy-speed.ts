/**
 * Issue 13: what the media→staging copy costs on this machine, apart from everything
 * else. `Uint8Array.set` (the copy engine's inline copy) of 4 KiB and 128 KiB blocks
 * walking a 64 MiB region (so the source is not in cache, as with a 256 MiB namespace
 * range), between SharedArrayBuffers (the emulator's memories) and between plain
 * ArrayBuffers, for comparison.
 *
 *   npm run build && node dist/bench/probes/copy-speed.js
 */
const SPAN = 64 * 1024 * 1024;

function measure(shared: boolean, len: number): { us: number; gbps: number } {
  const a = shared ? new SharedArrayBuffer(SPAN) : new ArrayBuffer(SPAN);
  const b = shared ? new SharedArrayBuffer(SPAN) : new ArrayBuffer(SPAN);
  new Uint8Array(a).fill(7);
  new Uint8Array(b).fill(1);
  const slots = SPAN / len;
  const iters = Math.floor(5e8 / len);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    const o = (i % slots) * len;
    new Uint8Array(b, o, len).set(new Uint8Array(a, o, len));
  }
  const ms = performance.now() - t0;
  return { us: (ms * 1000) / iters, gbps: (iters * len) / ms / 1e6 };
}

console.log(`Node ${process.version}; Uint8Array.set over a ${SPAN >> 20} MiB span`);
console.log('| memory | block | µs per block | GB/s |');
console.log('| --- | ---: | ---: | ---: |');
for (const shared of [true, false]) {
  for (const len of [4096, 131072]) {
    measure(shared, len); // warm-up: JIT and page faults
    const r = measure(shared, len);
    console.log(`| ${shared ? 'SharedArrayBuffer' : 'ArrayBuffer'} | ${len >> 10} KiB | ${r.us.toFixed(2)} | ${r.gbps.toFixed(2)} |`);
  }
}
