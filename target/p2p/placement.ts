/**
 * Placement of target objects on the emulated PCIe fabric: the NIC a port's traffic
 * goes through, and the NVMe SSD a namespace's media lives on (or none: a namespace
 * "not behind a PCI device", e.g. a plain file). Resolved against the topology once,
 * with errors in the kernel's terms (ENODEV for a BDF that is not there or not the
 * right kind of device).
 */

import type { PciFunction } from '../../src/pci/model.js';
import type { PciTopology } from '../../src/pci/topology.js';
import { P2pError } from '../../src/p2pdma/errors.js';
import type { P2pdma } from '../../src/p2pdma/p2pdma.js';

/** The namespace attribute `p2pmem` as merged in Linux: never, any compatible provider, or that provider. */
export type P2pmemSetting = boolean | string;

export interface NamespacePlacement {
  /** The NVMe SSD holding the media; null = not behind a PCI device. */
  readonly device: PciFunction | null;
  /** The namespace's own p2pmem attribute (mainline semantics). */
  p2pmem: P2pmemSetting;
}

/** The PCI function `bdf` names, which must be an endpoint of `kind`; throws P2pError ENODEV. */
export function resolveEndpoint(topo: PciTopology, bdf: string, kind: 'rnic' | 'nvme', what: string): PciFunction {
  const f = topo.get(bdf);
  if (f === undefined) throw new P2pError('ENODEV', `${what} ${bdf}: no such PCI device in topology "${topo.name}"`);
  if (f.kind !== kind) {
    throw new P2pError('ENODEV', `${what} ${bdf}: is a ${f.kind ?? f.role}, not ${kind === 'rnic' ? 'an RDMA NIC (rnic)' : 'an NVMe SSD (nvme)'}`);
  }
  return f;
}

/**
 * Validate a p2pmem attribute value as nvmet's configfs store does
 * (pci_p2pdma_enable_store): booleans pass; a BDF must name a device with published
 * p2pmem, else ENODEV. Returns the canonical value (a BDF in pci_name() form).
 */
export function checkP2pmemSetting(p2pdma: P2pdma, value: P2pmemSetting): P2pmemSetting {
  if (typeof value === 'boolean') return value;
  const f = p2pdma.topology.get(value);
  if (f === undefined) throw new P2pError('ENODEV', `p2pmem ${value}: no such PCI device`);
  if (!p2pdma.hasP2pmem(f)) throw new P2pError('ENODEV', `p2pmem ${f.bdf}: PCI device has no published peer-to-peer memory`);
  return f.bdf;
}
