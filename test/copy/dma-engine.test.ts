import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DmaEngine, defaultInlineThreshold } from '../../src/copy/dma-engine.js';
import type { DmaDescriptor } from '../../src/copy/descriptor.js';
import { DmaError } from '../../src/copy/errors.js';
import { DRAM, memoryRegion, regionView, type MemoryRegion } from '../../src/copy/region.js';
import { xorshift32 } from '../../src/stats/xorshift.js';

const KiB = 1024;
const MiB = 1024 * 1024;

const engines: DmaEngine[] = [];
function engine(opts: ConstructorParameters<typeof DmaEngine>[0] = {}): DmaEngine {
  const e = new DmaEngine(opts);
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

function sharedRegion(size: number, owner: string, seed?: number): MemoryRegion {
  const r = memoryRegion(new SharedArrayBuffer(size), owner);
  if (seed !== undefined) fillRandom(regionView(r), seed);
  return r;
}
/** Deterministic bytes (xorshift) so failures reproduce. */
function fillRandom(b: Uint8Array, seed: number): void {
  const next = xorshift32(seed);
  const words = Uint32Array.from({ length: Math.ceil(b.length / 4) }, next);
  b.set(new Uint8Array(words.buffer, 0, b.length));
}
function bytesOf(r: MemoryRegion, off = 0, len = r.length - off): Uint8Array {
  return regionView(r).slice(off, off + len);
}
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  // Compare as Buffers: vitest prints a short diff instead of megabytes of numbers.
  expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
}
async function rejection(p: Promise<unknown>): Promise<DmaError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DmaError);
  return e as DmaError;
}

