/**
 * The DMA engine: moves descriptors' bytes between memory regions, on worker
 * threads for large copies and inline on the main thread for small ones, and feeds
 * link accounting and optional pacing.
 *
 * Semantics (exact):
 *  - `submit(desc | desc[])` is one submission. Its promise resolves once every byte
 *    of every descriptor in it is in place and visible to the main thread (and, with
 *    a pacer, not before the modelled transfer time). It rejects only with a
 *    {@link DmaError}: EINVAL (nothing copied), ECLOSED (nothing copied), EABORTED
 *    (nothing copied) or EWORKER (its worker died; bytes may be partial).
 *  - Descriptors of one submission run in array order on one thread: a later one sees
 *    what an earlier one wrote. Overlapping source and destination behave as memmove.
 *  - Across submissions the result is as if they ran one at a time in submission
 *    order: a submission whose ranges conflict with an earlier one still outstanding
 *    (same memory, overlapping bytes, at least one side written) starts only after
 *    that one landed. Non-conflicting submissions run concurrently and may complete in
 *    any order. So staging→media issued right after NIC→staging into the same staging
 *    buffer, or two writes to one LBA range, keep their submission order even without
 *    awaiting in between.
 *  - Accounting records each descriptor once its bytes landed.
 *  - `close()` stops accepting work (later submits reject ECLOSED) and drains
 *    everything outstanding. `close({ abort: true })` rejects with EABORTED every
 *    submission none of whose descriptors reached a worker yet (blocked or in a ring
 *    backlog); submissions already on a ring finish and resolve. Either way the
 *    returned promise resolves once no submission is left and the workers stopped.
 *
 * Where copies run: inline when the pool is disabled (`workers: 0`), when any memory
 * of the submission is not shared (e.g. a socket chunk), or when its total length is
 * below `inlineThreshold`. Otherwise the submission goes to the worker ring with the
 * fewest pending bytes (all its descriptors on one ring, in order). Each worker runs a
 * descriptor ring in a SharedArrayBuffer (copy-worker.ts); descriptors are written to
 * the ring at submit time, and the worker drains everything published before it
 * sleeps, so descriptors submitted while it copies form one batch with no message or
 * wake-up per descriptor. The threads are a piscina pool running one long-lived ring
 * task per worker.
 */

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { CopyRing, type RingHost } from './copy-ring.js';
import type { DmaDescriptor } from './descriptor.js';
import { DmaError } from './errors.js';
import type { DmaAccounting } from './link-accounting.js';
import type { DmaPacer } from './link-pacer.js';
import type { DmaMemory, MemoryOwner, MemoryRegion } from './region.js';
import { HazardIndex } from './hazard-index.js';
import { SubState, Submission } from './submission.js';
import { workerFile } from './worker-file.js';

/**
 * Default inline threshold in bytes: submissions with fewer bytes are copied on the
 * main thread. From 64 KiB up, offloading at least halves the main thread's CPU time
 * per byte (measured with `node dist/bench/copy-engine.js --threshold`; method and
 * figures in src/copy/README.md); below, the thread hop costs more than it saves.
 */
export const DEFAULT_INLINE_THRESHOLD = 64 * 1024;

/**
 * The inline threshold for a process that may run on `cpus` CPUs (its affinity mask,
 * e.g. `taskset -c 0`, not the machine's count). With one CPU a worker copy cannot run
 * beside the event loop: it only time-slices the same CPU and adds a futex wake-up and
 * two context switches per submission, so every copy runs inline. Measured with the
 * target pinned to one CPU (bench/README.md, "copy engine on one CPU"): 128 KiB
 * sequential read 1995 → 2332 MB/s, write 1723 → 2530 MB/s.
 */
export function defaultInlineThreshold(cpus: number = availableParallelism()): number {
  return cpus <= 1 ? Number.POSITIVE_INFINITY : DEFAULT_INLINE_THRESHOLD;
}

