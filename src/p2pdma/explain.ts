/**
 * The one explanation of a provider decision (FindExplanation): its one-line summary and
 * its text rendering, for the data path's logs, the management API and the CLI alike.
 */

import type { FindExplanation, ProviderCandidate } from './p2pdma.js';

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
 *   policy same-switch; clients 0000:03:00.0, 0000:04:00.0
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
    else s += `distance ${c.distance}`;
    if (e.chosen === c.provider) s += '  (chosen)';
    else if (e.chosen === null && e.ties.includes(c.provider)) s += '  (closest)';
    lines.push(s);
    for (const p of c.clients) {
      if (p.distance >= 0 && p.note && p.viaRootComplex) lines.push(`${indent}      ${p.client}: ${p.distance} — ${p.note}`);
    }
  }
  if (e.ties.length > 1) lines.push(`${indent}  ${e.ties.length} providers tie at distance ${e.closestDistance}; find picks one at random`);
  if (e.ties.length === 0 && e.refused.length === 0) lines.push(`${indent}  no compatible published provider`);
  lines.push(`${indent}  => ${e.summary}`);
  return lines;
}
