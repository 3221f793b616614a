/**
 * Throughput model of whole I/O flows over the fabric.
 *
 * Per-link bandwidth (from generation and width, or a raw DRAM bandwidth) and the
 * bandwidth of a single route with its limiting link come from src/pci
 * (`pcieBandwidth`, `routeBandwidth`, `limitingLink`). This module adds the flow
 * view: an I/O is several DMAs (a write staged in p2pmem is NIC→CMB then CMB→media),
 * and when many I/Os run back to back every link direction carries the sum of their
 * bytes. The link direction with the most busy time per I/O saturates first and
 * bounds the rate.
 */

import type { Direction } from '../pci/route.js';
import { DRAM, type MemoryOwner } from './region.js';
import type { Router } from './route.js';

export interface LinkModelOptions {
  /**
   * Multiplier for TLP/DLLP protocol overhead applied to every link (0 < e ≤ 1),
   * e.g. 0.9 for 256-byte max payload. Default 1: the raw line-coded rate, as src/pci
   * reports it.
   */
  readonly efficiency?: number;
}

/** One DMA of an I/O flow, e.g. NIC→staging carrying the I/O's payload. */
export interface FlowTransfer {
  readonly src: MemoryOwner;
  readonly dst: MemoryOwner;
  readonly bytes: number;
}

export interface FlowLinkLoad {
  readonly link: string;
  readonly direction: Direction;
  /** Bytes per flow unit on this link direction. */
  readonly bytes: number;
  /** Link bandwidth after `efficiency`, bytes/s. */
  readonly bytesPerSec: number;
  /** Seconds per flow unit this link direction is busy. */
  readonly seconds: number;
}

export interface FlowProjection {
  /** Payload bytes/s the flow sustains when its most loaded link direction runs at 100 %. Infinity when it crosses no link. */
  readonly bytesPerSec: number;
  /** The link direction that saturates first, or null when the flow crosses no link. */
  readonly limitingLink: string | null;
  readonly limitingDirection: Direction | null;
  /** Loads per link direction, most loaded first. */
  readonly links: readonly FlowLinkLoad[];
  /** Bytes per flow unit through the root complex and to/from system memory. */
  readonly rootComplexBytes: number;
  readonly dramBytes: number;
}

/**
 * Project the throughput of a flow whose unit (one I/O) carries `payloadBytes` of
 * payload and performs `transfers`: each link direction is busy bytes/bandwidth per
 * unit, so the flow runs at payloadBytes / max(busy). E.g. a 128 KiB write staged in
 * p2pmem: projectFlow(r, 128K, [{src: nic, dst: cmbOwner, bytes: 128K}, {src: cmbOwner,
 * dst: ssd, bytes: 128K}]); staged in DRAM the same with "dram" in the middle, which
 * also loads the root complex and DRAM with 2 × 128K per I/O.
 */
export function projectFlow(
  router: Router,
  payloadBytes: number,
  transfers: readonly FlowTransfer[],
  options: LinkModelOptions = {},
): FlowProjection {
  const eff = linkEfficiency(options);
  const loads = new Map<string, { link: string; direction: Direction; bytes: number; bytesPerSec: number }>();
  let rc = 0;
  let dram = 0;
  for (const t of transfers) {
    const route = router.route(t.src, t.dst);
    for (const h of route.hops) {
      const key = `${h.link.id} ${h.direction}`;
      const l = loads.get(key);
      if (l) l.bytes += t.bytes;
      else loads.set(key, { link: h.link.id, direction: h.direction, bytes: t.bytes, bytesPerSec: h.link.bandwidth * eff });
    }
    if (route.viaRootComplex) rc += t.bytes;
    if (t.src === DRAM) dram += t.bytes;
    if (t.dst === DRAM) dram += t.bytes;
  }
  const links = [...loads.values()].map((l) => ({ ...l, seconds: l.bytes / l.bytesPerSec })).sort((a, b) => b.seconds - a.seconds);
  const top = links[0];
  return {
    bytesPerSec: top === undefined || top.seconds === 0 ? Infinity : payloadBytes / top.seconds,
    limitingLink: top?.link ?? null,
    limitingDirection: top?.direction ?? null,
    links,
    rootComplexBytes: rc,
    dramBytes: dram,
  };
}

export function linkEfficiency(options: LinkModelOptions): number {
  const e = options.efficiency ?? 1;
  if (!(e > 0 && e <= 1)) throw new RangeError(`link efficiency must be in (0, 1], got ${e}`);
  return e;
}
