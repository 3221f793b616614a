/**
 * The allocated media chunks of a RAM namespace, by chunk index. Every read and write
 * looks one up, and a Map lookup there was ~2 % of a 4 KiB random read's CPU (perf
 * record, bench/README.md "Session 6"): so while one slot per chunk stays small (up to DENSE_MAX
 * slots, 128 GiB of 128 KiB chunks, 8 MiB of slots) the table is a packed array, and a
 * Map beyond, where a sparse multi-terabyte namespace must not cost memory per chunk it
 * never wrote.
 */

/** Most slots held as an array; larger namespaces keep a Map. */
export const DENSE_MAX = 1 << 20;

export class MediaChunks<T extends object> {
  private readonly dense: (T | undefined)[] | null;
  private readonly sparse: Map<number, T> | null;
  private count = 0;

  constructor(slots: number) {
    if (slots <= DENSE_MAX) {
      // Pushed one by one: `new Array(n)` beyond V8's fast-array limit starts out as a dictionary.
      const a: (T | undefined)[] = [];
      for (let i = 0; i < slots; i++) a.push(undefined);
      this.dense = a;
      this.sparse = null;
    } else {
      this.dense = null;
      this.sparse = new Map();
    }
  }

  get size(): number {
    return this.count;
  }

  get(idx: number): T | undefined {
    const d = this.dense;
    return d !== null ? d[idx] : this.sparse!.get(idx);
  }

  set(idx: number, v: T): void {
    const d = this.dense;
    if (d !== null) {
      if (idx < 0 || idx >= d.length || !Number.isInteger(idx)) throw new RangeError(`media chunk ${idx} outside 0..${d.length - 1}`);
      if (d[idx] === undefined) this.count++;
      d[idx] = v;
      return;
    }
    const m = this.sparse!;
    if (!m.has(idx)) this.count++;
    m.set(idx, v);
  }

  delete(idx: number): void {
    const d = this.dense;
    if (d !== null) {
      if (d[idx] !== undefined) {
        d[idx] = undefined;
        this.count--;
      }
      return;
    }
    if (this.sparse!.delete(idx)) this.count--;
  }

  clear(): void {
    const d = this.dense;
    if (d !== null) d.fill(undefined);
    else this.sparse!.clear();
    this.count = 0;
  }

  /** The allocated chunks whose index is in [first, last], ascending (a snapshot). */
  inRange(first: number, last: number): [number, T][] {
    const out: [number, T][] = [];
    const d = this.dense;
    if (d !== null) {
      const hi = Math.min(last, d.length - 1);
      for (let i = Math.max(first, 0); i <= hi; i++) {
        const v = d[i];
        if (v !== undefined) out.push([i, v]);
      }
      return out;
    }
    for (const [i, v] of this.sparse!) if (i >= first && i <= last) out.push([i, v]);
    return out.sort((a, b) => a[0] - b[0]);
  }
}
