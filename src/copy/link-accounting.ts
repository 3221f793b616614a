/**
 * DMA byte counters: per link per direction, through the root complex, to/from
 * system memory (DRAM), and DMA count. Fed by the engine once a descriptor's bytes
 * are in place; read as snapshots (the Prometheus exporter turns them into
 * nvmet_pcie_link_bytes_total{link,dir}, nvmet_root_complex_bytes_total,
 * nvmet_dram_bytes_total).
 *
 * Counters are float64: exact up to 2^53 bytes (8 PiB), far beyond a run's traffic.
 */

import type { MemoryOwner } from './region.js';
import type { Router } from './route.js';
import { RouteTable } from './route-table.js';

/** The engine's accounting hook. */
export interface DmaAccounting {
  /** Called at submit for every descriptor: an error message rejects the submission (EINVAL) before anything moves. */
  check?(src: MemoryOwner, dst: MemoryOwner): string | null;
  /** Called once per descriptor whose bytes landed. Must not throw for a pair `check` accepted. */
  record(src: MemoryOwner, dst: MemoryOwner, bytes: number): void;
}

/**
 * DMA accounting plus what the CPU moved itself (target/p2p/staging.ts): LinkAccounting,
 * and a reactor's DmaRecorder (dma-recorder.ts), which the main thread replays into it.
 */
export interface TrafficAccounting extends DmaAccounting {
  recordCpuCopy(src: MemoryOwner, dst: MemoryOwner, bytes: number): void;
  recordCpuDigest(where: MemoryOwner, bytes: number): void;
}

export interface LinkBytes {
  readonly up: number;
  readonly down: number;
}

/**
 * What the CPU moved itself (plain-TCP socket copies): not DMAs, but the same bytes on the
 * same links, root complex and DRAM. p2pmem is MMIO to the CPU (p2pdma.rst: only the
 * readX()/writeX() accessors, never memcpy), so its copies are counted as MMIO too.
 */
export interface CpuCounters {
  /** Bytes the CPU copied (socket buffer <-> staging), system memory or MMIO. */
  readonly copyBytes: number;
  /** CPU writes to p2pmem through MMIO accessors (memcpy_toio): calls and bytes. */
  readonly mmioWrites: number;
  readonly mmioWriteBytes: number;
  /** CPU reads of p2pmem through MMIO accessors (memcpy_fromio, a data digest over p2pmem): calls and bytes. */
  readonly mmioReads: number;
  readonly mmioReadBytes: number;
  /** Of those reads, the bytes a data digest (CRC32C) read from p2pmem. */
  readonly digestMmioReadBytes: number;
  /** Bytes a data digest read from system memory (the CPU's CRC over staging in DRAM). */
  readonly digestDramBytes: number;
}

export interface DmaCounters {
  /** Bytes per link id and direction; every link the table has seen, zeros included. */
  readonly links: Readonly<Record<string, LinkBytes>>;
  /** DMA and CPU bytes through the root complex. */
  readonly rootComplexBytes: number;
  /** DMA and CPU bytes read or written in system memory. */
  readonly dramBytes: number;
  /** Descriptors accounted, and their total length. */
  readonly dmaCount: number;
  readonly dmaBytes: number;
  readonly cpu: CpuCounters;
}

type MutableCpu = { -readonly [K in keyof CpuCounters]: number };
const zeroCpu = (): MutableCpu => ({ copyBytes: 0, mmioWrites: 0, mmioWriteBytes: 0, mmioReads: 0, mmioReadBytes: 0, digestMmioReadBytes: 0, digestDramBytes: 0 });

/*
 * record, recordCpuCopy and recordCpuDigest take an optional trailing `times` (default 1):
 * `times` calls whose bytes sum to `bytes`, as a DmaRecorder aggregates them. Per-call
 * counters (dmaCount, mmioReads, mmioWrites) advance by `times`, byte counters by `bytes`,
 * so a replayed aggregate gives the same snapshot as the calls themselves.
 */
export class LinkAccounting implements TrafficAccounting {
  readonly routes: RouteTable;
  #bytes = new Float64Array(16);
  #rootComplex = 0;
  #dram = 0;
  #count = 0;
  #total = 0;
  #cpu: MutableCpu = zeroCpu();