describe('DmaEngine data movement', () => {
  it('copies many concurrent descriptors of mixed sizes, inline and on two workers', async () => {
    const eng = engine({ workers: 2, inlineThreshold: 64 * KiB });
    const src = sharedRegion(8 * MiB, '0000:03:00.0', 1);
    const dst = sharedRegion(32 * MiB, '0000:04:00.0');
    const sizes = [0, 1, 7, 512, 4 * KiB, 64 * KiB - 1, 64 * KiB, 128 * KiB, 300 * KiB + 3, MiB];
    const next = xorshift32(42);
    const reference = new Uint8Array(dst.length);
    const srcBytes = bytesOf(src);
    const pending: Promise<void>[] = [];
    let dOff = 0;
    for (let i = 0; i < 400 && dOff < dst.length; i++) {
      const len = Math.min(sizes[next() % sizes.length]!, dst.length - dOff);
      const sOff = next() % (src.length - len + 1);
      reference.set(srcBytes.subarray(sOff, sOff + len), dOff);
      pending.push(eng.submit({ src, dst, length: len, srcOffset: sOff, dstOffset: dOff }));
      dOff += len + (next() % 3); // gaps of 0..2 bytes stay zero
    }
    await Promise.all(pending);
    expectBytes(bytesOf(dst), reference);
    const s = eng.stats;
    expect(s.inlineSubmissions).toBeGreaterThan(0);
    expect(s.workerSubmissions).toBeGreaterThan(0);
    expect(s.submissions).toBe(pending.length);
    expect(eng.outstanding).toBe(0);
  });

  it('resolves a submission only once its bytes are in place', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 0 });
    const src = sharedRegion(16 * MiB, DRAM, 2);
    const dst = sharedRegion(16 * MiB, '0000:04:00.0');
    const checks: Promise<boolean>[] = [];
    for (let i = 0; i < 16; i++) {
      const off = i * MiB;
      checks.push(
        eng.submit({ src, dst, length: MiB, srcOffset: off, dstOffset: off }).then(() =>
          Buffer.from(bytesOf(dst, off, MiB)).equals(Buffer.from(bytesOf(src, off, MiB))),
        ),
      );
    }
    expect(await Promise.all(checks)).toEqual(new Array(16).fill(true));
  });

  it('runs the descriptors of one submission in order (a later one sees an earlier one)', async () => {
    for (const inlineThreshold of [0, Infinity]) {
      const eng = engine({ workers: 1, inlineThreshold });
      const a = sharedRegion(MiB, 'a', 3);
      const b = sharedRegion(MiB, 'b');
      const c = sharedRegion(MiB, 'c');
      await eng.submit([
        { src: a, dst: b, length: MiB },
        { src: b, dst: c, length: MiB },
        { src: a, dst: a, length: MiB - 1, srcOffset: 1, dstOffset: 0 }, // then shift a left by one
      ]);
      expectBytes(bytesOf(c), bytesOf(b));
      expectBytes(bytesOf(a, 0, MiB - 1), bytesOf(b, 1));
    }
  });

  it('treats overlapping source and destination in one memory as memmove', async () => {
    for (const inlineThreshold of [0, Infinity]) {
      const eng = engine({ workers: 1, inlineThreshold });
      const m = sharedRegion(4 * MiB, 'm', 4);
      const before = bytesOf(m);
      // forward overlap: dst after src
      await eng.submit({ src: m, dst: m, length: 2 * MiB, srcOffset: 0, dstOffset: 4096 });
      expectBytes(bytesOf(m, 4096, 2 * MiB), before.subarray(0, 2 * MiB));
      expectBytes(bytesOf(m, 0, 4096), before.subarray(0, 4096));
      // backward overlap: dst before src
      const mid = bytesOf(m);
      await eng.submit({ src: m, dst: m, length: 2 * MiB, srcOffset: MiB + 1, dstOffset: MiB });
      expectBytes(bytesOf(m, MiB, 2 * MiB), mid.subarray(MiB + 1, 3 * MiB + 1));
      expectBytes(bytesOf(m, 3 * MiB), mid.subarray(3 * MiB));
    }
  });

  it('keeps adjacent destinations separate and leaves bytes outside every descriptor untouched', async () => {
    const eng = engine({ workers: 2, inlineThreshold: 64 * KiB });
    const src = sharedRegion(4 * MiB, 's', 5);
    const dst = sharedRegion(4 * MiB + 2, 'd');
    regionView(dst).fill(0xee);
    const chunk = 128 * KiB + 1; // odd size: neighbours share no alignment
    const subs: Promise<void>[] = [];
    for (let i = 0; i < 31; i++) {
      subs.push(eng.submit({ src, dst, length: chunk, srcOffset: i * chunk, dstOffset: 1 + i * chunk }));
    }
    await Promise.all(subs);
    const d = bytesOf(dst);
    expect(d[0]).toBe(0xee);
    expectBytes(d.subarray(1, 1 + 31 * chunk), bytesOf(src, 0, 31 * chunk));
    expect(d.subarray(1 + 31 * chunk).every((x) => x === 0xee)).toBe(true);
  });

  it('handles a Uint8Array view of a SharedArrayBuffer (offsets relative to the view) on the workers', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 0 });
    const sab = new SharedArrayBuffer(4 * MiB);
    const view = new Uint8Array(sab, MiB, 2 * MiB);
    const src = sharedRegion(MiB, 'nic', 6);
    const dst = memoryRegion(view, 'cmb', 4096, MiB);
    await eng.submit({ src, dst, length: MiB - 4096, dstOffset: 4096 });
    const whole = new Uint8Array(sab);
    expectBytes(whole.subarray(MiB + 8192, 2 * MiB + 4096), bytesOf(src, 0, MiB - 4096));
    expect(whole.subarray(0, MiB + 8192).every((x) => x === 0)).toBe(true);
    expect(eng.stats.workerSubmissions).toBe(1);
  });

  it('copies from non-shared memory (a socket chunk) inline, whatever its size', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 0 });
    const chunk = Buffer.alloc(2 * MiB);
    fillRandom(chunk, 7);
    const src = memoryRegion(chunk.subarray(100), '0000:03:00.0'); // a view into a larger buffer
    const dst = sharedRegion(2 * MiB, DRAM);
    await eng.submit({ src, dst, length: MiB, srcOffset: 10, dstOffset: 5 });
    expectBytes(bytesOf(dst, 5, MiB), chunk.subarray(110, 110 + MiB));
    expect(eng.stats.inlineSubmissions).toBe(1);
    expect(eng.stats.workerSubmissions).toBe(0);
  });

  it('inline threshold follows the CPUs the process may use: all inline on one CPU, 64 KiB otherwise', async () => {
    expect([1, 2, 8].map((n) => defaultInlineThreshold(n))).toEqual([Number.POSITIVE_INFINITY, 64 * KiB, 64 * KiB]);
    // with one CPU, a 4 MiB copy of shared memory stays on the submitting thread
    const eng = engine({ workers: 1, inlineThreshold: defaultInlineThreshold(1) });
    const src = sharedRegion(4 * MiB, 's', 11);
    const dst = sharedRegion(4 * MiB, 'd');
    await eng.submit({ src, dst, length: 4 * MiB });
    expectBytes(bytesOf(dst, 0, 4 * MiB), bytesOf(src, 0, 4 * MiB));
    expect(eng.stats.inlineSubmissions).toBe(1);
    expect(eng.stats.workerSubmissions).toBe(0);
  });

  it('reads the affinity mask, not the machine: under taskset -c 0 the default is all inline', () => {
    const dist = fileURLToPath(new URL('../../dist/src/copy/dma-engine.js', import.meta.url));
    const r = spawnSync('taskset', ['-c', '0', process.execPath, '--input-type=module', '-e',
      `const m = await import(${JSON.stringify(dist)}); const e = new m.DmaEngine({ workers: 0 }); console.log(String(e.inlineThreshold)); await e.close();`], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('Infinity');
  });

  it('runs everything inline with workers: 0', async () => {
    const eng = engine({ workers: 0 });
    const src = sharedRegion(4 * MiB, 's', 8);
    const dst = sharedRegion(4 * MiB, 'd');
    await eng.submit({ src, dst, length: 4 * MiB });
    expectBytes(bytesOf(dst), bytesOf(src));
    expect(eng.stats).toMatchObject({ inlineSubmissions: 1, workerSubmissions: 0 });
  });

  it('wraps a small ring many times and queues what does not fit', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 0, ringCapacity: 4 });
    const src = sharedRegion(MiB, 's', 9);
    const dst = sharedRegion(MiB, 'd');
    const n = 3000;
    const len = 333;
    const subs: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const off = (i * len) % (MiB - len);
      // multi-descriptor submissions straddle the ring's end
      subs.push(eng.submit([
        { src, dst, length: 100, srcOffset: off, dstOffset: off },
        { src, dst, length: len - 100, srcOffset: off + 100, dstOffset: off + 100 },
      ]));
    }
    await Promise.all(subs);
    const covered = Math.min(MiB - len, n * len);
    expectBytes(bytesOf(dst, 0, covered), bytesOf(src, 0, covered));
    expect(eng.stats.workerSubmissions).toBe(n);
  });
});

