/**
 * Main-thread side of one worker's descriptor ring (see copy-worker.ts for the
 * protocol): publishes submissions' descriptors in order, keeps the ones that do not
 * fit in a backlog, and lands submissions as the worker's TAIL passes their last
 * descriptor.
 *
 * Completions are awaited with `Atomics.waitAsync` on TAIL, armed only while
 * descriptors are outstanding (see #arm for the moderation). When a reap is due at
 * once it is a setImmediate rather than a microtask, so a ring that never empties
 * cannot starve socket I/O on the main thread.
 */

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { CAPACITY, CTL_BYTES, FORGETS, HEAD, OP_WORDS, SLEEPING, STOP, TAIL, WAITING, WAKE } from './copy-worker.js';
import type { MemoryMessage, RingTask } from './copy-worker.js';
import { SubState, type Submission } from './submission.js';

export interface RingHost {
  /** Id of a shared memory, stable for the engine's life. */
  memId(memory: SharedArrayBuffer): number;
  /** All bytes of `sub` are in place. */
  land(sub: Submission): void;
  /** The worker died: `sub` failed (bytes may be partial). */
  fail(sub: Submission, cause: unknown): void;
}

type WaitAsync = (ta: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
// Atomics.waitAsync is ES2024; the project's lib is ES2022, Node 20 has it.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** A FIFO over an array with a moving head (no O(n) shift). */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;
  get size(): number {
    return this.#items.length - this.#head;
  }
  push(x: T): void {
    this.#items.push(x);
  }
  peek(): T | undefined {
    return this.#items[this.#head];
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const x = this.#items[this.#head]!;
    (this.#items as (T | undefined)[])[this.#head] = undefined;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return x;
  }
  drain(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return out;
  }
}

export class CopyRing {
  /** Bytes of submissions enqueued and not landed (for choosing the least busy ring). */
  pendingBytes = 0;
  alive = true;
  readonly #host: RingHost;
  readonly #ctl: Int32Array;
  readonly #ops: Float64Array;
  readonly #cap: number;
  readonly #mask: number;
  readonly #port: MessagePort;
  readonly #known = new Set<number>();
  readonly #published = new Fifo<Submission>();
  readonly #backlog = new Fifo<Submission>();
  readonly #task: Promise<unknown>;
  #head = 0;
  #lastTail = 0;
  #waiting = false;

  #doorbellQueued = false;

  /**
   * Wake a sleeping worker once per microtask checkpoint rather than per publish:
   * descriptors submitted in one synchronous run reach the worker as one batch, and a
   * worker that copies faster than the main thread submits does not ping-pong.
   */
  readonly #doorbell = (): void => {
    this.#doorbellQueued = false;
    if (Atomics.load(this.#ctl, SLEEPING) !== 0) this.#wake();
  };

  /** Wake the worker (see WAKE): bump the sequence first, so a worker about to sleep sees it moved. */
  #wake(): void {
    Atomics.add(this.#ctl, WAKE, 1);
    Atomics.notify(this.#ctl, WAKE);
  }

  readonly #onWake = (): void => {
    this.#waiting = false;
    Atomics.store(this.#ctl, WAITING, 0);
    this.#reap();
  };

  constructor(pool: Piscina, capacity: number, host: RingHost) {
    if (!Number.isInteger(Math.log2(capacity)) || capacity < 2) throw new RangeError(`ring capacity must be a power of two ≥ 2, got ${capacity}`);
    this.#host = host;
    this.#cap = capacity;
    this.#mask = capacity - 1;
    const ring = new SharedArrayBuffer(CTL_BYTES + capacity * OP_WORDS * 8);
    this.#ctl = new Int32Array(ring, 0, CTL_BYTES / 4);
    this.#ctl[CAPACITY] = capacity;
    this.#ops = new Float64Array(ring, CTL_BYTES, capacity * OP_WORDS);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const task: RingTask = { ring, port: port2 };
    this.#task = pool.run(task, { transferList: [port2] });
    this.#task.catch((e: unknown) => this.#die(e));
  }

  /** Queue `sub` behind everything already on this ring. */
  enqueue(sub: Submission): void {
    this.pendingBytes += sub.bytes;
    if (this.#backlog.size > 0) this.#backlog.push(sub);
    else if (!this.#publish(sub)) this.#backlog.push(sub);
  }

  /** Take back submissions none of whose descriptors reached the ring (for abort). */
  takeUnpublished(): Submission[] {
    const all = this.#backlog.drain();
    const out: Submission[] = [];
    for (const s of all) {
      if (s.published === 0) {
        out.push(s);
        this.pendingBytes -= s.bytes;
      } else this.#backlog.push(s);
    }
    return out;
  }

  /** The main thread no longer holds memory `id`: let the worker drop it. */
  forget(id: number): void {
    if (this.#known.delete(id) && this.alive) {
      const msg: MemoryMessage = { forget: id };
      this.#port.postMessage(msg);
      Atomics.add(this.#ctl, FORGETS, 1);
      if (Atomics.load(this.#ctl, SLEEPING) !== 0) this.#wake();
    }
  }

  /** Ask the worker to return once its ring is empty; resolves when it did (or died). */
  async stop(): Promise<void> {
    Atomics.store(this.#ctl, STOP, 1);
    this.#wake();
    try {
      await this.#task;
    } catch {
      // already handled by #die
    }
    this.alive = false;
    this.#port.close();
  }

  /** Write as many of `sub`'s remaining descriptors as fit; true when all are on the ring. */
  #publish(sub: Submission): boolean {
    const ctl = this.#ctl;
    const free = this.#cap - ((this.#head - Atomics.load(ctl, TAIL)) | 0);
    if (free <= 0) return false;
    if (sub.published === 0) this.#published.push(sub);
    const ops = this.#ops;
    const b = sub.bufs;
    const v = sub.nums;
    let head = this.#head;
    const end = Math.min(sub.count, sub.published + free);
    for (let i = sub.published; i < end; i++) {
      const o = (head & this.#mask) * OP_WORDS;
      ops[o] = this.#id(b[2 * i] as SharedArrayBuffer);
      ops[o + 1] = v[3 * i]!;
      ops[o + 2] = this.#id(b[2 * i + 1] as SharedArrayBuffer);
      ops[o + 3] = v[3 * i + 1]!;
      ops[o + 4] = v[3 * i + 2]!;
      head = (head + 1) | 0;
    }
    sub.published = end;
    sub.endSeq = head;
    this.#head = head;
    Atomics.store(ctl, HEAD, head);
    if (!this.#doorbellQueued) {
      this.#doorbellQueued = true;
      queueMicrotask(this.#doorbell);
    }
    this.#arm();
    return end === sub.count;
  }

  #id(memory: SharedArrayBuffer): number {
    const id = this.#host.memId(memory);
    if (!this.#known.has(id)) {
      this.#known.add(id);
      const msg: MemoryMessage = { id, memory };
      this.#port.postMessage(msg);
    }
    return id;
  }

  /**
   * Wait for the worker's next completion signal. Completions the worker made since
   * the last reap are left for that signal (moderation: reaping them now would wake the
   * main thread per descriptor), except when the ring has drained: then no further
   * signal comes, so reap at once. WAITING is stored before TAIL is read and the worker
   * stores TAIL before reading WAITING, so a signal cannot fall between the two.
   */
  #arm(): void {
    if (this.#waiting || !this.alive) return;
    this.#waiting = true;
    const ctl = this.#ctl;
    Atomics.store(ctl, WAITING, 1);
    const tail = Atomics.load(ctl, TAIL);
    if (tail === this.#head && tail !== this.#lastTail) {
      setImmediate(this.#onWake);
      return;
    }
    const r = waitAsync(ctl, TAIL, tail);
    if (r.async) r.value.then(this.#onWake, this.#onWake);
    else setImmediate(this.#onWake);
  }

  #reap(): void {
    if (!this.alive) return;
    const tail = Atomics.load(this.#ctl, TAIL);
    this.#lastTail = tail;
    for (;;) {
      const sub = this.#published.peek();
      if (sub === undefined || sub.published < sub.count || ((tail - sub.endSeq) | 0) < 0) break;
      this.#published.shift();
      this.pendingBytes -= sub.bytes;
      this.#host.land(sub);
    }
    while (this.#backlog.size > 0 && this.#publish(this.#backlog.peek()!)) this.#backlog.shift();
    if (this.#published.size > 0) this.#arm();
  }

  #die(cause: unknown): void {
    if (!this.alive) return;
    this.alive = false;
    for (const sub of [...this.#published.drain(), ...this.#backlog.drain()]) {
      this.pendingBytes -= sub.bytes;
      if (sub.state === SubState.Queued) this.#host.fail(sub, cause);
    }
  }
}
