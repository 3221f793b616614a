/**
 * Index of the byte ranges outstanding submissions read and write, to find the
 * earlier submissions a new one conflicts with without scanning all of them.
 *
 * Per backing buffer, ranges are bucketed by the granule (256 KiB) their start falls
 * in. A range overlapping [s, e) starts after s − maxLen, where maxLen is the longest
 * range added since the buffer last had none outstanding, so a query visits the
 * buckets from (s − maxLen) to e only. Adding is O(1), removing O(1) (swap-remove; an
 * entry knows its bucket and index), a query costs the granules spanned plus the
 * entries in them. A buffer's index is dropped when its last range goes, so the
 * index never keeps caller memory (e.g. socket chunks) alive.
 */

const GRANULE_SHIFT = 18;

export interface HazardOwner {
  /** Query epoch that last reported this owner (dedupes owners with several ranges). */
  mark: number;
}

export interface HazardEntry<T extends HazardOwner> {
  readonly buf: ArrayBufferLike;
  readonly start: number;
  readonly end: number;
  readonly write: boolean;
  readonly owner: T;
  bucket: HazardEntry<T>[];
  index: number;
}

interface BufIndex<T extends HazardOwner> {
  readonly buckets: Map<number, HazardEntry<T>[]>;
  count: number;
  maxLen: number;
}

export class HazardIndex<T extends HazardOwner> {
  readonly #bufs = new Map<ArrayBufferLike, BufIndex<T>>();
  #size = 0;
  #epoch = 0;

  /** Ranges currently indexed. */
  get size(): number {
    return this.#size;
  }

  /** Start a query: owners reported by `collect` calls until the next `begin` are distinct. */
  begin(): number {
    return ++this.#epoch;
  }

  /**
   * Push onto `out` every owner not yet reported in this epoch with a range that
   * overlaps [start, start + len) of `buf` and conflicts (`write`, or the indexed
   * range is a write).
   */
  collect(buf: ArrayBufferLike, start: number, len: number, write: boolean, out: T[]): void {
    if (len === 0) return;
    const bi = this.#bufs.get(buf);
    if (bi === undefined) return;
    const end = start + len;
    const epoch = this.#epoch;
    const first = Math.max(0, start - bi.maxLen + 1);
    const g0 = Math.floor(first / 2 ** GRANULE_SHIFT);
    const g1 = Math.floor((end - 1) / 2 ** GRANULE_SHIFT);
    for (let g = g0; g <= g1; g++) {
      const bucket = bi.buckets.get(g);
      if (bucket === undefined) continue;
      for (let i = 0; i < bucket.length; i++) {
        const e = bucket[i]!;
        if (e.start < end && start < e.end && (write || e.write) && e.owner.mark !== epoch) {
          e.owner.mark = epoch;
          out.push(e.owner);
        }
      }
    }
  }

  add(buf: ArrayBufferLike, start: number, len: number, write: boolean, owner: T): HazardEntry<T> | null {
    if (len === 0) return null;
    let bi = this.#bufs.get(buf);
    if (bi === undefined) {
      bi = { buckets: new Map(), count: 0, maxLen: 0 };
      this.#bufs.set(buf, bi);
    }
    const g = Math.floor(start / 2 ** GRANULE_SHIFT);
    let bucket = bi.buckets.get(g);
    if (bucket === undefined) {
      bucket = [];
      bi.buckets.set(g, bucket);
    }
    const e: HazardEntry<T> = { buf, start, end: start + len, write, owner, bucket, index: bucket.length };
    bucket.push(e);
    bi.count++;
    if (len > bi.maxLen) bi.maxLen = len;
    this.#size++;
    return e;
  }

  remove(e: HazardEntry<T>): void {
    const bucket = e.bucket;
    const last = bucket.pop()!;
    if (last !== e) {
      bucket[e.index] = last;
      last.index = e.index;
    }
    this.#size--;
    const bi = this.#bufs.get(e.buf)!;
    if (--bi.count === 0) this.#bufs.delete(e.buf);
  }
}
