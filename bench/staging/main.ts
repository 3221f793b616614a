/**
 * `npm run bench` / `node dist/bench/run.js staging`: the p2pmem vs system-memory
 * staging matrix (issue 7). Quick preset by default, `--full` for the whole matrix.
 * Writes bench/results/staging-<preset>.{json,md} and two SVG charts, prints the
 * table (stdout) and a progress bar (stderr).
 */

import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../../target/config/file.js';
import { machineInfo, writeResultFiles } from '../report/files.js';
import { Progress } from '../report/progress.js';
import { formatNumber } from '../report/stats.js';
import { failedCell, runCell, type CellResult } from './cell.js';
import { connectTcpHost, type BenchHost } from './host.js';
import { connectRdmaHost } from './rdma-host.js';
import {
  expandMatrix, FULL, groupByTarget, isRatioCell, PRESETS, QUICK, TOPOLOGIES, TRANSPORTS, WORKLOADS,
  type Cell, type Preset, type Staging, type Transport,
} from './matrix.js';
import { buildReport, renderCharts, renderJson, renderMarkdown, renderReadmeSnippet, renderText, type StagingChoice } from './report.js';
import { BenchTarget } from './target.js';
import { loadPlacement } from './topologies.js';

export const STAGING_USAGE = `Usage: npm run bench [-- options]          (= node dist/bench/run.js staging [options])

p2pmem vs system-memory staging over the matrix topology × staging × transport ×
workload × queue depth × queues. Quick preset by default (under 3 minutes on 2 cores).

  --full               the whole matrix (${expandMatrix(FULL).length} cells, ${FULL.seconds} s each)
  --preset NAME        quick | full
  --seconds S          measured seconds per cell (preset: quick ${QUICK.seconds}, full ${FULL.seconds})
  --warmup S           unmeasured warm-up per cell
  --rounds N           rounds for the judged JBOF 128 KiB pairs (ratio = median of per-round ratios)
  --slice S            seconds per extra ratio round (preset: quick ${QUICK.ratioSliceSeconds}, full ${FULL.ratioSliceSeconds})
  --topology LIST      comma-separated subset of ${TOPOLOGIES.join(', ')}
  --transport LIST     subset of ${TRANSPORTS.join(', ')}
  --workload LIST      subset of ${WORKLOADS.map((w) => w.name).join(', ')}
  --qd LIST            queue depths, e.g. 1,32
  --queues LIST        I/O queue counts, e.g. 1,2
  --out DIR            results directory (default bench/results)
  --no-write           do not write result files
  --json               print only the JSON report on stdout
  -h, --help           this text`;

/** Cell time bound beyond its planned warm-up + measurement (perf's own guard is 10 s). */
const CELL_SLACK_MS = 15_000;
const NS_BYTES = 256 * 1024 * 1024;
const GROUP_WARMUP_MS = 300;

function list<T extends string>(v: string | undefined, known: readonly T[], what: string): T[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!known.includes(i as T)) throw new RangeError(`unknown ${what} "${i}" (known: ${known.join(', ')})`);
  return items as T[];
}

function numbers(v: string | undefined, what: string, min: number, max: number): number[] | undefined {
  if (v === undefined) return undefined;
  const out = v.split(',').map((s) => Number(s.trim()));
  for (const n of out) if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${what} must be integers in ${min}..${max}, got "${v}"`);
  return out;
}

function positive(v: string | undefined, what: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n >= 0 && n <= max)) throw new RangeError(`${what} must be a number in 0..${max}, got "${v}"`);
  return n;
}

export interface ParsedArgs {
  readonly preset: Preset;
  readonly out: string | null;
  readonly json: boolean;
  readonly help: boolean;
}

export function parseStagingArgs(argv: string[]): ParsedArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean', default: false },
      preset: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      slice: { type: 'string' },
      topology: { type: 'string' },
      transport: { type: 'string' },
      workload: { type: 'string' },
      qd: { type: 'string' },
      queues: { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const name = values.full ? 'full' : (values.preset ?? 'quick');
  const base = PRESETS[name];
  if (base === undefined) throw new RangeError(`unknown preset "${name}" (quick, full)`);
  if (values.full && values.preset !== undefined && values.preset !== 'full') throw new RangeError('--full and --preset disagree');
  const preset: Preset = {
    ...base,
    topologies: list(values.topology, TOPOLOGIES, 'topology') ?? base.topologies,
    transports: list(values.transport, TRANSPORTS, 'transport') ?? base.transports,
    workloads: list(values.workload, WORKLOADS.map((w) => w.name), 'workload') ?? base.workloads,
    qds: numbers(values.qd, '--qd', 1, 128) ?? base.qds,
    queues: numbers(values.queues, '--queues', 1, 8) ?? base.queues,
    seconds: positive(values.seconds, '--seconds', 600) ?? base.seconds,
    warmupSeconds: positive(values.warmup, '--warmup', 60) ?? base.warmupSeconds,
    ratioRounds: numbers(values.rounds, '--rounds', 1, 100)?.[0] ?? base.ratioRounds,
    ratioSliceSeconds: positive(values.slice, '--slice', 60) ?? base.ratioSliceSeconds,
  };
  if (!(preset.seconds > 0)) throw new RangeError('--seconds must be > 0');
  if (!(preset.ratioSliceSeconds > 0)) throw new RangeError('--slice must be > 0');
  return {
    preset,
    out: values['no-write'] ? null : (values.out ?? join(packageRoot(), 'bench', 'results')),
    json: values.json,
    help: values.help,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} exceeded its ${Math.round(ms / 1000)} s bound`)), ms);
    }),
  ]);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function connectHost(target: BenchTarget, transport: Transport, staging: Staging, queues: number, qd: number): Promise<BenchHost> {
  if (transport === 'tcp') return connectTcpHost(target, staging, queues, Math.max(64, qd * 2));
  if (!target.hasTransport('rdma')) throw new Error('the target has no simulated RDMA transport (the p2pmem data path registers it)');
  return connectRdmaHost(target, staging, queues, Math.max(64, qd * 2));
}

