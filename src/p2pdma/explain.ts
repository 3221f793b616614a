/**
 * The one explanation of a provider decision (FindExplanation): its one-line summary and
 * its text rendering, for the data path's logs, the management API and the CLI alike.
 */

import type { FindExplanation, ProviderCandidate } from './p2pdma.js';
import type { PciTopology } from '../pci/topology.js';
import { describeCpu } from '../pci/boot.js';
import { PCI_P2PDMA_WHITELIST } from './policy.js';

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

type Unsummarized = Omit<FindExplanation, 'summary'>;

function acceptedNotes(c: ProviderCandidate): string[] {
  const notes = [...new Set(c.clients.filter((p) => p.client !== p.provider).map((p) => p.note).filter((n): n is string => n !== null))];
  if (c.clients.some((p) => p.client === p.provider)) notes.push('the provider is itself a client');
  return notes;
}

/** One line: what was (or would be) chosen and why; when nothing, why every provider lost. */
export function summarizeFind(e: Unsummarized, dryRun = false): string {
  if (e.refused.length > 0) return `no provider: ${e.refused.map((r) => r.reason).join('; ')}`;
  if (e.clients.length === 0) return 'no provider: no clients given';
  if (e.ties.length === 0) {
    const why = e.candidates.length === 0 ? 'no device has registered p2pmem' : e.candidates.map((c) => `${c.provider}: ${c.reason ?? 'rejected'}`).join('; ');
    return `no compatible provider under ${e.policy} (${why})`;
  }
  if (e.chosen === null) return `closest: ${e.ties.join(', ')} at distance ${e.closestDistance} under ${e.policy}`;
  const c = e.candidates.find((u) => u.provider === e.chosen)!;
  const notes = acceptedNotes(c);
  const tie = e.ties.length <= 1 ? '' : dryRun ? `; ${e.ties.length} providers tie (Linux picks one at random; this is the first by BDF)` : `; ${e.ties.length} providers tied, one picked at random`;
  return `${e.chosen} (${c.kind}, distance ${e.closestDistance} under ${e.policy}${notes.length ? ': ' + notes.join(', ') : ''}${tie})`;
}

/** `e` with `chosen` set and the summary to match. */
export function withChoice(e: FindExplanation, chosen: string, dryRun: boolean): FindExplanation {
  const next = { ...e, chosen };
  return { ...next, summary: summarizeFind(next, dryRun) };
}

/**
 *   policy v3; clients 0000:03:00.0, 0000:04:00.0
 *     0000:04:00.0  distance 1   (chosen)
 *     0000:06:00.0  distance 2
 *     0000:07:00.0  rejected: different switch: 0000:01:00.0 vs 0000:05:00.0
 */
export function formatFindExplanation(e: FindExplanation, indent = ''): string {
  return findExplanationLines(e, indent).join('\n');
}

export function findExplanationLines(e: FindExplanation, indent = ''): string[] {
  const lines = [`${indent}policy ${e.policy}; clients ${e.clients.length ? e.clients.join(', ') : '(none)'}`];
  for (const r of e.refused) lines.push(`${indent}  client ${r.client}: ${r.reason}`);
  if (e.refused.length === 0 && e.candidates.length === 0) lines.push(`${indent}  no device has registered p2pmem`);
  for (const c of e.candidates) {
    let s = `${indent}  ${c.provider}  `;
    if (!c.considered || c.distance === null) s += `skipped: ${c.reason}`;
    else if (c.distance < 0) s += `rejected (${c.distance}): ${c.reason}`;
    else s += `distance ${c.distance}${c.clients.some((p) => p.mapType === 'thru-host-bridge') ? ' (through the host bridge)' : ''}`;
    if (e.chosen === c.provider) s += '  (chosen)';
    else if (e.chosen === null && e.ties.includes(c.provider)) s += '  (closest)';
    lines.push(s);
    for (const p of c.clients) {
      if (p.distance >= 0 && p.note && p.viaRootComplex) lines.push(`${indent}      ${p.client}: ${p.distance} — ${p.note}`);
    }
  }
  if (e.ties.length > 1) lines.push(`${indent}  ${e.ties.length} providers tie at distance ${e.closestDistance}; find picks one at random`);
  if (e.ties.length === 0 && e.refused.length === 0) lines.push(`${indent}  no compatible published provider`);
  for (const l of e.log) lines.push(`${indent}  kernel: ${l.text}`);
  lines.push(`${indent}  => ${e.summary}`);
  return lines;
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
