/**
 * Per (source owner, destination owner) cache of routes compiled for the hot path:
 * each hop becomes a counter slot (link index × 2 + direction) and a cost in
 * milliseconds per byte, so accounting or pacing a DMA is two Map lookups and a loop
 * over small typed arrays, with no allocation per DMA.
 *
 * Routes are compiled on first use; the topology is assumed fixed while a table lives
 * (build a new table after changing it).
 */

import type { Direction, Route } from '../pci/route.js';
import { linkEfficiency, type LinkModelOptions } from './link-model.js';
import { DRAM, type MemoryOwner } from './region.js';
import type { Router } from './route.js';

export interface CompiledRoute {
  readonly src: MemoryOwner;
  readonly dst: MemoryOwner;
  readonly route: Route;
  /** Counter slot per hop, in route order. */
  readonly slots: Int32Array;
  /** Milliseconds per byte per hop (1000 / bytes-per-second after efficiency). */
  readonly msPerByte: Float64Array;
  readonly viaRootComplex: boolean;
  /** How many ends of the DMA are system memory (0, 1 or 2): DRAM bytes = length × this. */
  readonly dramEnds: number;
}

export class RouteTable {
  readonly router: Router;
  readonly #efficiency: number;
  readonly #cache = new Map<MemoryOwner, Map<MemoryOwner, CompiledRoute>>();
  readonly #linkIndex = new Map<string, number>();
  readonly #links: string[] = [];
  // The last two routes asked for: an I/O's DMAs alternate between two pairs (SSD→staging,
  // staging→NIC), so most lookups end here instead of in the two Maps.
  #src0: MemoryOwner | null = null;
  #dst0: MemoryOwner | null = null;
  #route0: CompiledRoute | null = null;
  #src1: MemoryOwner | null = null;
  #dst1: MemoryOwner | null = null;
  #route1: CompiledRoute | null = null;

  constructor(router: Router, options: LinkModelOptions = {}) {
    this.router = router;
    this.#efficiency = linkEfficiency(options);
    for (const l of router.links ?? []) this.slot(l.id, 'up');
  }

  /** The compiled route from `src` to `dst` (throws what the router throws for unknown owners). */
  get(src: MemoryOwner, dst: MemoryOwner): CompiledRoute {
    if (src === this.#src0 && dst === this.#dst0) return this.#route0!;
    if (src === this.#src1 && dst === this.#dst1) return this.#route1!;
    const r = this.#lookup(src, dst);
    this.#src1 = this.#src0;
    this.#dst1 = this.#dst0;
    this.#route1 = this.#route0;
    this.#src0 = src;
    this.#dst0 = dst;
    this.#route0 = r;
    return r;
  }

  #lookup(src: MemoryOwner, dst: MemoryOwner): CompiledRoute {
    let bySrc = this.#cache.get(src);
    if (bySrc === undefined) {
      bySrc = new Map();
      this.#cache.set(src, bySrc);
    }
    let r = bySrc.get(dst);
    if (r === undefined) {
      r = this.#compile(src, dst);
      bySrc.set(dst, r);
    }
    return r;
  }

  /** Counter slots handed out so far (2 per link). */
  get slotCount(): number {
    return this.#links.length * 2;
  }

  /** Link ids in slot order: link i has slots 2i ("up") and 2i+1 ("down"). */
  get links(): readonly string[] {
    return this.#links;
  }

  /** Slot of a link direction, registering the link if new. */
  slot(link: string, direction: Direction): number {
    let i = this.#linkIndex.get(link);
    if (i === undefined) {
      i = this.#links.length;
      this.#links.push(link);
      this.#linkIndex.set(link, i);
    }
    return i * 2 + (direction === 'up' ? 0 : 1);
  }

  #compile(src: MemoryOwner, dst: MemoryOwner): CompiledRoute {
    const route = this.router.route(src, dst);
    const n = route.hops.length;
    const slots = new Int32Array(n);
    const msPerByte = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const h = route.hops[i]!;
      slots[i] = this.slot(h.link.id, h.direction);
      msPerByte[i] = 1000 / (h.link.bandwidth * this.#efficiency);
    }
    const dramEnds = (src === DRAM ? 1 : 0) + (dst === DRAM ? 1 : 0);
    return { src, dst, route, slots, msPerByte, viaRootComplex: route.viaRootComplex, dramEnds };
  }
}
