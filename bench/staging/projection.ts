/**
 * The link model's projected throughput for a cell, two ways:
 *
 *  - measured: the bytes the copy engine actually accounted per link direction
 *    during the cell, divided by the payload the host moved, against each link's
 *    bandwidth. The link direction with the most busy time per payload byte
 *    saturates first; 1 / that time is the payload rate the fabric could carry.
 *  - expected: src/copy's projectFlow over the DMAs one I/O should do with the
 *    staging the target reported (NIC ↔ staging, staging ↔ SSD media), used when the
 *    data path has no counters yet and to cross-check the measured one.
 */

import type { DmaCounters } from '../../src/copy/link-accounting.js';
import { projectFlow, type FlowTransfer } from '../../src/copy/link-model.js';
import { topologyRouter } from '../../src/copy/route.js';
import { DRAM } from '../../src/copy/region.js';
import { describeLink, type Link } from '../../src/pci/link.js';
import type { Direction } from '../../src/pci/route.js';
import type { PciTopology } from '../../src/pci/topology.js';
import { classifyLink, LINK_CLASS_LABEL, type LinkClass } from './link-classes.js';

export interface Projection {
  /** Payload bytes per second the fabric sustains (Infinity when no link carries payload). */
  readonly bytesPerSec: number;
  readonly limiting: LimitingLink | null;
}

export interface LimitingLink {
  readonly id: string;
  readonly direction: Direction;
  readonly class: LinkClass;
  /** "switch uplink 0000:00:01.0<->0000:01:00.0 ↓ Gen3 x4 (3.94 GB/s)" */
  readonly label: string;
  /** "switch uplink ↓ Gen3 x4 (3.94 GB/s)", for tables. */
  readonly short: string;
  /** Bytes on this link direction per payload byte. */
  readonly bytesPerPayloadByte: number;
  readonly bandwidth: number;
}

function limitingOf(topo: PciTopology, link: Link, direction: Direction, load: number): LimitingLink {
  const cls = classifyLink(topo, link);
  const arrow = direction === 'up' ? '↑' : '↓';
  return {
    id: link.id,
    direction,
    class: cls,
    label: `${LINK_CLASS_LABEL[cls]} ${link.id} ${arrow} ${describeLink(link)}`,
    short: `${LINK_CLASS_LABEL[cls]} ${arrow} ${describeLink(link)}`,
    bytesPerPayloadByte: load,
    bandwidth: link.bandwidth,
  };
}

/**
 * Projection from measured per-link bytes. Ties (two link directions equally busy)
 * go to the slower link, then to the first in topology order, so the answer is stable.
 */
export function projectMeasured(topo: PciTopology, delta: DmaCounters, payloadBytes: number): Projection | null {
  if (!(payloadBytes > 0)) return null;
  let best: { link: Link; dir: Direction; secs: number; load: number } | null = null;
  for (const link of topo.links) {
    const b = delta.links[link.id];
    if (b === undefined) continue;
    for (const dir of ['up', 'down'] as const) {
      const bytes = dir === 'up' ? b.up : b.down;
      if (!(bytes > 0)) continue;
      const load = bytes / payloadBytes;
      const secs = load / link.bandwidth;
      if (best === null || secs > best.secs * (1 + 1e-9) || (Math.abs(secs - best.secs) <= best.secs * 1e-9 && link.bandwidth < best.link.bandwidth)) {
        best = { link, dir, secs, load };
      }
    }
  }
  if (best === null) return { bytesPerSec: Infinity, limiting: null };
  return { bytesPerSec: 1 / best.secs, limiting: limitingOf(topo, best.link, best.dir, best.load) };
}

/** The DMAs of one I/O: NIC → staging → SSD media for a write, the reverse for a read. */
export function ioTransfers(rw: 'read' | 'write', nic: string, ssd: string, staging: string, bytes: number): FlowTransfer[] {
  return rw === 'write'
    ? [{ src: nic, dst: staging, bytes }, { src: staging, dst: ssd, bytes }]
    : [{ src: ssd, dst: staging, bytes }, { src: staging, dst: nic, bytes }];
}

/**
 * Projection from the flow model. `p2pFraction` of I/Os staged in `provider`, the
 * rest in system memory (a p2pmem port that fell back for some I/Os).
 */
export function projectExpected(
  topo: PciTopology,
  rw: 'read' | 'write',
  nic: string,
  ssd: string,
  provider: string | null,
  p2pFraction: number,
): Projection & { rootComplexPerByte: number; dramPerByte: number } {
  const unit = 1 << 20;
  const f = provider === null ? 0 : Math.max(0, Math.min(1, p2pFraction));
  const transfers: FlowTransfer[] = [];
  if (f > 0) transfers.push(...ioTransfers(rw, nic, ssd, provider!, unit * f));
  if (f < 1) transfers.push(...ioTransfers(rw, nic, ssd, DRAM, unit * (1 - f)));
  const p = projectFlow(topologyRouter(topo), unit, transfers);
  const top = p.links[0];
  const link = top === undefined ? undefined : topo.link(top.link);
  return {
    bytesPerSec: p.bytesPerSec,
    limiting: top === undefined || link === undefined ? null : limitingOf(topo, link, top.direction, top.bytes / unit),
    rootComplexPerByte: p.rootComplexBytes / unit,
    dramPerByte: p.dramBytes / unit,
  };
}