export interface DmaEngineOptions {
  /** Worker threads (default 1). 0 disables the pool: everything runs inline. */
  readonly workers?: number;
  /** Submissions with fewer total bytes run inline (default {@link defaultInlineThreshold}: 64 KiB, all with one CPU). */
  readonly inlineThreshold?: number;
  /** Descriptor slots per worker ring, a power of two (default 1024). Submissions beyond wait in a backlog. */
  readonly ringCapacity?: number;
  /** Called for every descriptor once its bytes landed (link/root-complex/DRAM counters). */
  readonly accounting?: DmaAccounting | null;
  /** When set, a submission does not resolve before the modelled link time (off by default). */
  readonly pacer?: DmaPacer | null;
}

export interface DmaEngineStats {
  /** Submissions accepted, and where they ran. */
  readonly submissions: number;
  readonly inlineSubmissions: number;
  readonly workerSubmissions: number;
  readonly descriptors: number;
  /** Submissions that had to wait for an earlier conflicting one. */
  readonly hazardWaits: number;
  /** Bytes landed. */
  readonly bytes: number;
}

export interface DmaCloseOptions {
  /** Reject submissions that have not reached a worker instead of draining them. */
  readonly abort?: boolean;
}

const RESOLVED: Promise<void> = Promise.resolve();

export class DmaEngine {
  readonly workers: number;
  readonly inlineThreshold: number;
  readonly #pool: Piscina | null;
  readonly #rings: CopyRing[] = [];
  readonly #accounting: DmaAccounting | null;
  readonly #pacer: DmaPacer | null;

  /** Accepted and not landed (blocked or on a ring). */
  readonly #outstanding: Submission[] = [];
  /** Ranges the outstanding submissions read and write: what new submissions are checked against. */
  readonly #hazards = new HazardIndex<Submission>();
  readonly #conflicts: Submission[] = [];
  #paced = 0;
  #closing: Promise<void> | null = null;
  #idle: (() => void) | null = null;

