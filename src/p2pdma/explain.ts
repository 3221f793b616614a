/**
 * Human-readable explanations of provider selection, for the CLI and the management API.
 */

import type { FindExplanation } from './p2pdma.js';
import type { PciTopology } from '../pci/topology.js';
import { describeCpu } from '../pci/boot.js';
import { PCI_P2PDMA_WHITELIST } from './policy.js';

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');


/**
 *   policy v3; clients 0000:03:00.0, 0000:04:00.0
 *     0000:04:00.0  distance 1   (chosen)
 *     0000:06:00.0  distance 2
 *     0000:07:00.0  rejected: different switch: 0000:01:00.0 vs 0000:05:00.0
 */
export function formatFindExplanation(e: FindExplanation): string {
  const lines = [`policy ${e.policy}; clients ${e.clients.length ? e.clients.join(', ') : '(none)'}`];
  if (e.candidates.length === 0) lines.push('  no device has registered p2pmem');
  for (const c of e.candidates) {
    let s = `  ${c.provider}  `;
    if (!c.considered || c.distance === null) s += `skipped: ${c.reason}`;
    else if (c.distance < 0) s += `rejected (${c.distance}): ${c.reason}`;
    else s += `distance ${c.distance}${c.clients.some((p) => p.mapType === 'thru-host-bridge') ? ' (through the host bridge)' : ''}`;
    if (e.chosen === c.provider) s += '  (chosen)';
    else if (e.chosen === null && e.ties.includes(c.provider)) s += '  (closest)';
    lines.push(s);
    for (const p of c.clients) {
      if (p.distance >= 0 && p.note && p.viaRootComplex) lines.push(`      ${p.client}: ${p.distance} — ${p.note}`);
    }
  }
  if (e.ties.length > 1) lines.push(`  ${e.ties.length} providers tie at distance ${e.closestDistance}; find picks one at random`);
  if (e.ties.length === 0) lines.push('  no compatible published provider');
  for (const l of e.log) lines.push(`  kernel: ${l.text}`);
  return lines.join('\n');
}

/** What the policies read besides the tree: CPU, host bridges (allow list), boot options and their log. */
export function describePlatform(topo: PciTopology): string[] {
  const lines = [`cpu: ${describeCpu(topo.cpu)}`];
  for (const hb of topo.hostBridges) {
    const dev = hb.hostBridgeDev;
    const entry = dev ? PCI_P2PDMA_WHITELIST.find((e) => e.vendor === dev.vendorId && e.device === dev.deviceId) : undefined;
    const list = dev === null
      ? 'no devfn 00.0 or root port first on the root bus: never on the allow list'
      : `${dev.bdf} [${hex4(dev.vendorId)}:${hex4(dev.deviceId)}] ${entry ? `on pci_p2pdma_whitelist${entry.reqSameHostBridge ? ' (same host bridge only)' : ''}` : 'not on pci_p2pdma_whitelist'}`;
    lines.push(`host bridge ${hb.name}: ${list}`);
  }
  lines.push(`boot: iommu ${topo.boot.iommu ? 'on (pci_std_enable_acs sets SV,RR,CR,UF where supported)' : 'off'}${topo.boot.disableAcsRedir ? `, pci=disable_acs_redir=${topo.boot.disableAcsRedir}` : ''}`);
  for (const l of topo.bootLog) lines.push(`  ${l.text}`);
  return lines;
}