interface GroupOutcome {
  readonly results: CellResult[];
  readonly notes: string[];
  readonly staging: StagingChoice | null;
}

/** All cells of one topology × transport against one target; extra ratio rounds at the end. */
async function runGroup(cells: readonly Cell[], preset: Preset, progress: Progress): Promise<GroupOutcome> {
  const first = cells[0]!;
  const results: CellResult[] = [];
  const notes: string[] = [];
  let choice: StagingChoice | null = null;
  const extra: { cell: Cell; round: number }[] = [];
  const ratioKeys = [...new Set(cells.filter(isRatioCell).map((c) => c.configKey))];
  let flip = true;
  for (let round = 1; round < preset.ratioRounds; round++) {
    for (const key of ratioKeys) {
      const pair = cells.filter((c) => c.configKey === key);
      for (const c of flip ? [...pair].reverse() : pair) extra.push({ cell: c, round });
      flip = !flip;
    }
  }
  const plan = [...cells.map((cell) => ({ cell, round: 0 })), ...extra];
  const cellMs = (preset.warmupSeconds + Math.max(preset.seconds, preset.ratioSliceSeconds)) * 1000 + CELL_SLACK_MS;

  let target: BenchTarget | null = null;
  const hosts = new Map<Staging, BenchHost>();
  let fatal: string | null = null;
  try {
    target = await withTimeout(BenchTarget.start({ placement: loadPlacement(first.topology), trtype: first.transport, nsBytes: NS_BYTES }), 20_000, 'target start');
    notes.push(`Target copy engine: ${target.engineWorkers} worker thread(s); copies under ${target.inlineThreshold / 1024} KiB (and TCP socket copies) run inline on the main thread.`);
    const maxQueues = Math.max(...cells.map((c) => c.queues));
    const maxQd = Math.max(...cells.map((c) => c.qd));
    for (const s of new Set(cells.map((c) => c.staging))) {
      hosts.set(s, await withTimeout(connectHost(target, first.transport, s, maxQueues, maxQd), 20_000, `${s} host connect`));
    }
    // New connections and a new target: a short unmeasured run on each host before the first cell,
    // so the first cell of a group is not the one paying for cold pools and TCP windows.
    for (const [s, h] of hosts) {
      const c = cells.find((x) => x.staging === s)!;
      await withTimeout(
        h.perf({ nsid: 1, bs: c.workload.bs, qd: c.qd, qids: h.qids.slice(0, 1), pattern: c.workload.pattern, rw: c.workload.rw, timeMs: GROUP_WARMUP_MS }),
        GROUP_WARMUP_MS + CELL_SLACK_MS,
        `${s} warm-up`,
      );
    }
    const d = target.portProvider('p2pmem');
    choice = { topology: first.topology, provider: d.provider, reason: d.reason };
  } catch (e) {
    fatal = `${first.topology}/${first.transport}: ${errText(e)}`;
  }

  for (const { cell, round } of plan) {
    const label = `${cell.id}${round > 0 ? ` (round ${round + 1})` : ''}`;
    progress.begin(label);
    let r: CellResult;
    if (fatal !== null || target === null) {
      r = failedCell(target, cell, round, fatal ?? 'no target');
    } else {
      try {
        r = await withTimeout(runCell(target, hosts.get(cell.staging)!, cell, preset, round), cellMs, `cell ${cell.id}`);
      } catch (e) {
        r = failedCell(target, cell, round, errText(e));
        // A hung or broken connection poisons the rest of the group: do not wait on it cell after cell.
        fatal = `earlier cell failed: ${errText(e)}`;
        progress.note(`cell ${label} failed: ${errText(e)}`);
      }
    }
    results.push(r);
    progress.step(r.error !== null ? `error: ${r.error}` : `${formatNumber(r.mbps, 4)} MB/s, RC ${formatNumber(r.perPayloadByte?.rootComplex ?? null)} B/B`);
  }

  for (const h of hosts.values()) await withTimeout(h.close(), 10_000, 'host close').catch(() => undefined);
  if (target !== null) await withTimeout(target.stop(), 10_000, 'target stop').catch(() => undefined);
  if (fatal !== null && !fatal.startsWith('earlier')) notes.push(`${fatal} (cells recorded as errors)`);
  return { results, notes, staging: choice };
}

