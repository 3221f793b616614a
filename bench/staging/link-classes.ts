/**
 * Link classes of the staging report: every link of the fabric is put in one
 * class by its endpoints, and the DMA counters (bytes per link and direction)
 * are summed per class and divided by the payload bytes the host moved.
 *
 *   nic         the link whose downstream end is the (R)NIC
 *   ssd         links whose downstream end is an NVMe SSD
 *   uplink      a switch's upstream link (root port ↔ switch upstream port, or
 *               a nested switch's link to its parent)
 *   p2pmem      a p2pmem card's link
 *   rootPort    a root port's connection into the root complex
 *   dram        the root complex ↔ system memory link
 *   other       anything else (a downstream device not in the flow)
 *
 * "Root complex" in the report is the copy engine's own counter (bytes of DMAs
 * routed through the root complex), not a link sum: a peer-to-peer DMA between two
 * root ports crosses two root-port links but the root complex once.
 */

import type { DmaCounters } from '../../src/copy/link-accounting.js';
import type { Link } from '../../src/pci/link.js';
import type { PciTopology } from '../../src/pci/topology.js';

export const LINK_CLASSES = ['nic', 'ssd', 'uplink', 'p2pmem', 'rootPort', 'dram', 'other'] as const;
export type LinkClass = (typeof LINK_CLASSES)[number];

/** Human names for tables and "limiting link" labels. */
export const LINK_CLASS_LABEL: Readonly<Record<LinkClass, string>> = {
  nic: 'NIC link',
  ssd: 'SSD link',
  uplink: 'switch uplink',
  p2pmem: 'p2pmem link',
  rootPort: 'root port ↔ root complex',
  dram: 'DRAM',
  other: 'other link',
};

export function classifyLink(topo: PciTopology, link: Link): LinkClass {
  if (link.kind === 'dram') return 'dram';
  if (link.kind === 'root-complex') return 'rootPort';
  const down = topo.get(link.downstream);
  if (down === undefined) return 'other';
  if (down.role === 'switch-upstream') return 'uplink';
  switch (down.kind) {
    case 'rnic':
      return 'nic';
    case 'nvme':
      return 'ssd';
    case 'p2pmem':
      return 'p2pmem';
    default:
      return 'other';
  }
}

/** Link id → class for every link of the topology. */
export function classifyLinks(topo: PciTopology): Map<string, LinkClass> {
  const m = new Map<string, LinkClass>();
  for (const l of topo.links) m.set(l.id, classifyLink(topo, l));
  return m;
}

export type ClassBytes = Record<LinkClass, number> & { rootComplex: number; dramBytes: number };

/**
 * Bytes per class (both directions summed) from a counter delta, plus the root
 * complex and DRAM counters. Links the classifier does not know count as "other".
 */
export function bytesByClass(counters: DmaCounters, classes: ReadonlyMap<string, LinkClass>): ClassBytes {
  const out: ClassBytes = { nic: 0, ssd: 0, uplink: 0, p2pmem: 0, rootPort: 0, dram: 0, other: 0, rootComplex: counters.rootComplexBytes, dramBytes: counters.dramBytes };
  for (const [id, b] of Object.entries(counters.links)) out[classes.get(id) ?? 'other'] += b.up + b.down;
  return out;
}

/** Every value divided by the payload bytes (null when nothing moved). */
export function perPayloadByte(bytes: ClassBytes, payloadBytes: number): ClassBytes | null {
  if (!(payloadBytes > 0)) return null;
  const out = { ...bytes };
  for (const k of Object.keys(out) as (keyof ClassBytes)[]) out[k] = bytes[k] / payloadBytes;
  return out;
}

/** after − before, per link and counter (counters only grow; a link new in `after` counts from 0). */
export function counterDelta(before: DmaCounters, after: DmaCounters): DmaCounters {
  const links: Record<string, { up: number; down: number }> = {};
  for (const [id, a] of Object.entries(after.links)) {
    const b = before.links[id];
    links[id] = { up: a.up - (b?.up ?? 0), down: a.down - (b?.down ?? 0) };
  }
  return {
    links,
    rootComplexBytes: after.rootComplexBytes - before.rootComplexBytes,
    dramBytes: after.dramBytes - before.dramBytes,
    dmaCount: after.dmaCount - before.dmaCount,
    dmaBytes: after.dmaBytes - before.dmaBytes,
    cpu: Object.fromEntries(Object.entries(after.cpu).map(([k, v]) => [k, v - (before.cpu[k as keyof DmaCounters['cpu']] ?? 0)])) as unknown as DmaCounters['cpu'],
  };
}