describe('DmaEngine ordering across submissions', () => {
  it('read-after-write: a later submission reading what an earlier one writes sees the new bytes', async () => {
    const eng = engine({ workers: 2, inlineThreshold: 0 });
    const x = sharedRegion(4 * MiB, 'x', 10);
    const y = sharedRegion(4 * MiB, 'y', 11);
    const z = sharedRegion(4 * MiB, 'z');
    const p1 = eng.submit({ src: x, dst: y, length: 4 * MiB });
    const p2 = eng.submit({ src: y, dst: z, length: 4 * MiB });
    await Promise.all([p1, p2]);
    expectBytes(bytesOf(z), bytesOf(x));
    expect(eng.stats.hazardWaits).toBe(1);
  });

  it('write-after-write: the later submission wins', async () => {
    const eng = engine({ workers: 2, inlineThreshold: 0 });
    const p = sharedRegion(4 * MiB, 'p', 12);
    const q = sharedRegion(4 * MiB, 'q', 13);
    const y = sharedRegion(4 * MiB, 'y');
    await Promise.all([eng.submit({ src: p, dst: y, length: 4 * MiB }), eng.submit({ src: q, dst: y, length: 4 * MiB, srcOffset: 0 })]);
    expectBytes(bytesOf(y), bytesOf(q));
  });

  it('write-after-read: an earlier reader still sees the old bytes', async () => {
    const eng = engine({ workers: 2, inlineThreshold: 0 });
    const x = sharedRegion(4 * MiB, 'x', 14);
    const y = sharedRegion(4 * MiB, 'y', 15);
    const z = sharedRegion(4 * MiB, 'z');
    const oldY = bytesOf(y);
    await Promise.all([eng.submit({ src: y, dst: z, length: 4 * MiB }), eng.submit({ src: x, dst: y, length: 4 * MiB })]);
    expectBytes(bytesOf(z), oldY);
    expectBytes(bytesOf(y), bytesOf(x));
  });

  it('orders a small inline submission after a conflicting worker submission', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 64 * KiB });
    const x = sharedRegion(8 * MiB, 'x', 16);
    const y = sharedRegion(8 * MiB, 'y');
    const z = sharedRegion(4096, 'z');
    const big = eng.submit({ src: x, dst: y, length: 8 * MiB });
    const small = eng.submit({ src: y, dst: z, length: 4096, srcOffset: 8 * MiB - 4096 });
    let smallDone = false;
    void small.then(() => (smallDone = true));
    await small;
    expectBytes(bytesOf(z), bytesOf(x, 8 * MiB - 4096));
    await big;
    expect(smallDone).toBe(true);
  });

  it('runs non-conflicting small submissions at once while a large one is outstanding', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 64 * KiB });
    const x = sharedRegion(16 * MiB, 'x', 17);
    const y = sharedRegion(16 * MiB, 'y');
    const z = sharedRegion(4096, 'z');
    const big = eng.submit({ src: x, dst: y, length: 16 * MiB });
    // reads x (which the big one only reads) and writes z: no conflict, copied synchronously
    void eng.submit({ src: x, dst: z, length: 4096 });
    expectBytes(bytesOf(z), bytesOf(x, 0, 4096));
    expect(eng.stats.hazardWaits).toBe(0);
    await big;
  });

  it('keeps submission order in a chain of dependent submissions without awaiting', async () => {
    const eng = engine({ workers: 2, inlineThreshold: 64 * KiB });
    const regions = Array.from({ length: 6 }, (_, i) => sharedRegion(MiB, `r${i}`, i === 0 ? 18 : undefined));
    const all: Promise<void>[] = [];
    for (let i = 0; i + 1 < regions.length; i++) {
      // alternate worker-sized and inline-sized hops of one chain
      const length = i % 2 === 0 ? MiB : 32 * KiB;
      all.push(eng.submit({ src: regions[i]!, dst: regions[i + 1]!, length }));
    }
    await Promise.all(all);
    expectBytes(bytesOf(regions[5]!, 0, 32 * KiB), bytesOf(regions[0]!, 0, 32 * KiB));
  });
});

