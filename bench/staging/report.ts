/**
 * The staging bench report: comparisons (p2pmem ÷ system memory, same run),
 * checks of what issue 7 judges, and the renderings — JSON, a Markdown document,
 * a terminal table, two SVG charts and the README snippet. Pure: results in,
 * strings out.
 */

import { describeMachine, type MachineInfo } from '../report/files.js';
import { markdownTable, textTable, type Column } from '../report/markdown.js';
import { formatDuration, formatNumber, formatSize, median, ratio } from '../report/stats.js';
import { barChartSvg } from '../report/svg.js';
import type { CellResult } from './cell.js';
import type { Preset } from './matrix.js';

export interface RunInfo {
  /** The command line that produced the run, as a user would type it. */
  readonly command: string;
  readonly preset: Preset;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: MachineInfo;
  /** Caveats the reader must see next to the numbers (in-process target, missing data path, …). */
  readonly notes: readonly string[];
  /** Per topology: where the allow_p2pmem port stages (the p2pdma policy's choice) and why. */
  readonly p2pmemStaging?: readonly StagingChoice[];
  /** 1/5/15-minute load averages when the run started and ended (other work on the machine skews every number). */
  readonly load?: { readonly start: readonly number[]; readonly end: readonly number[] };
}

export interface StagingChoice {
  readonly topology: string;
  /** Provider BDF, or null: the port stages in system memory (every I/O a fallback). */
  readonly provider: string | null;
  readonly reason: string;
}

function choiceLines(r: RunInfo, full: boolean): string[] {
  const list = r.p2pmemStaging ?? [];
  if (list.length === 0) return [];
  const cut = (t: string): string => (full || t.length <= 110 ? t : `${t.slice(0, 109)}…`);
  return [
    'Where the allow_p2pmem port stages (p2pdma policy, per topology):',
    '',
    ...list.map((c) => `- ${c.topology}: **${c.provider ?? 'system memory'}** — ${cut(c.reason)}`),
    '',
  ];
}

export interface Comparison {
  readonly configKey: string;
  readonly topology: string;
  readonly transport: string;
  readonly workload: string;
  readonly bs: number;
  readonly qd: number;
  readonly queues: number;
  /** Rounds with both stagings measured. */
  readonly rounds: number;
  readonly systemMbps: number | null;
  readonly p2pmemMbps: number | null;
  /** Median over rounds of (p2pmem MB/s ÷ system MB/s) of the same round. */
  readonly ratio: number | null;
  readonly roundRatios: readonly number[];
  /**
   * Median over rounds of (system CPU µs per MB ÷ p2pmem CPU µs per MB): p2pmem's
   * payload per CPU-second relative to system memory's — the emulator's cost ratio,
   * robust to other load on the machine. > 1: p2pmem staging is cheaper.
   */
  readonly cpuRatio: number | null;
  /**
   * The p2pmem port staged every I/O of this configuration in system memory (no
   * compatible provider): both sides ran the same code, so the ratio is an A/A control
   * showing the run's noise.
   */
  readonly aa: boolean;
}

export type CheckStatus = 'pass' | 'fail' | 'not measured';

