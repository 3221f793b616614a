/**
 * The TopologyValidator backed by src/pci's parseTopology: what the config
 * loader uses unless told otherwise.
 */
import { parseTopology } from '../../src/pci/parse-topology.js';
import type { PciFunction } from '../../src/pci/model.js';
import { publishesAtProbe } from '../../src/p2pdma/p2pdma.js';
import type { PciTopology } from '../../src/pci/topology.js';
import type { PciFunctionKind, TopologyValidator } from './topology.js';

/** Whether a function offers p2pmem to `pci_p2pmem_find`: src/p2pdma's one published rule. */
export function publishesP2pmem(f: PciFunction): boolean {
  return publishesAtProbe(f);
}

function kindOf(f: PciFunction): PciFunctionKind {
  switch (f.kind) {
    case 'rnic':
      return 'nic';
    case 'nvme':
      return 'nvme';
    case 'p2pmem':
      return 'p2pmem';
    default:
      return 'other';
  }
}

export const pciTopologyValidator: TopologyValidator = (doc) => {
  const r = parseTopology(doc, '');
  if (!r.ok) return { ok: false, errors: r.errors.map((e) => ({ path: e.path, message: e.message })) };
  const topo: PciTopology = r.topology;
  return {
    ok: true,
    topology: topo,
    facts: {
      functionKind: (bdf) => {
        const f = topo.get(bdf);
        return f ? kindOf(f) : undefined;
      },
      publishesP2pmem: (bdf) => {
        const f = topo.get(bdf);
        return f ? publishesP2pmem(f) : false;
      },
    },
  };
};