describe('DmaEngine errors and shutdown', () => {
  it('rejects invalid descriptors with EINVAL and copies nothing', async () => {
    const eng = engine({ workers: 1 });
    const src = sharedRegion(MiB, 's', 19);
    const dst = sharedRegion(MiB, 'd');
    const bad: DmaDescriptor[] = [
      { src, dst, length: -1 },
      { src, dst, length: 1.5 },
      { src, dst, length: MiB + 1 },
      { src, dst, length: 10, srcOffset: MiB - 5 },
      { src, dst, length: 10, dstOffset: -1 },
      { src: { memory: src.memory, offset: MiB - 10, length: 20, owner: 's' }, dst, length: 1 },
      { src: { memory: {} as SharedArrayBuffer, offset: 0, length: 1, owner: 's' }, dst, length: 1 },
    ];
    for (const d of bad) expect((await rejection(eng.submit(d))).code).toBe('EINVAL');
    // untyped callers: garbage in a list or instead of a region rejects, never throws
    expect((await rejection(eng.submit([null as unknown as DmaDescriptor]))).code).toBe('EINVAL');
    expect((await rejection(eng.submit({ src: undefined as unknown as MemoryRegion, dst, length: 1 }))).code).toBe('EINVAL');
    // a bad descriptor anywhere in a submission rejects all of it, before anything moves
    expect((await rejection(eng.submit([{ src, dst, length: 100 }, { src, dst, length: MiB + 1 }]))).code).toBe('EINVAL');
    expect(bytesOf(dst).every((x) => x === 0)).toBe(true);
    expect(eng.stats.submissions).toBe(0);
  });

  it('close() drains outstanding submissions, then rejects new ones with ECLOSED', async () => {
    const eng = engine({ workers: 2, inlineThreshold: 0 });
    const src = sharedRegion(32 * MiB, 's', 20);
    const dst = sharedRegion(32 * MiB, 'd');
    const subs: Promise<void>[] = [];
    for (let i = 0; i < 32; i++) subs.push(eng.submit({ src, dst, length: MiB, srcOffset: i * MiB, dstOffset: i * MiB }));
    const closed = eng.close();
    expect((await rejection(eng.submit({ src, dst, length: 1 }))).code).toBe('ECLOSED');
    await closed;
    await Promise.all(subs); // every one resolved
    expectBytes(bytesOf(dst), bytesOf(src));
    expect(eng.outstanding).toBe(0);
    expect(eng.close()).toBe(closed);
  });

  it('close() right behind a burst never loses the stop wake-up (30 cycles, 2 workers)', async () => {
    // The workers slept on HEAD, which STOP does not move: a stop notify landing between
    // a worker's STOP check and its wait was lost and close() hung (3 of 4 runs of 40
    // cycles hung before the WAKE word; 0 of 8 after).
    const src = sharedRegion(32 * MiB, 's', 22);
    const dst = sharedRegion(32 * MiB, 'd');
    for (let i = 0; i < 30; i++) {
      const eng = new DmaEngine({ workers: 2, inlineThreshold: 0 });
      const subs: Promise<void>[] = [];
      for (let k = 0; k < 32; k++) subs.push(eng.submit({ src, dst, length: MiB, srcOffset: k * MiB, dstOffset: k * MiB }));
      let timer: NodeJS.Timeout | undefined;
      const verdict = await Promise.race([
        eng.close().then(() => 'closed'),
        new Promise<string>((r) => (timer = setTimeout(() => r(`close() hung in cycle ${i}`), 10_000))),
      ]);
      clearTimeout(timer);
      expect(verdict).toBe('closed');
      await Promise.all(subs);
    }
    expectBytes(bytesOf(dst), bytesOf(src));
  }, 120_000);

  it('close({ abort: true }) rejects what has not reached a worker, and those bytes stay untouched', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 0, ringCapacity: 2 });
    const src = sharedRegion(24 * MiB, 's', 21);
    const dst = sharedRegion(24 * MiB, 'd');
    const subs: Promise<void>[] = [];
    for (let i = 0; i < 24; i++) subs.push(eng.submit({ src, dst, length: MiB, srcOffset: i * MiB, dstOffset: i * MiB }));
    // and one blocked behind the first (it reads what #0 writes)
    const blocked = eng.submit({ src: dst, dst: src, length: 10, srcOffset: 0, dstOffset: 23 * MiB });
    const settled = Promise.allSettled(subs);
    const blockedError = rejection(blocked);
    await eng.close({ abort: true });
    const outcomes = await settled;
    let aborted = 0;
    outcomes.forEach((o, i) => {
      const got = bytesOf(dst, i * MiB, MiB);
      if (o.status === 'fulfilled') {
        expectBytes(got, bytesOf(src, i * MiB, MiB));
      } else {
        expect((o.reason as DmaError).code).toBe('EABORTED');
        expect(got.every((x) => x === 0)).toBe(true);
        aborted++;
      }
    });
    expect(aborted).toBeGreaterThan(0);
    expect(outcomes[0]!.status).toBe('fulfilled'); // on the ring before close
    expect((await blockedError).code).toBe('EABORTED');
  });
});

