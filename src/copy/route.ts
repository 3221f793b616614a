/**
 * What the copy layer needs from the PCIe topology (src/pci): the ordered links a
 * DMA between two memory owners crosses. Owners are strings (a BDF or "dram") so a
 * memory region does not have to hold topology objects; `topologyRouter` resolves
 * them against a PciTopology and asks src/pci's `route()`.
 */

import type { Link } from '../pci/link.js';
import { route as pciRoute, type Route } from '../pci/route.js';
import type { PciTopology } from '../pci/topology.js';
import { DRAM, type MemoryOwner } from './region.js';

export type { Route, Hop, Direction } from '../pci/route.js';

export interface Router {
  /** Route of a DMA from `src`'s memory to `dst`'s memory. Throws for an unknown owner. */
  route(src: MemoryOwner, dst: MemoryOwner): Route;
  /** Every link of the fabric, so counters can report idle links as 0. Optional. */
  readonly links?: readonly Link[];
}

export class UnknownOwnerError extends Error {
  override readonly name = 'UnknownOwnerError';
  constructor(readonly owner: MemoryOwner, topology: string) {
    super(`memory owner "${owner}" is neither "dram" nor a PCI function of topology "${topology}"`);
  }
}

/** A Router over a parsed topology. */
export function topologyRouter(topo: PciTopology): Router {
  const end = (owner: MemoryOwner) => {
    if (owner === DRAM) return DRAM;
    const f = topo.get(owner);
    if (f === undefined) throw new UnknownOwnerError(owner, topo.name);
    return f;
  };
  return {
    route: (src, dst) => pciRoute(topo, end(src), end(dst)),
    links: topo.links,
  };
}