  readonly #memIds = new WeakMap<SharedArrayBuffer, number>();
  #nextMemId = 0;
  readonly #memFinalizer = new FinalizationRegistry<number>((id) => {
    for (const r of this.#rings) r.forget(id);
  });

  // Scratch for normalizing a submission without allocating on the inline path. It keeps
  // references to the last submission's memories until the next submit; harmless.
  readonly #sBufs: ArrayBufferLike[] = [];
  readonly #sOwners: MemoryOwner[] = [];
  readonly #sNums: number[] = [];

  #stats = { submissions: 0, inlineSubmissions: 0, workerSubmissions: 0, descriptors: 0, hazardWaits: 0, bytes: 0 };

  readonly #host: RingHost = {
    memId: (memory) => {
      let id = this.#memIds.get(memory);
      if (id === undefined) {
        id = this.#nextMemId++;
        this.#memIds.set(memory, id);
        this.#memFinalizer.register(memory, id);
      }
      return id;
    },
    land: (sub) => this.#land(sub),
    fail: (sub, cause) => this.#fail(sub, new DmaError('EWORKER', 'copy worker died', { cause })),
  };

  constructor(options: DmaEngineOptions = {}) {
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be an integer ≥ 0, got ${workers}`);
    const threshold = options.inlineThreshold ?? defaultInlineThreshold();
    if (!(threshold >= 0)) throw new RangeError(`inlineThreshold must be ≥ 0, got ${threshold}`);
    this.workers = workers;
    this.inlineThreshold = threshold;
    this.#accounting = options.accounting ?? null;
    this.#pacer = options.pacer ?? null;
    this.#sharedMemory = workers > 0 && threshold !== Number.POSITIVE_INFINITY;
    if (workers === 0) {
      this.#pool = null;
      return;
    }
    this.#pool = new Piscina({
      filename: workerFile(import.meta.url, 'copy-worker'),
      minThreads: workers,
      maxThreads: workers,
      // One never-ending ring task per worker.
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
    });
    for (let i = 0; i < workers; i++) this.#rings.push(new CopyRing(this.#pool, options.ringCapacity ?? 1024, this.#host));
  }

  /**
   * Whether memory this engine copies must be shared with its workers. Without workers
   * (`workers: 0`, or one CPU: an infinite inline threshold) every copy runs on the main
   * thread, and {@link allocMemory} hands out plain memory: V8 copies and fills
   * SharedArrayBuffer-backed arrays with relaxed atomics (v8::internal::relaxed_memmove,
   * word by word), plain ones with memmove — measured on this runtime, a cold 4 KiB copy
   * 790 → 510 ns and a cold 128 KiB copy 9.9 → 7.8 µs (bench/README.md).
   */
  get sharedMemory(): boolean {
    return this.#sharedMemory;
  }

  readonly #sharedMemory: boolean;

  /** `n` zeroed bytes for media or staging this engine will copy: shared when workers may copy them. */
  allocMemory(n: number): DmaMemory {
    return this.sharedMemory ? new SharedArrayBuffer(n) : new Uint8Array(n);
  }

  get stats(): DmaEngineStats {
    return { ...this.#stats };
  }

  /** Submissions accepted and not yet landed. */
  get outstanding(): number {
    return this.#outstanding.length;
  }

  /** Move the bytes of one descriptor, or of several in order. See the module comment for semantics. */
  submit(descs: DmaDescriptor | readonly DmaDescriptor[]): Promise<void> {
    const list = Array.isArray(descs) ? (descs as readonly DmaDescriptor[]) : null;
    return this.#submit(descs, list, list === null ? 1 : list.length) ?? RESOLVED;
  }

  /**
   * `submit(descs.slice(0, count))` for the hot path: returns `undefined` when every byte
   * already landed (the inline path, no conflict, no pacing wait), so a synchronous
   * caller completes without a promise or a microtask; otherwise the promise `submit`
   * returns. `descs` is read during the call only: callers may reuse the descriptor
   * objects and the array right after it returns.
   */
  submitNow(descs: readonly DmaDescriptor[], count: number): Promise<void> | undefined {
    if (!(count >= 0 && count <= descs.length)) return Promise.reject(new DmaError('EINVAL', `count ${count} outside 0..${descs.length}`));
    return this.#submit(descs, descs, count);
  }

  /**
   * `submitNow([{ src, dst, length, srcOffset, dstOffset }], 1)` without the descriptor:
   * the 4 KiB I/O's hot path (an SSD model's media↔staging DMA). When the copy can run
   * inline at once (no worker wanted, nothing outstanding it could conflict with, no
   * pacing) it is copied and accounted here with the regions' own checks only; anything
   * else, invalid arguments included, takes the general path with identical results.
   */
  copyNow(src: MemoryRegion, srcOffset: number, dst: MemoryRegion, dstOffset: number, length: number): Promise<void> | undefined {
    const sm = src.memory;
    const tm = dst.memory;
    if (this.#closing !== null || this.#hazards.size !== 0 || this.#pacer !== null) return this.#copyGeneral(src, srcOffset, dst, dstOffset, length);
    // #sharedMemory first: without workers the views' buffers need not be looked at.
    if (sm instanceof Uint8Array && tm instanceof Uint8Array && !(this.#sharedMemory && isShared(sm) && isShared(tm) && this.#wantsWorker(length))) {
      // Views on both sides and no worker copy: no buffer arithmetic, one view (memmove
      // for plain memory).
      if (fitsView(src, srcOffset, length) && fitsView(dst, dstOffset, length) && this.#routeOk(src.owner, dst.owner)) {
        const so = src.offset + srcOffset;
        // The whole source view (a write's staging buffer) needs no subarray: one view
        // object less per 4 KiB write (Builtins_CreateTypedArray, ~1 % of its CPU).
        tm.set(so === 0 && length === sm.length ? sm : sm.subarray(so, so + length), dst.offset + dstOffset);
        this.#inlineDone(src.owner, dst.owner, length);
        return undefined;
      }
      return this.#copyGeneral(src, srcOffset, dst, dstOffset, length);
    }
    if (fitsRegion(src, srcOffset, length) && fitsRegion(dst, dstOffset, length)) {
      const sBuf = backing(sm);
      const so = viewStart(sm) + src.offset + srcOffset;
      const tBuf = backing(tm);
      const to = viewStart(tm) + dst.offset + dstOffset;
      const worker = sBuf instanceof SharedArrayBuffer && tBuf instanceof SharedArrayBuffer && this.#wantsWorker(length);
      if (!worker && this.#routeOk(src.owner, dst.owner)) {
        copyInline(sBuf, so, tBuf, to, length);
        this.#inlineDone(src.owner, dst.owner, length);
        return undefined;
      }
    }
    return this.#copyGeneral(src, srcOffset, dst, dstOffset, length);
  }

  /** The one inline-or-worker decision, for a submission whose memories are all shared. */
  #wantsWorker(bytes: number): boolean {
    return bytes >= this.inlineThreshold && this.#liveRing() !== null;
  }

  /** The accounting accepts a DMA between these owners (no accounting: any). */
  #routeOk(srcOwner: MemoryOwner, dstOwner: MemoryOwner): boolean {
    const acc = this.#accounting;
    return acc === null || acc.check === undefined || acc.check(srcOwner, dstOwner) === null;
  }

  #inlineDone(srcOwner: MemoryOwner, dstOwner: MemoryOwner, length: number): void {
    const stats = this.#stats;
    stats.submissions++;
    stats.descriptors++;
    stats.inlineSubmissions++;
    stats.bytes += length;
    const acc = this.#accounting;
    if (acc !== null) acc.record(srcOwner, dstOwner, length);
  }

  #copyGeneral(src: MemoryRegion, srcOffset: number, dst: MemoryRegion, dstOffset: number, length: number): Promise<void> | undefined {
    const d = this.#one;
    d.src = src;
    d.dst = dst;
    d.length = length;
    d.srcOffset = srcOffset;
    d.dstOffset = dstOffset;
    return this.#submit(d, null, 1);
  }

  /** copyNow's descriptor for the general path (read during #submit only). */
  readonly #one: { src: MemoryRegion; dst: MemoryRegion; length: number; srcOffset: number; dstOffset: number } = {
    src: { memory: new Uint8Array(0), offset: 0, length: 0, owner: 'dram' },
    dst: { memory: new Uint8Array(0), offset: 0, length: 0, owner: 'dram' },
    length: 0,
    srcOffset: 0,
    dstOffset: 0,
  };

  #submit(descs: DmaDescriptor | readonly DmaDescriptor[], list: readonly DmaDescriptor[] | null, n: number): Promise<void> | undefined {
    if (this.#closing !== null) return Promise.reject(new DmaError('ECLOSED', 'DMA engine is closed'));
    const bufs = this.#sBufs;
    const owners = this.#sOwners;
    const nums = this.#sNums;
    let bytes = 0;
    let shared = true;
    for (let i = 0; i < n; i++) {
      const d = list === null ? (descs as DmaDescriptor) : list[i]!;
      const err = normalize(d, i, bufs, owners, nums);
      if (err !== null) return Promise.reject(new DmaError('EINVAL', err));
      bytes += d.length;
      if (!(bufs[2 * i] instanceof SharedArrayBuffer) || !(bufs[2 * i + 1] instanceof SharedArrayBuffer)) shared = false;
    }
    const acc = this.#accounting;
    if (acc !== null && acc.check !== undefined) {
      for (let i = 0; i < n; i++) {
        const err = acc.check(owners[2 * i]!, owners[2 * i + 1]!);
        if (err !== null) return Promise.reject(new DmaError('EINVAL', `descriptor ${i}: ${err}`));
      }
    }
    let deadline = 0;
    if (this.#pacer !== null) {
      try {
        deadline = this.#reserve(n, owners, nums);
      } catch (e) {
        return Promise.reject(new DmaError('EINVAL', `pacing: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      }
    }
    const stats = this.#stats;
    stats.submissions++;
    stats.descriptors += n;

    const worker = shared && n > 0 && this.#wantsWorker(bytes);
    const conflicts = this.#conflicts;
    conflicts.length = 0;
    if (this.#hazards.size > 0) {
      const hz = this.#hazards;
      hz.begin();
      for (let i = 0; i < n; i++) {
        const len = nums[3 * i + 2]!;
        hz.collect(bufs[2 * i]!, nums[3 * i]!, len, false, conflicts);
        hz.collect(bufs[2 * i + 1]!, nums[3 * i + 1]!, len, true, conflicts);
      }
    }

    if (!worker && conflicts.length === 0) {
      // Fast path: copy now, straight from the scratch arrays; nothing allocated.
      for (let i = 0; i < n; i++) copyInline(bufs[2 * i]!, nums[3 * i]!, bufs[2 * i + 1]!, nums[3 * i + 1]!, nums[3 * i + 2]!);
      stats.inlineSubmissions++;
      stats.bytes += bytes;
      if (acc !== null) for (let i = 0; i < n; i++) acc.record(owners[2 * i]!, owners[2 * i + 1]!, nums[3 * i + 2]!);
      return deadline > 0 && deadline > performance.now() ? this.#pacedPromise(deadline) : undefined;
    }

    const sub = new Submission();
    sub.count = n;
    sub.bytes = bytes;
    sub.worker = worker;
    sub.deadline = deadline;
    sub.bufs = bufs.slice(0, 2 * n);
    sub.owners = owners.slice(0, 2 * n);
    sub.nums = nums.slice(0, 3 * n);
    const promise = new Promise<void>((resolve, reject) => {
      sub.resolve = resolve;
      sub.reject = reject;
    });
    const waits = conflicts.length;
    if (waits > 0) {
      stats.hazardWaits++;
      sub.waits = waits;
      for (let k = 0; k < waits; k++) (conflicts[k]!.dependents ??= []).push(sub);
      conflicts.length = 0;
    }
    const hz = this.#hazards;
    for (let i = 0; i < n; i++) {
      const len = sub.nums[3 * i + 2]!;
      const r = hz.add(sub.bufs[2 * i]!, sub.nums[3 * i]!, len, false, sub);
      if (r !== null) sub.entries.push(r);
      const w = hz.add(sub.bufs[2 * i + 1]!, sub.nums[3 * i + 1]!, len, true, sub);
      if (w !== null) sub.entries.push(w);
    }
    sub.slot = this.#outstanding.length;
    this.#outstanding.push(sub);
    if (waits === 0) this.#start(sub);
    return promise;
  }

  /**
   * Stop accepting submissions, drain (or with `abort`, cancel what has not started;
   * see the module comment), then stop the workers. Idempotent: later calls return the
   * first call's promise.
   */
  close(options: DmaCloseOptions = {}): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    if (options.abort === true) this.#abortUnstarted();
    this.#closing = new Promise<void>((resolve) => {
      this.#idle = resolve;
      this.#checkIdle();
    }).then(async () => {
      await Promise.all(this.#rings.map((r) => r.stop()));
      if (this.#pool !== null) await this.#pool.destroy();
    });
    return this.#closing;
  }

  #reserve(n: number, owners: MemoryOwner[], nums: number[]): number {
    const now = performance.now();
    let deadline = 0;
    for (let i = 0; i < n; i++) {
      const t = this.#pacer!.reserve(owners[2 * i]!, owners[2 * i + 1]!, nums[3 * i + 2]!, now);
      if (t > deadline) deadline = t;
    }
    return deadline;
  }

  #liveRing(): CopyRing | null {
    let best: CopyRing | null = null;
    for (const r of this.#rings) if (r.alive && (best === null || r.pendingBytes < best.pendingBytes)) best = r;
    return best;
  }

  #start(sub: Submission): void {
    const ring = sub.worker ? this.#liveRing() : null;
    if (ring === null) {
      const b = sub.bufs;
      const v = sub.nums;
      for (let i = 0; i < sub.count; i++) copyInline(b[2 * i]!, v[3 * i]!, b[2 * i + 1]!, v[3 * i + 1]!, v[3 * i + 2]!);
      this.#stats.inlineSubmissions++;
      this.#land(sub);
      return;
    }
    this.#stats.workerSubmissions++;
    sub.state = SubState.Queued;
    ring.enqueue(sub);
  }

  /** Bytes are in place: account, wake dependents, resolve (now or at the pacing deadline). */
  #land(sub: Submission): void {
    sub.state = SubState.Landed;
    this.#removeOutstanding(sub);
    this.#stats.bytes += sub.bytes;
    const acc = this.#accounting;
    if (acc !== null) for (let i = 0; i < sub.count; i++) acc.record(sub.owners[2 * i]!, sub.owners[2 * i + 1]!, sub.nums[3 * i + 2]!);
    this.#release(sub);
    if (sub.deadline > 0 && sub.deadline > performance.now()) this.#pacedPromise(sub.deadline).then(sub.resolve);
    else sub.resolve();
    this.#checkIdle();
  }

  #fail(sub: Submission, error: DmaError): void {
    sub.state = SubState.Landed;
    this.#removeOutstanding(sub);
    this.#release(sub);
    sub.reject(error);
    this.#checkIdle();
  }

  /** Start dependents whose last conflicting predecessor this was. */
  #release(sub: Submission): void {
    const deps = sub.dependents;
    if (deps === null) return;
    sub.dependents = null;
    for (const d of deps) {
      if (d.state === SubState.Blocked && --d.waits === 0) this.#start(d);
    }
  }

  #removeOutstanding(sub: Submission): void {
    for (const e of sub.entries) this.#hazards.remove(e);
    sub.entries.length = 0;
    const out = this.#outstanding;
    const i = sub.slot;
    if (i < 0) return;
    const last = out.pop()!;
    if (last !== sub) {
      out[i] = last;
      last.slot = i;
    }
    sub.slot = -1;
  }

  #abortUnstarted(): void {
    const victims: Submission[] = [];
    for (const r of this.#rings) victims.push(...r.takeUnpublished());
    for (const s of this.#outstanding) if (s.state === SubState.Blocked) victims.push(s);
    for (const s of victims) {
      s.state = SubState.Aborted;
      this.#removeOutstanding(s);
      s.reject(new DmaError('EABORTED', 'DMA engine closed before the submission started'));
    }
  }

  #pacedPromise(deadline: number): Promise<void> {
    this.#paced++;
    return new Promise<void>((resolve) => {
      const fire = (): void => {
        // libuv's millisecond clock can fire a timer up to 1 ms early: re-arm until due.
        const left = deadline - performance.now();
        if (left > 0) {
          setTimeout(fire, Math.ceil(left));
          return;
        }
        this.#paced--;
        resolve();
        this.#checkIdle();
      };
      fire();
    });
  }

  #checkIdle(): void {
    if (this.#idle !== null && this.#outstanding.length === 0 && this.#paced === 0) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }
}