describe('DmaEngine memory lifetime', () => {
  it('does not keep transient shared memories alive in its workers', async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settle = async (): Promise<void> => {
      gc();
      await new Promise((r) => setTimeout(r, 25)); // FinalizationRegistry callbacks run as tasks
    };
    const eng = engine({ workers: 1, inlineThreshold: 0 });
    const dst = sharedRegion(8 * MiB, DRAM);
    const round = async (): Promise<void> => {
      const src = memoryRegion(new SharedArrayBuffer(8 * MiB), '0000:04:00.0');
      regionView(src).fill(1); // touch every page so a leak shows in RSS
      await eng.submit({ src, dst, length: 8 * MiB });
    };
    for (let i = 0; i < 4; i++) await round();
    await settle();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 64; i++) {
      await round();
      if (i % 8 === 7) await settle();
    }
    // 64 × 8 MiB = 512 MiB if the worker pinned them; the GC threshold leaves ≤ 64 MiB behind.
    // Finalization and the worker's GC are asynchronous: allow a loaded machine up to ~2 s.
    let growth = Infinity;
    for (let i = 0; i < 40 && growth >= 256 * MiB; i++) {
      await settle();
      await eng.submit({ src: dst, dst, length: 1 }); // let the worker pass its idle path once more
      await settle();
      growth = process.memoryUsage().rss - before;
    }
    expect(growth).toBeLessThan(256 * MiB);
  });
});

