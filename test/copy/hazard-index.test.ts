import { describe, expect, it } from 'vitest';
import { HazardIndex, type HazardOwner } from '../../src/copy/hazard-index.js';

interface Owner extends HazardOwner {
  readonly name: string;
}
const owner = (name: string): Owner => ({ name, mark: 0 });

function query(hz: HazardIndex<Owner>, buf: ArrayBufferLike, start: number, len: number, write: boolean): string[] {
  const out: Owner[] = [];
  hz.begin();
  hz.collect(buf, start, len, write, out);
  return out.map((o) => o.name).sort();
}

describe('HazardIndex', () => {
  const A = new SharedArrayBuffer(8);
  const B = new SharedArrayBuffer(8);

  // indexed: r = read [1000, 2000) of A, w = write [5000, 6000) of A
  const cases: { what: string; buf: ArrayBufferLike; start: number; len: number; write: boolean; expect: string[] }[] = [
    { what: 'read overlapping a read', buf: A, start: 1500, len: 10, write: false, expect: [] },
    { what: 'write overlapping a read', buf: A, start: 1999, len: 10, write: true, expect: ['r'] },
    { what: 'read overlapping a write', buf: A, start: 4000, len: 1001, write: false, expect: ['w'] },
    { what: 'write adjacent below a read', buf: A, start: 990, len: 10, write: true, expect: [] },
    { what: 'write adjacent above a write', buf: A, start: 6000, len: 10, write: true, expect: [] },
    { what: 'write covering both', buf: A, start: 0, len: 10_000, write: true, expect: ['r', 'w'] },
    { what: 'same offsets in another buffer', buf: B, start: 0, len: 10_000, write: true, expect: [] },
    { what: 'zero length', buf: A, start: 1500, len: 0, write: true, expect: [] },
  ];
  for (const c of cases) {
    it(`${c.what} → ${c.expect.join(', ') || 'no conflict'}`, () => {
      const hz = new HazardIndex<Owner>();
      hz.add(A, 1000, 1000, false, owner('r'));
      hz.add(A, 5000, 1000, true, owner('w'));
      expect(query(hz, c.buf, c.start, c.len, c.write)).toEqual(c.expect);
    });
  }

  it('finds a long range that starts many granules before the query', () => {
    const hz = new HazardIndex<Owner>();
    hz.add(A, 0, 64 * 1024 * 1024, true, owner('big'));
    hz.add(A, 70 * 1024 * 1024, 4096, true, owner('small'));
    expect(query(hz, A, 63 * 1024 * 1024, 1, false)).toEqual(['big']);
    expect(query(hz, A, 64 * 1024 * 1024, 1, false)).toEqual([]);
  });

  it('reports an owner once per query even when several of its ranges conflict', () => {
    const hz = new HazardIndex<Owner>();
    const o = owner('o');
    hz.add(A, 0, 100, true, o);
    hz.add(A, 1 << 20, 100, true, o);
    const out: Owner[] = [];
    hz.begin();
    hz.collect(A, 0, 2 << 20, false, out);
    hz.collect(A, 50, 10, true, out);
    expect(out).toEqual([o]);
  });

  it('removes entries (swap-remove keeps the others findable) and drops a buffer once empty', () => {
    const hz = new HazardIndex<Owner>();
    const es = ['a', 'b', 'c', 'd'].map((n, i) => hz.add(A, i * 10, 10, true, owner(n))!);
    hz.remove(es[1]!);
    expect(query(hz, A, 0, 40, false)).toEqual(['a', 'c', 'd']);
    hz.remove(es[0]!);
    hz.remove(es[3]!);
    expect(query(hz, A, 0, 40, false)).toEqual(['c']);
    hz.remove(es[2]!);
    expect(hz.size).toBe(0);
    // after the buffer emptied, its longest-range bound restarts: a small range is found exactly
    hz.add(A, 1 << 30, 8, true, owner('late'));
    expect(query(hz, A, (1 << 30) + 7, 1, false)).toEqual(['late']);
    expect(query(hz, A, (1 << 30) + 8, 1, false)).toEqual([]);
  });

  it('ignores zero-length ranges', () => {
    const hz = new HazardIndex<Owner>();
    expect(hz.add(A, 0, 0, true, owner('z'))).toBeNull();
    expect(hz.size).toBe(0);
  });
});
