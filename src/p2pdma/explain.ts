/**
 * Human-readable explanations of provider selection, for the CLI and the management API.
 */

import type { FindExplanation } from './p2pdma.js';

/**
 *   policy same-switch; clients 0000:03:00.0, 0000:04:00.0
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
    else s += `distance ${c.distance}`;
    if (e.chosen === c.provider) s += '  (chosen)';
    else if (e.chosen === null && e.ties.includes(c.provider)) s += '  (closest)';
    lines.push(s);
    for (const p of c.clients) {
      if (p.distance >= 0 && p.note && p.viaRootComplex) lines.push(`      ${p.client}: ${p.distance} — ${p.note}`);
    }
  }
  if (e.ties.length > 1) lines.push(`  ${e.ties.length} providers tie at distance ${e.closestDistance}; find picks one at random`);
  if (e.ties.length === 0) lines.push('  no compatible published provider');
  return lines.join('\n');
}