describe('DmaEngine.submitNow (the synchronous hot path)', () => {
  it('lands small submissions before returning (undefined, no promise) and reads the descriptors only during the call', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 64 * KiB });
    const src = sharedRegion(256 * KiB, '0000:03:00.0', 7);
    const dst = sharedRegion(256 * KiB, '0000:04:00.0');
    const d = { src, dst, length: 4 * KiB, srcOffset: 0, dstOffset: 0 };
    const descs: DmaDescriptor[] = [d, { src, dst, length: 512, srcOffset: 8 * KiB, dstOffset: 100 * KiB }];
    expect(eng.submitNow(descs, 2)).toBeUndefined();
    expectBytes(bytesOf(dst, 0, 4 * KiB), bytesOf(src, 0, 4 * KiB));
    expectBytes(bytesOf(dst, 100 * KiB, 512), bytesOf(src, 8 * KiB, 512));
    // the caller reuses the same objects for the next submission; `count` limits the list
    d.srcOffset = 4 * KiB;
    d.dstOffset = 4 * KiB;
    expect(eng.submitNow(descs, 1)).toBeUndefined();
    expectBytes(bytesOf(dst, 4 * KiB, 4 * KiB), bytesOf(src, 4 * KiB, 4 * KiB));
    expect(eng.stats.inlineSubmissions).toBe(2);
    // at or above the threshold: a worker copy, so a promise
    d.length = 128 * KiB;
    d.srcOffset = 128 * KiB;
    d.dstOffset = 128 * KiB;
    const p = eng.submitNow(descs, 1);
    expect(p).toBeInstanceOf(Promise);
    await p;
    expectBytes(bytesOf(dst, 128 * KiB, 128 * KiB), bytesOf(src, 128 * KiB, 128 * KiB));
    expect(eng.stats.workerSubmissions).toBe(1);
    expect((await rejection(eng.submitNow(descs, 3)!)).code).toBe('EINVAL');
  });

  it('waits (a promise) behind an outstanding conflicting worker submission instead of copying ahead of it', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 64 * KiB });
    const a = sharedRegion(1 * MiB, '0000:03:00.0', 3);
    const b = sharedRegion(1 * MiB, '0000:04:00.0');
    const c = sharedRegion(4 * KiB, '0000:05:00.0');
    const big = eng.submit({ src: a, dst: b, length: MiB });
    // reads bytes the worker is still writing: must see them after it landed
    const p = eng.submitNow([{ src: b, dst: c, length: 4 * KiB, srcOffset: MiB - 4 * KiB, dstOffset: 0 }], 1);
    expect(p).toBeInstanceOf(Promise);
    await Promise.all([big, p]);
    expectBytes(bytesOf(c), bytesOf(a, MiB - 4 * KiB, 4 * KiB));
  });
});