  /** Pass the same RouteTable to the pacer to share compiled routes. */
  constructor(routes: RouteTable | Router) {
    this.routes = routes instanceof RouteTable ? routes : new RouteTable(routes);
  }

  /** Resolves (and caches) the route, so an unknown owner is caught at submit time. */
  check(src: MemoryOwner, dst: MemoryOwner): string | null {
    try {
      this.routes.get(src, dst);
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  record(src: MemoryOwner, dst: MemoryOwner, bytes: number, times = 1): void {
    const r = this.routes.get(src, dst);
    const slots = r.slots;
    if (this.#bytes.length < this.routes.slotCount) this.#grow();
    const c = this.#bytes;
    for (let i = 0; i < slots.length; i++) c[slots[i]!]! += bytes;
    if (r.viaRootComplex) this.#rootComplex += bytes;
    this.#dram += bytes * r.dramEnds;
    this.#count += times;
    this.#total += bytes;
  }

  /**
   * The CPU copied `bytes` from `src` to `dst` (not a DMA): the same links, root complex
   * and DRAM as a DMA would use, plus the CPU's own counters. An end in p2pmem (an owner
   * other than "dram") is an MMIO access: `mmio` names which end.
   */
  recordCpuCopy(src: MemoryOwner, dst: MemoryOwner, bytes: number, times = 1): void {
    if (src === dst) {
      // memcpy within system memory: read and write DRAM, no link.
      this.#dram += 2 * bytes;
    } else {
      const r = this.routes.get(src, dst);
      const slots = r.slots;
      if (this.#bytes.length < this.routes.slotCount) this.#grow();
      const c = this.#bytes;
      for (let i = 0; i < slots.length; i++) c[slots[i]!]! += bytes;
      if (r.viaRootComplex) this.#rootComplex += bytes;
      this.#dram += bytes * r.dramEnds;
    }
    const cpu = this.#cpu;
    cpu.copyBytes += bytes;
    if (src !== 'dram') {
      cpu.mmioReads += times;
      cpu.mmioReadBytes += bytes;
    }
    if (dst !== 'dram') {
      cpu.mmioWrites += times;
      cpu.mmioWriteBytes += bytes;
    }
  }

  /** The CPU computed a data digest over `bytes` staged in `where` (a read of DRAM, or of p2pmem through MMIO). */
  recordCpuDigest(where: MemoryOwner, bytes: number, times = 1): void {
    const cpu = this.#cpu;
    if (where === 'dram') {
      this.#dram += bytes;
      cpu.digestDramBytes += bytes;
      return;
    }
    // An MMIO read of the provider's BAR: the TLPs cross the fabric from the BAR to the CPU.
    const r = this.routes.get(where, 'dram');
    const slots = r.slots;
    if (this.#bytes.length < this.routes.slotCount) this.#grow();
    const c = this.#bytes;
    for (let i = 0; i < slots.length; i++) c[slots[i]!]! += bytes;
    if (r.viaRootComplex) this.#rootComplex += bytes;
    cpu.mmioReads += times;
    cpu.mmioReadBytes += bytes;
    cpu.digestMmioReadBytes += bytes;
  }

  snapshot(): DmaCounters {
    const links: Record<string, LinkBytes> = {};
    const ids = this.routes.links;
    for (let i = 0; i < ids.length; i++) {
      links[ids[i]!] = { up: this.#bytes[i * 2] ?? 0, down: this.#bytes[i * 2 + 1] ?? 0 };
    }
    return {
      links,
      rootComplexBytes: this.#rootComplex,
      dramBytes: this.#dram,
      dmaCount: this.#count,
      dmaBytes: this.#total,
      cpu: { ...this.#cpu },
    };
  }

  reset(): void {
    this.#bytes.fill(0);
    this.#rootComplex = 0;
    this.#dram = 0;
    this.#count = 0;
    this.#total = 0;
    this.#cpu = zeroCpu();
  }

  #grow(): void {
    let n = this.#bytes.length;
    while (n < this.routes.slotCount) n *= 2;
    const next = new Float64Array(n);
    next.set(this.#bytes);
    this.#bytes = next;
  }
}
