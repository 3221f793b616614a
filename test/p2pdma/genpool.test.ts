import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GenPool } from '../../src/p2pdma/index.js';

const PAGE = 4096;

describe('GenPool (genalloc first-fit, page granular)', () => {
  it('rounds sizes up to the granule and allocates first fit from the lowest address', () => {
    const p = new GenPool(12);
    p.add(0x10000, 0x90000, 16 * PAGE, undefined);
    const a = p.alloc(1)!;
    const b = p.alloc(PAGE + 1)!;
    expect([a.virt, a.reserved]).toEqual([0x10000, PAGE]);
    expect([b.virt, b.reserved]).toEqual([0x11000, 2 * PAGE]);
    expect(b.phys).toBe(0x91000);
    expect(p.avail).toBe(13 * PAGE);
    expect(p.free(a.virt, 1)).toBe(true);
    const c = p.alloc(PAGE)!;
    expect(c.virt).toBe(0x10000); // the hole left by `a`
    expect(p.alloc(0)).toBeNull();
  });

  it('searches the most recently added chunk first, like gen_pool_add', () => {
    const p = new GenPool<string>(12);
    p.add(0x100000, 0x100000, 4 * PAGE, 'first');
    p.add(0x200000, 0x200000, 4 * PAGE, 'second');
    expect(p.alloc(PAGE)!.chunk.tag).toBe('second');
    expect(p.chunkList.map((c) => c.tag)).toEqual(['second', 'first']);
  });

  it('never spans two chunks, even when they are adjacent', () => {
    const p = new GenPool(12);
    p.add(0x100000, 0x100000, 4 * PAGE, undefined);
    p.add(0x104000, 0x104000, 4 * PAGE, undefined);
    expect(p.avail).toBe(8 * PAGE);
    expect(p.alloc(6 * PAGE)).toBeNull();
    expect(p.alloc(4 * PAGE)).not.toBeNull();
  });

  it('fails a contiguous request in a fragmented chunk while avail is larger', () => {
    const p = new GenPool(12);
    p.add(0, 0, 8 * PAGE, undefined);
    const allocs = Array.from({ length: 8 }, () => p.alloc(PAGE)!);
    for (let i = 0; i < 8; i += 2) expect(p.free(allocs[i]!.virt, PAGE)).toBe(true);
    expect(p.avail).toBe(4 * PAGE);
    expect(p.largestFree).toBe(PAGE);
    expect(p.alloc(2 * PAGE)).toBeNull();
    // freeing a neighbour coalesces the hole
    expect(p.free(allocs[1]!.virt, PAGE)).toBe(true);
    expect(p.largestFree).toBe(3 * PAGE);
    expect(p.alloc(3 * PAGE)!.virt).toBe(0);
  });

  it('rejects frees that do not match a live allocation', () => {
    const p = new GenPool(12);
    p.add(0, 0, 8 * PAGE, undefined);
    const a = p.alloc(2 * PAGE)!;
    expect(p.free(a.virt, PAGE)).toBe(false); // wrong size
    expect(p.free(a.virt + PAGE, PAGE)).toBe(false); // not the start
    expect(p.free(0x999999, PAGE)).toBe(false); // outside the pool
    expect(p.free(a.virt, 2 * PAGE)).toBe(true);
    expect(p.free(a.virt, 2 * PAGE)).toBe(false); // double free
    expect(p.avail).toBe(8 * PAGE);
  });

  it('translates addresses inside a chunk (gen_pool_virt_to_phys)', () => {
    const p = new GenPool(12);
    p.add(0x6000_0000, 0x1000_0000, 4 * PAGE, undefined);
    expect(p.virtToPhys(0x6000_0123)).toBe(0x1000_0123);
    expect(p.virtToPhys(0x6000_4000)).toBe(-1);
  });

  it('matches a bitmap first-fit reference model on random workloads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.oneof(fc.record({ op: fc.constant('a' as const), pages: fc.integer({ min: 1, max: 10 }) }), fc.record({ op: fc.constant('f' as const), pick: fc.nat() })), { maxLength: 80 }),
        (chunkPages, ops) => checkAgainstBitmap(chunkPages, ops),
      ),
      { numRuns: 200 },
    );
  });

  it('matches the reference on long staging-like workloads (mostly 1-page SGLs, many holes, frees in any order)', () => {
    const pages = fc.oneof({ arbitrary: fc.constant(1), weight: 6 }, { arbitrary: fc.integer({ min: 2, max: 40 }), weight: 1 });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 16, max: 256 }), { minLength: 1, maxLength: 2 }),
        fc.array(fc.oneof(fc.record({ op: fc.constant('a' as const), pages }), fc.record({ op: fc.constant('f' as const), pick: fc.nat() })), { minLength: 50, maxLength: 400 }),
        (chunkPages, ops) => checkAgainstBitmap(chunkPages, ops),
      ),
      { numRuns: 60 },
    );
  });
});

type Op = { op: 'a'; pages: number } | { op: 'f'; pick: number };

/**
 * Run `ops` on a GenPool and on a reference genalloc (one bitmap per chunk, newest chunk
 * first, lowest free run first) and require the same address for every allocation, and
 * the same available bytes, largest free run and live count after every step.
 */
function checkAgainstBitmap(chunkPages: readonly number[], ops: readonly Op[]): void {
  const p = new GenPool(12);
  const ref: { base: number; map: boolean[] }[] = [];
  let base = 0;
  for (const n of chunkPages) {
    p.add(base, base + 0x1000_0000, n * PAGE, undefined);
    ref.unshift({ base, map: new Array<boolean>(n).fill(false) });
    base += (n + 1) * PAGE;
  }
  const live: { virt: number; pages: number }[] = [];
  for (const o of ops) {
    if (o.op === 'a') {
      let want: number | null = null;
      outer: for (const c of ref) {
        for (let s = 0; s + o.pages <= c.map.length; s++) {
          if (c.map.slice(s, s + o.pages).every((x) => !x)) {
            for (let k = 0; k < o.pages; k++) c.map[s + k] = true;
            want = c.base + s * PAGE;
            break outer;
          }
        }
      }
      const got = p.alloc(o.pages * PAGE - 7);
      expect(got?.virt ?? null).toBe(want);
      if (got) live.push({ virt: got.virt, pages: o.pages });
    } else if (live.length > 0) {
      const [x] = live.splice(o.pick % live.length, 1);
      const c = ref.find((r) => x!.virt >= r.base && x!.virt < r.base + r.map.length * PAGE)!;
      const s = (x!.virt - c.base) / PAGE;
      for (let k = 0; k < x!.pages; k++) c.map[s + k] = false;
      expect(p.free(x!.virt, x!.pages * PAGE)).toBe(true);
    }
    const refFree = ref.reduce((n, c) => n + c.map.filter((b) => !b).length, 0);
    expect(p.avail).toBe(refFree * PAGE);
    let longest = 0;
    for (const c of ref) {
      let run = 0;
      for (const used of c.map) longest = Math.max(longest, (run = used ? 0 : run + 1));
    }
    expect(p.largestFree).toBe(longest * PAGE); // extents stay coalesced
    expect(p.outstanding).toBe(live.length);
  }
}
