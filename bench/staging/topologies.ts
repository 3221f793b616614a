/**
 * The bench's topologies and where the target's devices sit in each: the NIC the
 * port uses and the SSD the namespace's media lives on.
 *
 *   jbof                the shipped default: NIC and SSDs behind one switch
 *   different-switches  the NIC behind sw0, the namespace's SSD behind sw1 (no
 *                       provider satisfies both under the same-switch rule)
 *   root-ports          every device under its own root port (no switch at all)
 *   narrow-uplink       bench-local: the JBOF with a Gen3 x4 switch uplink, so
 *                       system-memory staging is uplink-bound (topologies/narrow-uplink.json)
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinTopologyPath } from '../../src/pci/load.js';
import { parseTopologyOrThrow } from '../../src/pci/parse-topology.js';
import type { PciTopology } from '../../src/pci/topology.js';
import { packageRoot } from '../../target/config/file.js';
import type { TopologyName } from './matrix.js';

export interface Placement {
  readonly topology: TopologyName;
  /** The topology document (inlined into the target's configuration). */
  readonly document: Record<string, unknown>;
  readonly parsed: PciTopology;
  /** BDF of the NIC the port's traffic crosses. */
  readonly nic: string;
  /** BDF of the NVMe SSD holding the namespace's media. */
  readonly ssd: string;
  readonly description: string;
}

const PLACEMENT: Readonly<Record<TopologyName, { file: () => string; nic: string; ssd: string }>> = {
  jbof: { file: () => builtinTopologyPath('default'), nic: '0000:03:00.0', ssd: '0000:04:00.0' },
  'different-switches': { file: () => builtinTopologyPath('different-switches'), nic: '0000:03:00.0', ssd: '0000:07:00.0' },
  'root-ports': { file: () => builtinTopologyPath('root-ports'), nic: '0000:01:00.0', ssd: '0000:02:00.0' },
  'narrow-uplink': { file: () => join(packageRoot(), 'bench', 'staging', 'topologies', 'narrow-uplink.json'), nic: '0000:03:00.0', ssd: '0000:04:00.0' },
};

export function loadPlacement(name: TopologyName): Placement {
  const p = PLACEMENT[name];
  const path = p.file();
  const document = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const parsed = parseTopologyOrThrow(document, 'topology');
  for (const [what, bdf, kind] of [['NIC', p.nic, 'rnic'], ['SSD', p.ssd, 'nvme']] as const) {
    const f = parsed.get(bdf);
    if (f === undefined || f.kind !== kind) throw new Error(`bench placement: ${what} ${bdf} is not a ${kind} endpoint of ${path}`);
  }
  return {
    topology: name,
    document,
    parsed,
    nic: p.nic,
    ssd: p.ssd,
    description: typeof document['description'] === 'string' ? document['description'] : name,
  };
}