export interface Check {
  readonly id: string;
  readonly description: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

export interface StagingReport {
  readonly bench: 'staging';
  readonly schema: 1;
  readonly run: RunInfo;
  /** Every measured cell, every round, in run order. */
  readonly cells: readonly CellResult[];
  /** Per cell id, the round shown in tables and charts (round 0: the matrix cell). */
  readonly representative: readonly CellResult[];
  readonly comparisons: readonly Comparison[];
  readonly checks: readonly Check[];
}

/** The threshold issue 7 sets for the emulator's own cost of p2pmem staging at 128 KiB. */
export const RATIO_GOAL = 0.9;

/** The matrix cell (round 0, full warm-up and duration) of each id; extra rounds only feed the ratios. */
function pickRepresentative(cells: readonly CellResult[]): CellResult[] {
  const seen = new Set<string>();
  const out: CellResult[] = [];
  for (const c of cells) {
    if (c.round !== 0 || seen.has(c.id)) continue;
    seen.add(c.id);
    out.push(c);
  }
  return out;
}

export function compare(cells: readonly CellResult[]): Comparison[] {
  const keys: string[] = [];
  const byKey = new Map<string, CellResult[]>();
  for (const c of cells) {
    let l = byKey.get(c.configKey);
    if (l === undefined) {
      l = [];
      byKey.set(c.configKey, l);
      keys.push(c.configKey);
    }
    l.push(c);
  }
  return keys.map((key) => {
    const l = byKey.get(key)!;
    const first = l[0]!;
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const sys: number[] = [];
    const p2p: number[] = [];
    const rounds = new Set(l.map((c) => c.round));
    for (const r of rounds) {
      const s = l.find((c) => c.round === r && c.staging === 'system');
      const p = l.find((c) => c.round === r && c.staging === 'p2pmem');
      if (s?.mbps != null) sys.push(s.mbps);
      if (p?.mbps != null) p2p.push(p.mbps);
      const q = ratio(p?.mbps, s?.mbps);
      if (q !== null) ratios.push(q);
      const cq = ratio(s?.cpuUsPerMB, p?.cpuUsPerMB);
      if (cq !== null) cpuRatios.push(cq);
    }
    return {
      configKey: key,
      topology: first.topology,
      transport: first.transport,
      workload: first.workload,
      bs: first.bs,
      qd: first.qd,
      queues: first.queues,
      rounds: ratios.length,
      systemMbps: sys.length ? median(sys) : null,
      p2pmemMbps: p2p.length ? median(p2p) : null,
      ratio: ratios.length ? median(ratios) : null,
      roundRatios: ratios,
      cpuRatio: cpuRatios.length ? median(cpuRatios) : null,
      aa: l.some((c) => c.staging === 'p2pmem' && c.error === null) && l.every((c) => c.staging !== 'p2pmem' || c.error !== null || c.stagedIn === 'dram'),
    };
  });
}

const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

function check(id: string, description: string, subjects: readonly CellResult[], measured: (c: CellResult) => boolean, ok: (c: CellResult) => boolean, show: (c: CellResult) => string): Check {
  const m = subjects.filter((c) => c.error === null && measured(c));
  if (m.length === 0) return { id, description, status: 'not measured', detail: subjects.length === 0 ? 'no such cells in this run' : 'no DMA counters for these cells (data path not wired)' };
  const bad = m.filter((c) => !ok(c));
  const detail = bad.length === 0
    ? `${m.length} cell${m.length === 1 ? '' : 's'}: ${[...new Set(m.map(show))].join('; ')}`
    : `${bad.length} of ${m.length} cells off: ${bad.slice(0, 4).map((c) => `${c.id} (${show(c)})`).join('; ')}`;
  return { id, description, status: bad.length === 0 ? 'pass' : 'fail', detail };
}

export function runChecks(rep: readonly CellResult[], comparisons: readonly Comparison[]): Check[] {
  const jbof = rep.filter((c) => c.topology === 'jbof');
  const narrow = rep.filter((c) => c.topology === 'narrow-uplink');
  const hasCounters = (c: CellResult): boolean => c.perPayloadByte !== null;
  const rcDram = (c: CellResult): string => `RC ${formatNumber(c.perPayloadByte!.rootComplex)}, DRAM ${formatNumber(c.perPayloadByte!.dramBytes)} B/B`;
  const checks: Check[] = [
    check(
      'jbof-p2pmem-zero-rc-dram',
      'JBOF, p2pmem staging: 0 root-complex and 0 DRAM bytes per payload byte (and no fallbacks)',
      jbof.filter((c) => c.staging === 'p2pmem'),
      hasCounters,
      (c) => c.perPayloadByte!.rootComplex === 0 && c.perPayloadByte!.dramBytes === 0 && (c.p2pmemFallbacks ?? 0) === 0,
      (c) => `${rcDram(c)}, fallbacks ${c.p2pmemFallbacks ?? '–'}`,
    ),
    check(
      'jbof-system-two-rc',
      'JBOF, system-memory staging: 2 root-complex (and 2 DRAM) bytes per payload byte',
      jbof.filter((c) => c.staging === 'system'),
      hasCounters,
      (c) => near(c.perPayloadByte!.rootComplex, 2) && near(c.perPayloadByte!.dramBytes, 2),
      rcDram,
    ),
    check(
      'narrow-uplink-limiting',
      'Narrow (Gen3 x4) switch uplink: the link model names the uplink as limiting for system-memory staging, and not for p2pmem',
      narrow,
      (c) => c.projected !== null,
      (c) => (c.staging === 'system') === (c.projected!.limitingClass === 'uplink'),
      (c) => `${c.staging}: ${c.projected!.limitingShort ?? '–'}`,
    ),
  ];
  const judged = comparisons.filter((k) => k.topology === 'jbof' && k.bs === 128 * 1024);
  const withRatio = judged.filter((k) => k.ratio !== null);
  checks.push({
    id: 'jbof-128k-ratio',
    description: `JBOF, 128 KiB: emulator throughput with p2pmem staging ≥ ${RATIO_GOAL * 100} % of system-memory staging (same run)`,
    status: withRatio.length === 0 ? 'not measured' : withRatio.every((k) => k.ratio! >= RATIO_GOAL) ? 'pass' : 'fail',
    detail: withRatio.length === 0
      ? 'no 128 KiB JBOF pair measured'
      : withRatio.map((k) => `${k.transport} ${k.workload} QD${k.qd}×${k.queues}: ${formatNumber(k.ratio!, 3)} (${k.rounds} round${k.rounds === 1 ? '' : 's'}; per CPU-second ${formatNumber(k.cpuRatio, 3)})`).join('; '),
  });
  return checks;
}

export function buildReport(cells: readonly CellResult[], run: RunInfo): StagingReport {
  const representative = pickRepresentative(cells);
  const comparisons = compare(cells);
  return { bench: 'staging', schema: 1, run, cells, representative, comparisons, checks: runChecks(representative, comparisons) };
}

// ---------------------------------------------------------------- renderings

const COLUMNS: Column[] = [
  { header: 'topology' },
  { header: 'transport' },
  { header: 'workload' },
  { header: 'QD', align: 'right' },
  { header: 'queues', align: 'right' },
  { header: 'staging' },
  { header: 'MB/s', align: 'right' },
  { header: 'IOPS', align: 'right' },
  { header: 'p50 µs', align: 'right' },
  { header: 'p99 µs', align: 'right' },
  { header: 'CPU µs/MB', align: 'right' },
  { header: 'NIC', align: 'right' },
  { header: 'SSD', align: 'right' },
  { header: 'uplink', align: 'right' },
  { header: 'root cplx', align: 'right' },
  { header: 'DRAM', align: 'right' },
  { header: 'fallbacks', align: 'right' },
  { header: 'model MB/s', align: 'right' },
  { header: 'limiting link' },
  { header: 'p2p ÷ sys', align: 'right' },
];

function rows(report: StagingReport): string[][] {
  const ratioOf = new Map(report.comparisons.map((k) => [k.configKey, k]));
  return report.representative.map((c) => {
    const pb = c.perPayloadByte;
    const proj = c.projected ?? null;
    const k = ratioOf.get(c.configKey);
    const f = (v: number | undefined | null, sig = 3): string => (c.error !== null ? '' : formatNumber(v ?? null, sig));
    return [
      c.topology,
      c.transport,
      c.workload,
      String(c.qd),
      String(c.queues),
      c.error !== null ? `${c.staging} (error)` : c.staging === 'p2pmem' && c.stagedIn === 'dram' ? 'p2pmem→sys' : c.staging,
      f(c.mbps, 4),
      f(c.iops, 4),
      f(c.latencyUs?.p50),
      f(c.latencyUs?.p99),
      f(c.cpuUsPerMB),
      f(pb?.nic),
      f(pb?.ssd),
      f(pb?.uplink),
      f(pb?.rootComplex),
      f(pb?.dramBytes),
      c.p2pmemFallbacks === null ? '–' : String(c.p2pmemFallbacks),
      formatNumber((proj ?? c.expected).mbps, 4) + (proj === null ? '*' : ''),
      (proj ?? c.expected).limitingShort ?? '–',
      c.staging === 'p2pmem' && k?.ratio != null ? formatNumber(k.ratio, 3) : '',
    ];
  });
}

function checkLines(report: StagingReport, md: boolean): string[] {
  const mark = (s: CheckStatus): string => (s === 'pass' ? 'PASS' : s === 'fail' ? 'FAIL' : 'n/a ');
  return report.checks.map((c) => (md ? `- **${mark(c.status).trim()}** ${c.description} — ${c.detail}` : `${mark(c.status)}  ${c.description}\n      ${c.detail}`));
}

export function renderText(report: StagingReport): string {
  const out = [
    textTable(COLUMNS, rows(report)),
    '',
    'NIC … DRAM: bytes per payload byte by link class; "model MB/s": link model projection from measured link bytes (* = flow model, no counters).',
    ...report.run.notes.map((n) => `note: ${n}`),
    ...(report.run.p2pmemStaging ?? []).map((c) => `p2pmem port on ${c.topology}: ${c.provider ?? 'system memory'}`),
    '',
    ...checkLines(report, false),
    ...(noiseFloor(report) !== null ? ['', noiseFloor(report)!] : []),
  ];
  const errs = report.representative.filter((c) => c.error !== null);
  if (errs.length > 0) out.push('', `${errs.length} cell(s) did not run; first: ${errs[0]!.id}: ${errs[0]!.error}`);
  return out.join('\n');
}

/** Chart categories: the config key without the dimensions that have one value in this run. */
function categoryLabel(c: Comparison, all: readonly Comparison[]): string {
  const parts: string[] = [c.topology];
  if (new Set(all.map((x) => x.transport)).size > 1) parts.push(c.transport);
  parts.push(c.workload);
  if (new Set(all.map((x) => x.qd)).size > 1) parts.push(`qd${c.qd}`);
  if (new Set(all.map((x) => x.queues)).size > 1) parts.push(`q${c.queues}`);
  return parts.join(' ');
}

/** At most ~64 groups per chart: with more (the full matrix), chart the deepest queue depth on one queue. */
function chartComparisons(report: StagingReport): { list: Comparison[]; note: string } {
  const all = report.comparisons;
  if (all.length <= 64) return { list: [...all], note: '' };
  const qd = Math.max(...all.map((k) => k.qd));
  const list = all.filter((k) => k.qd === qd && k.queues === 1);
  return { list, note: ` (QD${qd}, 1 queue; every cell is in the table)` };
}

const COLORS = { system: '#4e79a7', p2pmem: '#f28e2b' } as const;

export function renderCharts(report: StagingReport): { throughput: string; rootComplex: string } {
  const { list, note } = chartComparisons(report);
  const rep = new Map(report.representative.map((c) => [c.id, c]));
  const cats = list.map((k) => categoryLabel(k, list));
  const cell = (k: Comparison, s: 'system' | 'p2pmem'): CellResult | undefined => rep.get(`${k.configKey}/${s}`);
  const when = `${report.run.startedAt.slice(0, 10)}, ${report.run.machine.cpus} CPUs, Node ${report.run.machine.node}`;
  const throughput = barChartSvg({
    title: 'Emulator throughput by staging (MB/s, higher is better)',
    subtitle: `${report.run.command} — ${report.run.preset.name} preset${note}, ${when}`,
    yLabel: 'MB/s',
    categories: cats,
    series: (['system', 'p2pmem'] as const).map((s) => ({
      name: s === 'system' ? 'system memory' : 'p2pmem',
      color: COLORS[s],
      values: list.map((k) => cell(k, s)?.mbps ?? null),
    })),
  });
  const rootComplex = barChartSvg({
    title: 'Root-complex bytes per payload byte by staging (lower is better)',
    subtitle: `measured DMA counters; a p2pmem bar at 2 = no compatible provider, the port staged in system memory — ${report.run.preset.name} preset${note}`,
    yLabel: 'root-complex bytes per payload byte',
    categories: cats,
    series: (['system', 'p2pmem'] as const).map((s) => ({
      name: s === 'system' ? 'system memory' : 'p2pmem',
      color: COLORS[s],
      values: list.map((k) => cell(k, s)?.perPayloadByte?.rootComplex ?? null),
    })),
    referenceLines: [{ value: 2, label: '2 B/B: NIC→DRAM + DRAM→SSD' }],
    valueLabels: true,
  });
  return { throughput, rootComplex };
}

/** "A/A control: … ratios 0.91–1.12 (median 1.01) over 16 pairs" — the noise floor of this run. */
export function noiseFloor(report: StagingReport): string | null {
  const aa = report.comparisons.filter((k) => k.aa && k.ratio !== null).map((k) => k.ratio!);
  if (aa.length === 0) return null;
  const lo = Math.min(...aa);
  const hi = Math.max(...aa);
  return `A/A control — configurations where the allow_p2pmem port had no compatible provider, so both sides staged in system memory: p2pmem-port ÷ system-port throughput ${formatNumber(lo, 3)}–${formatNumber(hi, 3)} (median ${formatNumber(median(aa), 3)}) over ${aa.length} pair${aa.length === 1 ? '' : 's'}. That spread is this run's noise; differences inside it are not differences.`;
}

function comparisonTable(report: StagingReport): string {
  const judged = report.comparisons.filter((k) => k.topology === 'jbof' && k.bs === 128 * 1024);
  const cols: Column[] = [
    { header: 'transport' },
    { header: 'workload' },
    { header: 'QD', align: 'right' },
    { header: 'queues', align: 'right' },
    { header: 'system MB/s', align: 'right' },
    { header: 'p2pmem MB/s', align: 'right' },
    { header: 'p2pmem ÷ system', align: 'right' },
    { header: 'per-round ratios', align: 'right' },
    { header: 'per CPU-second', align: 'right' },
  ];
  return markdownTable(cols, judged.map((k) => [
    k.transport,
    k.workload,
    String(k.qd),
    String(k.queues),
    formatNumber(k.systemMbps, 4),
    formatNumber(k.p2pmemMbps, 4),
    formatNumber(k.ratio, 3),
    k.roundRatios.map((r) => formatNumber(r, 2)).join(' '),
    formatNumber(k.cpuRatio, 3),
  ]));
}

export interface ChartPaths {
  /** Paths as the Markdown should reference them (relative to the Markdown file). */
  readonly throughput: string;
  readonly rootComplex: string;
}

export function renderMarkdown(report: StagingReport, charts: ChartPaths): string {
  const r = report.run;
  const out = [
    `# Staging bench: p2pmem vs system memory (${r.preset.name} preset)`,
    '',
    `Command: \`${r.command}\` — started ${r.startedAt}, took ${formatDuration(r.durationMs)}.`,
    `Machine: ${describeMachine(r.machine)}${r.load ? `; load average ${r.load.start.map((x) => x.toFixed(2)).join('/')} at start, ${r.load.end.map((x) => x.toFixed(2)).join('/')} at end` : ''}.`,
    `Each cell: ${formatNumber(r.preset.warmupSeconds)} s warm-up, ${formatNumber(r.preset.seconds)} s measured. JBOF 128 KiB pairs: the matrix cell plus ${r.preset.ratioRounds - 1} interleaved ${formatNumber(r.preset.ratioSliceSeconds)} s slices per staging (ABBA order); ratio = median of per-round ratios. "per CPU-second": the same comparison on payload per CPU-second of the whole process (target + initiator + copy worker), which other load on the machine disturbs far less.`,
    '',
    ...r.notes.map((n) => `> ${n}`),
    ...(r.notes.length ? [''] : []),
    ...choiceLines(r, true),
    '## Checks',
    '',
    ...checkLines(report, true),
    '',
    '## p2pmem ÷ system memory, JBOF, 128 KiB',
    '',
    comparisonTable(report),
    '',
    ...(noiseFloor(report) !== null ? [noiseFloor(report)!, ''] : []),
    '## Charts',
    '',
    `![Throughput by staging](${charts.throughput})`,
    '',
    `![Root-complex bytes per payload byte by staging](${charts.rootComplex})`,
    '',
    '## All cells',
    '',
    'MB/s and IOPS are what the initiator measured; p50/p99 its per-I/O latency. NIC … DRAM: bytes the copy engine accounted on that link class (both directions) per payload byte; "root cplx" counts bytes of DMAs routed through the root complex. "model MB/s": the link model\'s projected payload rate from the measured link bytes, limited by the named link direction (* = from the flow model, when the cell had no counters). "p2pmem→sys": the p2pmem port fell back to system memory.',
    '',
    markdownTable(COLUMNS, rows(report)),
    '',
  ];
  return out.join('\n');
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : `${path.slice(0, i)}/`;
}

/** What the lead pastes into README.md: one chart, the table, the command. */
export function renderReadmeSnippet(report: StagingReport, chartPathFromRoot: string): string {
  const r = report.run;
  return [
    '## Benchmarks: p2pmem vs system-memory staging',
    '',
    'Measured with',
    '',
    '```sh',
    'npm run build',
    r.command,
    '```',
    '',
    `on ${describeMachine(r.machine)} (${r.startedAt.slice(0, 10)}, ${formatDuration(r.durationMs)}). Every number below was measured in that run; ratios compare cells of the same run.`,
    '',
    ...r.notes.map((n) => `> ${n}`),
    ...(r.notes.length ? [''] : []),
    ...choiceLines(r, false),
    `![Throughput by staging](${chartPathFromRoot})`,
    '',
    ...checkLines(report, true),
    '',
    'p2pmem ÷ system-memory throughput on the JBOF at 128 KiB (same run, median of interleaved rounds):',
    '',
    comparisonTable(report),
    ...(noiseFloor(report) !== null ? ['', noiseFloor(report)!] : []),
    '',
    markdownTable(COLUMNS, rows(report)),
    '',
    'Bytes per payload byte by link class (both directions); "root cplx" = bytes of DMAs through the root complex. "model MB/s" = the link model\'s projected payload rate from the measured link bytes, with the link direction that limits it.',
    `Full results in \`${dirOf(chartPathFromRoot)}\`: the JSON (every cell and round, with the machine and Node version), the Markdown report (${formatSize(128 * 1024)} ratio rounds, the A/A noise floor) and the second chart, root-complex bytes per payload byte by staging (\`${chartPathFromRoot.replace(/-throughput\.svg$/, '-root-complex.svg')}\`).`,
    '',
  ].join('\n');
}

/**
 * The JSON file: the report without the derived `representative` list (round-0
 * cells), pretty-printed except for cells, one per line, so a results file stays
 * small and diffs line by line.
 */
export function renderJson(report: StagingReport): string {
  const { representative: _derived, cells, ...rest } = report;
  const marker = '"__CELLS__"';
  const head = JSON.stringify({ ...rest, cells: '__CELLS__' }, null, 2);
  const body = cells.length === 0 ? '[]' : `[\n${cells.map((c) => `    ${JSON.stringify(c)}`).join(',\n')}\n  ]`;
  return `${head.replace(marker, body)}\n`;
}
