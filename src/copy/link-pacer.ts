/**
 * Optional pacing: make DMAs take the time the modelled links would need.
 *
 * Each link direction is a virtual clock (a token bucket without burst): a DMA of n
 * bytes occupies every link direction on its route for n / bandwidth, starting when
 * that link direction frees up, and is done when the last of them is. Links are
 * reserved independently, so DMAs on disjoint links overlap while a shared link
 * (a switch uplink, the DRAM link) serialises them. The DRAM and root-port links are
 * links of the topology like any other, so system-memory bandwidth is paced too.
 */

import type { MemoryOwner } from './region.js';
import type { Router } from './route.js';
import { RouteTable } from './route-table.js';

/** The engine's pacing hook. */
export interface DmaPacer {
  /** Reserve the route for `bytes` starting no earlier than `nowMs`; returns when the DMA may complete (performance.now() ms). */
  reserve(src: MemoryOwner, dst: MemoryOwner, bytes: number, nowMs: number): number;
}

export class LinkPacer implements DmaPacer {
  readonly routes: RouteTable;
  #busyUntil = new Float64Array(16);

  /** Pass the RouteTable the accounting uses to share compiled routes. */
  constructor(routes: RouteTable | Router) {
    this.routes = routes instanceof RouteTable ? routes : new RouteTable(routes);
  }

  reserve(src: MemoryOwner, dst: MemoryOwner, bytes: number, nowMs: number): number {
    const r = this.routes.get(src, dst);
    if (this.#busyUntil.length < this.routes.slotCount) this.#grow();
    const busy = this.#busyUntil;
    let deadline = nowMs;
    for (let i = 0; i < r.slots.length; i++) {
      const s = r.slots[i]!;
      const end = Math.max(nowMs, busy[s]!) + bytes * r.msPerByte[i]!;
      busy[s] = end;
      if (end > deadline) deadline = end;
    }
    return deadline;
  }

  /** Forget reservations (e.g. between benchmark phases). */
  reset(): void {
    this.#busyUntil.fill(0);
  }

  #grow(): void {
    let n = this.#busyUntil.length;
    while (n < this.routes.slotCount) n *= 2;
    const next = new Float64Array(n);
    next.set(this.#busyUntil);
    this.#busyUntil = next;
  }
}
