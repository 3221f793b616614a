/**
 * The blktests comparison table: blktests' `check` output of the nvmet-ts run and of the
 * kernel-nvmet run (same guest, same tests) side by side, with the reason for every
 * difference. A difference with no documented reason (differences.ts) fails the stage.
 *
 *   node dist/test/interop/blktests/table.js --blktests DIR --run GUESTOUT [--out FILE]
 * GUESTOUT holds nvmet-ts/check.log and kernel/check.log (guest-blktests.sh).
 */

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { KNOWN_DIFFERENCES } from './differences.js';

export type Status = 'passed' | 'failed' | 'not run';

export interface TestResult {
  /** `nvme/041`, plus ` (tr=tcp)` style condition when blktests printed one. */
  readonly id: string;
  readonly description: string;
  readonly status: Status;
  /** Skip reasons, the start of the output diff, or "exited with status N". */
  readonly details: readonly string[];
}

const STATUS_LINE = /^(\S+\/\d{3})\s+(\([^)]*=[^)]*\)\s+)?(?:\((.*)\))?\s*\[(passed|failed|not run)\]\s*$/;
/** The per-run key table check prints (`    runtime  12.3s  ...  11.9s`). */
const KEY_LINE = /^\s{4}\S+\s+.*\.\.\.(\s|$)/;

/** Parses the console output of blktests' `./check` (stdout not a terminal). */
export function parseCheckLog(text: string): Map<string, TestResult> {
  const out = new Map<string, TestResult>();
  let cur: { id: string; description: string; status: Status; details: string[] } | null = null;
  const flush = (): void => {
    if (cur !== null) out.set(cur.id, cur);
    cur = null;
  };
  for (const line of text.split('\n')) {
    const m = STATUS_LINE.exec(line);
    if (m !== null) {
      flush();
      const cond = m[2]?.trim();
      cur = { id: cond ? `${m[1]} ${cond}` : m[1]!, description: m[3] ?? '', status: m[4] as Status, details: [] };
      continue;
    }
    if (cur === null) continue;
    if (/^\S/.test(line)) {
      flush(); // the "starting" line of the next test, or anything else unindented
      continue;
    }
    if (line.trim() === '' || KEY_LINE.test(line)) continue;
    if (cur.details.length < 12) cur.details.push(line.trim());
  }
  flush();
  return out;
}

export interface Row {
  readonly id: string;
  readonly description: string;
  readonly nvmetTs: Status | 'missing';
  readonly kernel: Status | 'missing';
  readonly reason: string;
  /** A difference where nvmet-ts does worse than the kernel, with no documented reason. */
  readonly unexplained: boolean;
}


export function compare(ts: Map<string, TestResult>, kernel: Map<string, TestResult>, known: Readonly<Record<string, string>>): Row[] {
  const ids = [...new Set([...ts.keys(), ...kernel.keys()])].sort();
  return ids.map((id) => {
    const a = ts.get(id);
    const b = kernel.get(id);
    const nvmetTs = a?.status ?? 'missing';
    const k = b?.status ?? 'missing';
    const base = id.split(' ')[0]!;
    const doc = known[base];
    let reason = '';
    let unexplained = false;
    if (nvmetTs !== k) {
      if (doc !== undefined) reason = doc;
      else {
        const worse = nvmetTs === 'failed' || nvmetTs === 'missing' || (nvmetTs === 'not run' && k === 'passed');
        const detail = (nvmetTs === 'failed' ? a : k === 'failed' ? b : nvmetTs === 'not run' ? a : b)?.details.slice(0, 3).join(' | ') ?? '';
        reason = `${worse ? 'UNEXPLAINED: ' : ''}${detail}`;
        unexplained = worse;
      }
    } else if (k === 'not run') {
      reason = b?.details[0] ?? '';
    } else if (k === 'failed') {
      reason = doc ?? `both fail: ${b?.details.slice(0, 2).join(' | ') ?? ''}`;
    }
    return { id, description: a?.description || b?.description || '', nvmetTs, kernel: k, reason, unexplained };
  });
}

export function counts(rows: readonly Row[], pick: (r: Row) => Status | 'missing'): Record<Status | 'missing', number> {
  const c: Record<Status | 'missing', number> = { passed: 0, failed: 0, 'not run': 0, missing: 0 };
  for (const r of rows) c[pick(r)]++;
  return c;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

export function renderTable(rows: readonly Row[]): string {
  const t = counts(rows, (r) => r.nvmetTs);
  const k = counts(rows, (r) => r.kernel);
  const lines = [
    `nvmet-ts ${t.passed} pass / ${t.failed} fail (${t['not run']} not run) vs kernel nvmet ${k.passed} pass / ${k.failed} fail (${k['not run']} not run)`,
    '',
    '| test | what it covers | nvmet-ts | kernel | reason for a difference |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.id} | ${cell(r.description)} | ${r.nvmetTs} | ${r.kernel} | ${cell(r.reason)} |`),
  ];
  return lines.join('\n') + '\n';
}

function main(): number {
  const { values } = parseArgs({ options: { blktests: { type: 'string' }, run: { type: 'string' }, out: { type: 'string' } } });
  const run = values.run;
  if (run === undefined) {
    process.stderr.write('usage: table.js --run GUESTOUT [--out FILE]\n');
    return 2;
  }
  const read = (target: string): Map<string, TestResult> => {
    const f = join(run, target, 'check.log');
    return existsSync(f) ? parseCheckLog(readFileSync(f, 'utf8')) : new Map();
  };
  const ts = read('nvmet-ts');
  const kernel = read('kernel');
  if (ts.size === 0 || kernel.size === 0) {
    process.stderr.write(`blktests: no results (${ts.size} nvmet-ts, ${kernel.size} kernel tests parsed) under ${run}\n`);
    return 1;
  }
  const rows = compare(ts, kernel, KNOWN_DIFFERENCES);
  const text = renderTable(rows);
  if (values.out !== undefined) writeFileSync(values.out, text);
  process.stdout.write(text);
  const bad = rows.filter((r) => r.unexplained);
  if (bad.length > 0) {
    process.stdout.write(`\n${bad.length} unexplained difference(s): ${bad.map((r) => r.id).join(', ')}\n`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main();
