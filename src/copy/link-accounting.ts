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

export interface LinkBytes {
  readonly up: number;
  readonly down: number;
}

export interface DmaCounters {
  /** Bytes per link id and direction; every link the table has seen, zeros included. */
  readonly links: Readonly<Record<string, LinkBytes>>;
  readonly rootComplexBytes: number;
  readonly dramBytes: number;
  /** Descriptors accounted, and their total length. */
  readonly dmaCount: number;
  readonly dmaBytes: number;
}

export class LinkAccounting implements DmaAccounting {
  readonly routes: RouteTable;
  #bytes = new Float64Array(16);
  #rootComplex = 0;
  #dram = 0;
  #count = 0;
  #total = 0;

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

  record(src: MemoryOwner, dst: MemoryOwner, bytes: number): void {
    const r = this.routes.get(src, dst);
    const slots = r.slots;
    if (this.#bytes.length < this.routes.slotCount) this.#grow();
    const c = this.#bytes;
    for (let i = 0; i < slots.length; i++) c[slots[i]!]! += bytes;
    if (r.viaRootComplex) this.#rootComplex += bytes;
    this.#dram += bytes * r.dramEnds;
    this.#count++;
    this.#total += bytes;
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
    };
  }

  reset(): void {
    this.#bytes.fill(0);
    this.#rootComplex = 0;
    this.#dram = 0;
    this.#count = 0;
    this.#total = 0;
  }

  #grow(): void {
    let n = this.#bytes.length;
    while (n < this.routes.slotCount) n *= 2;
    const next = new Float64Array(n);
    next.set(this.#bytes);
    this.#bytes = next;
  }
}
