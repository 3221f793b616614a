/** Topologies for the copy tests: the shipped default (a JBOF) and a slow two-root-port fabric for timing. */

import { loadBuiltinTopology } from '../../src/pci/load.js';
import { parseTopologyOrThrow } from '../../src/pci/parse-topology.js';
import type { PciTopology } from '../../src/pci/topology.js';

/** config/topologies/default.json: NIC 03:00.0, SSDs 04:00.0 / 05:00.0 (CMBs), p2pmem card 06:00.0 behind one switch. */
export const NIC = '0000:03:00.0';
export const SSD1 = '0000:04:00.0';
export const SSD2 = '0000:05:00.0';
export const P2PMEM = '0000:06:00.0';

export const L = {
  dram: 'pci0000:00<->dram',
  rootComplex: 'pci0000:00<->0000:00:01.0',
  uplink: '0000:00:01.0<->0000:01:00.0',
  nic: '0000:02:00.0<->0000:03:00.0',
  ssd1: '0000:02:01.0<->0000:04:00.0',
  ssd2: '0000:02:02.0<->0000:05:00.0',
  p2pmem: '0000:02:03.0<->0000:06:00.0',
} as const;

export function jbof(): PciTopology {
  return loadBuiltinTopology('default');
}

/** Two Gen1 x1 root ports (250 MB/s per direction): NIC 01:00.0 and SSD 02:00.0; DRAM at 1 GB/s. */
export const SLOW_NIC = '0000:01:00.0';
export const SLOW_SSD = '0000:02:00.0';
export function slowFabric(linkBandwidth?: number): PciTopology {
  const gen1x1 = linkBandwidth === undefined ? { gen: 1, width: 1 } : { gen: 1, width: 1, bandwidth: linkBandwidth };
  return parseTopologyOrThrow({
    name: 'slow',
    rootComplex: { dram: { bandwidth: 1e9 } },
    rootPorts: [
      { bdf: '0000:00:01.0', link: gen1x1, children: [SLOW_NIC] },
      { bdf: '0000:00:02.0', link: gen1x1, children: [SLOW_SSD] },
    ],
    endpoints: [
      { bdf: SLOW_NIC, kind: 'rnic', link: gen1x1, bars: [{ index: 0, size: '1M' }] },
      { bdf: SLOW_SSD, kind: 'nvme', link: gen1x1, bars: [{ index: 0, size: '16K' }] },
    ],
  });
}