describe('DmaEngine.copyNow (one descriptor, no descriptor object)', () => {
  it('behaves as submitNow of the same descriptor: inline lands at once, worker-sized and conflicting ones give a promise, bad ones the same EINVAL', async () => {
    const eng = engine({ workers: 1, inlineThreshold: 64 * KiB });
    const ref = engine({ workers: 1, inlineThreshold: 64 * KiB });
    const src = sharedRegion(1 * MiB, '0000:03:00.0', 11);
    const dst = sharedRegion(1 * MiB, '0000:04:00.0');
    expect(eng.copyNow(src, 4 * KiB, dst, 8 * KiB, 4 * KiB)).toBeUndefined();
    expectBytes(bytesOf(dst, 8 * KiB, 4 * KiB), bytesOf(src, 4 * KiB, 4 * KiB));
    // a Uint8Array view of a SharedArrayBuffer, offsets relative to the view, counts as shared: a worker copy
    const view = new Uint8Array(new SharedArrayBuffer(512 * KiB), 64 * KiB, 256 * KiB);
    const viewRegion: MemoryRegion = { memory: view, offset: 16 * KiB, length: 128 * KiB, owner: DRAM };
    const p = eng.copyNow(src, 0, viewRegion, 0, 128 * KiB);
    expect(p).toBeInstanceOf(Promise);
    // conflicting with the outstanding worker copy: waits behind it
    const q = eng.copyNow(viewRegion, 0, dst, 512 * KiB, 4 * KiB);
    expect(q).toBeInstanceOf(Promise);
    await Promise.all([p, q]);
    expectBytes(view.subarray(16 * KiB, 144 * KiB), bytesOf(src, 0, 128 * KiB));
    expectBytes(bytesOf(dst, 512 * KiB, 4 * KiB), bytesOf(src, 0, 4 * KiB));
    // plain memory: inline whatever the size
    const plain: MemoryRegion = { memory: new Uint8Array(256 * KiB), offset: 0, length: 256 * KiB, owner: DRAM };
    expect(eng.copyNow(src, 0, plain, 0, 256 * KiB)).toBeUndefined();
    expectBytes(regionView(plain), bytesOf(src, 0, 256 * KiB));
    // the one that waited ran inline once unblocked
    expect(eng.stats).toMatchObject({ submissions: 4, inlineSubmissions: 3, workerSubmissions: 1, hazardWaits: 1, descriptors: 4 });
    // invalid: the same rejection as submitNow, nothing copied
    const cases: [MemoryRegion, number, MemoryRegion, number, number][] = [
      [src, MiB, dst, 0, 1],
      [src, 0, dst, -1, 16],
      [src, 0, dst, 0, 1.5],
      [{ memory: {} as SharedArrayBuffer, offset: 0, length: 1, owner: 's' }, 0, dst, 0, 1],
      [src, 0, { ...dst, owner: 7 as unknown as string }, 0, 1],
    ];
    for (const [s, so, d, dO, len] of cases) {
      const mine = await rejection(eng.copyNow(s, so, d, dO, len)!);
      const theirs = await rejection(ref.submitNow([{ src: s, dst: d, length: len, srcOffset: so, dstOffset: dO }], 1)!);
      expect(mine.code).toBe('EINVAL');
      expect(mine.message).toBe(theirs.message);
    }
    await eng.close();
    expect((await rejection(eng.copyNow(src, 0, dst, 0, 1)!)).code).toBe('ECLOSED');
  });

  it('plain views inline: the whole source view, a region inside it and a shorter prefix copy exactly their bytes', () => {
    const eng = engine({ workers: 0 });
    const backing = new Uint8Array(64 * KiB);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 7 + (i >> 9)) & 0xff;
    // a 4 KiB view that starts 8 KiB into its buffer, as a pooled staging view may
    const whole = backing.subarray(8 * KiB, 12 * KiB);
    const dstMem = new Uint8Array(16 * KiB).fill(0xee);
    const dstR: MemoryRegion = { memory: dstMem, offset: 4 * KiB, length: 8 * KiB, owner: DRAM };
    const wholeR: MemoryRegion = { memory: whole, offset: 0, length: 4 * KiB, owner: DRAM };
    expect(eng.copyNow(wholeR, 0, dstR, 1024, 4 * KiB)).toBeUndefined();
    expectBytes(dstMem.subarray(5 * KiB, 9 * KiB), backing.subarray(8 * KiB, 12 * KiB));
    expect(dstMem[5 * KiB - 1]).toBe(0xee);
    expect(dstMem[9 * KiB]).toBe(0xee);
    // a region 1 KiB into the view, copied from 512 bytes into the region
    const partR: MemoryRegion = { memory: whole, offset: 1024, length: 3 * KiB, owner: DRAM };
    expect(eng.copyNow(partR, 512, dstR, 0, 2 * KiB)).toBeUndefined();
    expectBytes(dstMem.subarray(4 * KiB, 6 * KiB), backing.subarray(8 * KiB + 1536, 8 * KiB + 3584));
    // the view from 0 but shorter than it
    dstMem.fill(0xee);
    expect(eng.copyNow(wholeR, 0, dstR, 0, 1 * KiB)).toBeUndefined();
    expectBytes(dstMem.subarray(4 * KiB, 5 * KiB), backing.subarray(8 * KiB, 9 * KiB));
    expect(dstMem[5 * KiB]).toBe(0xee);
    expect(eng.stats).toMatchObject({ submissions: 3, inlineSubmissions: 3, bytes: 7 * KiB });
  });
});