/**
 * Validate descriptor `i` and write its normalized form (backing buffer + absolute
 * offset per side) into the scratch arrays. Returns an error message or null.
 */
function normalize(d: DmaDescriptor, i: number, bufs: ArrayBufferLike[], owners: MemoryOwner[], nums: number[]): string | null {
  if (d === null || typeof d !== 'object') return `descriptor ${i} is not an object`;
  const len = d.length;
  const so = d.srcOffset ?? 0;
  const dOff = d.dstOffset ?? 0;
  if (!isCount(len) || !isCount(so) || !isCount(dOff)) {
    return `descriptor ${i}: length ${len}, srcOffset ${so}, dstOffset ${dOff} must be non-negative integers`;
  }
  const s = d.src;
  const t = d.dst;
  const sErr = regionError(s, 'src');
  if (sErr !== null) return `descriptor ${i}: ${sErr}`;
  const tErr = regionError(t, 'dst');
  if (tErr !== null) return `descriptor ${i}: ${tErr}`;
  if (so + len > s.length) return `descriptor ${i}: src [${so}, +${len}) exceeds its ${s.length}-byte region`;
  if (dOff + len > t.length) return `descriptor ${i}: dst [${dOff}, +${len}) exceeds its ${t.length}-byte region`;
  bufs[2 * i] = backing(s.memory);
  nums[3 * i] = viewStart(s.memory) + s.offset + so;
  bufs[2 * i + 1] = backing(t.memory);
  nums[3 * i + 1] = viewStart(t.memory) + t.offset + dOff;
  nums[3 * i + 2] = len;
  owners[2 * i] = s.owner;
  owners[2 * i + 1] = t.owner;
  return null;
}