/** The command a user types to reproduce a run with these arguments. */
function commandFor(argv: readonly string[]): string {
  return argv.length === 0 ? 'npm run bench' : `npm run bench -- ${argv.join(' ')}`;
}

export async function stagingBench(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseStagingArgs(argv);
  } catch (e) {
    console.error(`${errText(e)}\n\n${STAGING_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(STAGING_USAGE);
    return 0;
  }
  const { preset } = args;
  const cells = expandMatrix(preset);
  if (cells.length === 0) {
    console.error('the selection is empty');
    return 2;
  }
  const groups = groupByTarget(cells);
  const extraRounds = (preset.ratioRounds - 1) * cells.filter(isRatioCell).length;
  const progress = new Progress(cells.length + extraRounds);
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const t0 = performance.now();
  const results: CellResult[] = [];
  const notes = new Set<string>();
  const stagingChoices = new Map<string, StagingChoice>();
  if (preset.transports.includes('tcp')) {
    notes.add('TCP cells run the target in the same Node process as the TypeScript initiator (one event loop for both ends; the copy engine has its own worker thread). Absolute MB/s are those of one shared core; ratios compare like with like.');
  }
  if (preset.transports.includes('rdma')) notes.add('RDMA cells run the simulated RDMA transport in-process (it is in-process by nature).');
  for (const g of groups) {
    const o = await runGroup(g, preset, progress);
    results.push(...o.results);
    for (const n of o.notes) notes.add(n);
    if (o.staging !== null) stagingChoices.set(o.staging.topology, o.staging);
  }
  const durationMs = performance.now() - t0;
  const loadEnd = loadavg();
  const cpus = machineInfo().cpus;
  // The end figure includes this bench's own two busy threads; only the start says whether others were running.
  if (loadStart[0]! > cpus * 0.5) {
    notes.add(`The machine was busy with other work when this run started (1-minute load average ${loadStart[0]!.toFixed(2)} on ${cpus} CPUs): absolute numbers are depressed and noisier than on an idle machine.`);
  }
  const report = buildReport(results, {
    command: commandFor(argv),
    preset,
    startedAt,
    durationMs,
    machine: machineInfo(),
    notes: [...notes],
    p2pmemStaging: [...stagingChoices.values()],
    load: { start: loadStart, end: loadEnd },
  });
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  progress.end(`${results.filter((r) => r.error === null).length} cells measured, ${failed} check(s) failed`);

  const base = `staging-${preset.name}`;
  const charts = renderCharts(report);
  const json = renderJson(report);
  if (args.out !== null) {
    const chartNames = { throughput: `${base}-throughput.svg`, rootComplex: `${base}-root-complex.svg` };
    const files: Record<string, string> = {
      [`${base}.json`]: json,
      [`${base}.md`]: renderMarkdown(report, chartNames),
      [chartNames.throughput]: charts.throughput,
      [chartNames.rootComplex]: charts.rootComplex,
    };
    const fromRoot = relative(packageRoot(), join(args.out, chartNames.throughput)).split('\\').join('/');
    files['README-snippet.md'] = renderReadmeSnippet(report, fromRoot.startsWith('..') ? join(args.out, chartNames.throughput) : fromRoot);
    const written = await writeResultFiles(args.out, files);
    if (!args.json) process.stderr.write(`wrote ${written.map((p) => relative(process.cwd(), p) || p).join(', ')}\n`);
  }
  if (args.json) console.log(JSON.stringify(report));
  else console.log(renderText(report));
  // Checks are findings to report, not failures of the bench; a cell that could not run is.
  return results.some((r) => r.error !== null) ? 1 : 0;
}
