/** Turning the guest's results.txt, the runner's validators and the wire check into the table. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROWS } from './rows.js';
import type { RowResult, Status } from './rows.js';

export interface GuestLine { status: Status; seconds: number; reason: string }

/** "id<TAB>status<TAB>seconds<TAB>reason" lines */
export function parseResults(text: string): Map<string, GuestLine> {
  const m = new Map<string, GuestLine>();
  for (const line of text.split('\n')) {
    const [id, status, seconds, ...reason] = line.split('\t');
    if (!id || !status) continue;
    const st: Status = status === 'pass' || status === 'skip' || status === 'pending' ? status : 'fail';
    m.set(id, { status: st, seconds: Number(seconds), reason: reason.join('\t').trim() });
  }
  return m;
}

/** One row per catalog entry in `wanted`; rows the guest never reported fail. */
export function collectRows(outDir: string, wanted: readonly string[], guestNote: string): RowResult[] {
  const file = join(outDir, 'results.txt');
  const lines = existsSync(file) ? parseResults(readFileSync(file, 'utf8')) : new Map<string, GuestLine>();
  return ROWS.filter((r) => wanted.includes(r.id)).map((r) => {
    const g = lines.get(r.id);
    const log = join(outDir, 'checks', `${r.id}.log`);
    if (r.hostOnly) return { id: r.id, title: r.title, status: 'fail', seconds: null, reason: 'not evaluated', log: null };
    if (!g) return { id: r.id, title: r.title, status: 'fail', seconds: null, reason: `no result from the guest (${guestNote})`, log: existsSync(log) ? log : null };
    return { id: r.id, title: r.title, status: g.status, seconds: g.seconds, reason: g.reason, log };
  });
}

export function counts(rows: readonly RowResult[]): Record<Status, number> {
  const c: Record<Status, number> = { pass: 0, fail: 0, skip: 0, pending: 0 };
  for (const r of rows) c[r.status]++;
  return c;
}

export function table(rows: readonly RowResult[], width = 110): string {
  const idW = Math.max(...rows.map((r) => r.id.length), 4);
  const mark: Record<Status, string> = { pass: 'PASS', fail: 'FAIL', skip: 'skip', pending: 'PEND' };
  const out = [`${'row'.padEnd(idW)}  stat  time   detail`, `${'-'.repeat(idW)}  ----  -----  ${'-'.repeat(Math.max(10, width - idW - 15))}`];
  for (const r of rows) {
    const t = r.seconds === null || Number.isNaN(r.seconds) ? '    -' : `${r.seconds.toFixed(1)}s`.padStart(5);
    const detail = r.reason.length > width - idW - 15 ? `${r.reason.slice(0, width - idW - 18)}...` : r.reason;
    out.push(`${r.id.padEnd(idW)}  ${mark[r.status]}  ${t}  ${detail}`);
  }
  return out.join('\n');
}
