/**
 * The copy loop that runs in each engine worker thread, as one long-lived piscina
 * task per worker.
 *
 * The main thread and the worker share a descriptor ring (a SharedArrayBuffer): the
 * main thread writes descriptors and advances HEAD, the worker copies them strictly
 * in order and advances TAIL. A worker drains every descriptor published so far
 * before it sleeps (`Atomics.wait` on WAKE), so descriptors written while it copies
 * are picked up without any message or wake-up: that is the batching. Each side only
 * signals the other when the other is asleep (the SLEEPING / WAITING words, both
 * sides store their flag before re-reading the other's index, so a signal is never
 * lost), and completions are moderated (NOTIFY_BYTES / LOW_WATER below), so a busy
 * ring costs no wake-up per descriptor.
 *
 * Memories travel once per worker over a MessagePort ({ id, memory }), posted before
 * the first descriptor that uses them is published; ids are never reused and
 * { forget } drops a memory the main thread has garbage-collected.
 *
 * `TypedArray.set` between views of one buffer behaves like memmove, so overlapping
 * ranges are well defined, and a later descriptor sees what an earlier one wrote.
 *
 * This file is loaded by piscina on its own: only type imports from the project.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/** Int32 control words at the start of the ring. */
export const HEAD = 0; // descriptors published (main writes), wraps as int32
export const TAIL = 1; // descriptors completed (worker writes)
export const STOP = 2; // main sets 1: return once the ring is empty
export const CAPACITY = 3; // descriptor slots (a power of two)
export const SLEEPING = 4; // worker is (about to be) in Atomics.wait on WAKE
export const WAITING = 5; // main is (about to be) in Atomics.waitAsync on TAIL
export const FORGETS = 6; // { forget } messages posted (main increments): drain the port when it moves
/**
 * Wake sequence: main increments it for every reason to wake a sleeping worker (new
 * descriptors, STOP, a forget) and notifies it; the worker reads it before checking
 * those conditions and sleeps on it. Sleeping on HEAD lost STOP and forget wake-ups:
 * they do not move HEAD, so a notify between the worker's check and its wait found no
 * waiter and the wait then saw HEAD unchanged and slept for good (engine close hung).
 */
export const WAKE = 7;
export const CTL_BYTES = 64;
/** Numbers per descriptor slot: src memory id, src offset, dst memory id, dst offset, length. */
export const OP_WORDS = 5;
/**
 * Completion signalling (interrupt moderation). Every wake-up of the main thread
 * costs it ~30 µs of CPU on the reference VM (eventfd, epoll, a V8 task), so a waiting
 * main thread is told about completions only: when the ring drains; when no more than
 * LOW_WATER_BYTES are left queued (≈ 50 µs of copying, about one wake-up latency: it
 * can refill before the worker runs dry); and at least every NOTIFY_BYTES, which
 * bounds how late a completion is reported behind a deep queue (~200 µs).
 */
export const NOTIFY_BYTES = 2 * 1024 * 1024;
export const LOW_WATER_BYTES = 512 * 1024;
/**
 * Forgotten memory the worker collects garbage after. The worker allocates almost
 * nothing, so V8 would never run a GC on its own and the dropped SharedArrayBuffer
 * wrappers would pin their backing stores (measured: 300 transient 8 MiB memories
 * kept 2.4 GB resident). A full GC of the worker's tiny heap costs ~1 ms.
 */
export const GC_AFTER_BYTES = 64 * 1024 * 1024;

export interface RingTask {
  readonly ring: SharedArrayBuffer;
  readonly port: MessagePort;
}

export type MemoryMessage = { readonly id: number; readonly memory: SharedArrayBuffer } | { readonly forget: number };

/** Run the ring until STOP; returns the number of descriptors copied. */
export default function copyLoop(task: RingTask): number {
  const { ring, port } = task;
  const ctl = new Int32Array(ring, 0, CTL_BYTES / 4);
  const cap = ctl[CAPACITY]!;
  const mask = cap - 1;
  const ops = new Float64Array(ring, CTL_BYTES, cap * OP_WORDS);
  const mem: Memories = { views: new Map(), forgottenBytes: 0 };
  let tail = Atomics.load(ctl, TAIL);
  let forgets = 0;
  let copied = 0;
  let since = 0;
  // Bytes of the descriptors published but not yet copied ([tail, seen) summed).
  let seen = tail;
  let queued = 0;
  const queuedBytes = (): number => {
    const h = Atomics.load(ctl, HEAD);
    while (seen !== h) {
      queued += ops[(seen & mask) * OP_WORDS + 4]!;
      seen = (seen + 1) | 0;
    }
    return queued;
  };

  const view = (id: number): Uint8Array => {
    let v = mem.views.get(id);
    while (v === undefined) {
      if (!takeMessage(port, mem)) throw new Error(`copy worker: memory ${id} was never registered`);
      v = mem.views.get(id);
    }
    return v;
  };
  const drain = (): void => {
    forgets = Atomics.load(ctl, FORGETS);
    while (takeMessage(port, mem));
    if (mem.forgottenBytes >= GC_AFTER_BYTES) {
      mem.forgottenBytes = 0;
      collectGarbage();
    }
  };

  for (;;) {
    const head = Atomics.load(ctl, HEAD);
    if (Atomics.load(ctl, FORGETS) !== forgets) drain();
    if (head === tail) {
      if (Atomics.load(ctl, STOP) !== 0) return copied;
      const wake = Atomics.load(ctl, WAKE);
      Atomics.store(ctl, SLEEPING, 1);
      if (Atomics.load(ctl, HEAD) === tail && Atomics.load(ctl, STOP) === 0 && Atomics.load(ctl, FORGETS) === forgets) {
        Atomics.wait(ctl, WAKE, wake);
      }
      Atomics.store(ctl, SLEEPING, 0);
      continue;
    }
    while (tail !== head) {
      const o = (tail & mask) * OP_WORDS;
      const len = ops[o + 4]!;
      if (len > 0) {
        const so = ops[o + 1]!;
        view(ops[o + 2]!).set(view(ops[o]!).subarray(so, so + len), ops[o + 3]!);
      }
      if (tail === seen) queuedBytes(); // count it before it leaves the queue
      tail = (tail + 1) | 0;
      Atomics.store(ctl, TAIL, tail);
      copied++;
      since += len;
      queued -= len;
      if (Atomics.load(ctl, WAITING) !== 0 && (since >= NOTIFY_BYTES || queuedBytes() <= LOW_WATER_BYTES)) {
        since = 0;
        Atomics.notify(ctl, TAIL);
      }
    }
    since = 0;
    if (Atomics.load(ctl, WAITING) !== 0) Atomics.notify(ctl, TAIL);
  }
}

interface Memories {
  readonly views: Map<number, Uint8Array>;
  forgottenBytes: number;
}

function takeMessage(port: MessagePort, mem: Memories): boolean {
  const m = receiveMessageOnPort(port);
  if (m === undefined) return false;
  const msg = m.message as MemoryMessage;
  if ('forget' in msg) {
    const v = mem.views.get(msg.forget);
    if (v !== undefined) {
      mem.forgottenBytes += v.byteLength;
      mem.views.delete(msg.forget);
    }
  } else {
    mem.views.set(msg.id, new Uint8Array(msg.memory));
  }
  return true;
}

let gc: (() => void) | null | undefined;

/** A full GC of this worker's heap; `--expose-gc` is set on first use (no-op if refused). */
function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