function regionError(r: MemoryRegion, side: string): string | null {
  if (r === null || typeof r !== 'object') return `${side} is not a memory region`;
  const m = r.memory;
  if (!(m instanceof SharedArrayBuffer) && !(m instanceof Uint8Array)) return `${side} memory is not a SharedArrayBuffer or Uint8Array`;
  if (!isCount(r.offset) || !isCount(r.length) || r.offset + r.length > m.byteLength) {
    return `${side} region [${r.offset}, +${r.length}) does not fit its ${m.byteLength}-byte memory`;
  }
  if (typeof r.owner !== 'string') return `${side} region has no owner`;
  return null;
}

/** The buffer a DMA memory's bytes live in. */
function backing(m: DmaMemory): ArrayBufferLike {
  return m instanceof SharedArrayBuffer ? m : m.buffer;
}

/** Where a DMA memory starts in its buffer (a region's offsets are relative to a view). */
function viewStart(m: DmaMemory): number {
  return m instanceof SharedArrayBuffer ? 0 : m.byteOffset;
}

/** fitsRegion for a region whose memory is known to be a Uint8Array. */
function fitsView(r: MemoryRegion, at: number, len: number): boolean {
  const o = r.offset;
  const l = r.length;
  return isCount(len) && isCount(at) && isCount(o) && isCount(l) && o + l <= (r.memory as Uint8Array).length && at + len <= l && typeof r.owner === 'string';
}

function isShared(m: Uint8Array): boolean {
  return m.buffer instanceof SharedArrayBuffer;
}

/** What normalize + regionError accept for one side of a descriptor (copyNow's fast path). */
function fitsRegion(r: MemoryRegion, at: number, len: number): boolean {
  const m = r.memory;
  const o = r.offset;
  const l = r.length;
  return (
    (m instanceof SharedArrayBuffer || m instanceof Uint8Array) &&
    isCount(len) &&
    isCount(at) &&
    isCount(o) &&
    isCount(l) &&
    o + l <= m.byteLength &&
    at + len <= l &&
    typeof r.owner === 'string'
  );
}

function isCount(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

function copyInline(srcBuf: ArrayBufferLike, src: number, dstBuf: ArrayBufferLike, dst: number, len: number): void {
  if (len === 0) return;
  // Also for a zero source (unwritten media): on SharedArrayBuffer-backed memory V8's
  // fill(0) stores byte by byte and measured 3-5x slower than this copy (Node 20).
  new Uint8Array(dstBuf, dst, len).set(new Uint8Array(srcBuf, src, len));
}
