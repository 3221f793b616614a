/**
 * A reactor's (worker thread's) stand-in for LinkAccounting. The main thread owns the
 * PCIe model's link accounting; a reactor records what its I/Os moved here — calls and
 * bytes per (kind, source owner, destination owner) — and every ~100 ms posts `drain()`
 * to the main thread, which applies it with `replayDmaRecords`. The replay gives exactly
 * the snapshot the calls would have given on the main thread (test/copy/dma-recorder.test.ts).
 *
 * Recording allocates nothing in the steady state: the distinct (kind, src, dst) triples are
 * few (a NIC, DRAM, a few SSDs and p2pmem cards), kept in a small array and matched by
 * comparing owner strings with === (owners are interned constants: 'dram' or a BDF).
 */

import type { LinkAccounting, TrafficAccounting } from './link-accounting.js';
import type { MemoryOwner } from './region.js';

export type DmaRecordKind = 'dma' | 'cpuCopy' | 'cpuDigest';

/** `times` calls of `kind` from `src` to `dst` whose bytes sum to `bytes`; structured-clone safe. */
export interface DmaRecord {
  readonly kind: DmaRecordKind;
  readonly src: MemoryOwner;
  /** For 'cpuDigest' (one end: where the digested bytes are) the same as `src`. */
  readonly dst: MemoryOwner;
  readonly bytes: number;
  readonly times: number;
}

interface Entry {
  readonly kind: DmaRecordKind;
  readonly src: MemoryOwner;
  readonly dst: MemoryOwner;
  bytes: number;
  times: number;
}

export class DmaRecorder implements TrafficAccounting {
  /** Every triple seen since the previous drain and the one before (idle ones are dropped at drain). */
  #entries: Entry[] = [];

  /** A recorder has no routes: the main thread's LinkAccounting checked them when the I/O path was set up. */
  check(_src: MemoryOwner, _dst: MemoryOwner): string | null {
    return null;
  }

  record(src: MemoryOwner, dst: MemoryOwner, bytes: number, times = 1): void {
    this.#add('dma', src, dst, bytes, times);
  }

  recordCpuCopy(src: MemoryOwner, dst: MemoryOwner, bytes: number, times = 1): void {
    this.#add('cpuCopy', src, dst, bytes, times);
  }

  recordCpuDigest(where: MemoryOwner, bytes: number, times = 1): void {
    this.#add('cpuDigest', where, where, bytes, times);
  }

  #add(kind: DmaRecordKind, src: MemoryOwner, dst: MemoryOwner, bytes: number, times: number): void {
    const es = this.#entries;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      if (e.kind === kind && e.src === src && e.dst === dst) {
        e.bytes += bytes;
        e.times += times;
        return;
      }
    }
    es.push({ kind, src, dst, bytes, times });
  }

  /**
   * What was recorded since the previous drain, as plain records (one per triple with
   * calls), and reset. Entries idle for a whole interval are dropped; the others are kept
   * (zeroed) so the next interval records without allocating.
   */
  drain(): DmaRecord[] {
    const out: DmaRecord[] = [];
    const es = this.#entries;
    let keep = 0;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      if (e.times === 0 && e.bytes === 0) continue;
      out.push({ kind: e.kind, src: e.src, dst: e.dst, bytes: e.bytes, times: e.times });
      e.bytes = 0;
      e.times = 0;
      es[keep++] = e;
    }
    es.length = keep;
    return out;
  }
}

/** Apply a DmaRecorder's drain to the main thread's accounting. */
export function replayDmaRecords(acc: LinkAccounting, records: readonly DmaRecord[]): void {
  for (const r of records) {
    switch (r.kind) {
      case 'dma':
        acc.record(r.src, r.dst, r.bytes, r.times);
        break;
      case 'cpuCopy':
        acc.recordCpuCopy(r.src, r.dst, r.bytes, r.times);
        break;
      case 'cpuDigest':
        acc.recordCpuDigest(r.src, r.bytes, r.times);
        break;
      default:
        throw new Error(`unknown DMA record kind ${String((r as { kind: unknown }).kind)}`);
    }
  }
}
