/**
 * Issue-13 bench (`perf` preset): the independent C initiator (bench/perf-c,
 * nvmetcp_perf) against the nvmet-ts CLI target on loopback, RAM namespace, the
 * way the published comparison is run: the target pinned to one core
 * (taskset -c 0), the client busy-polling on the other (--poll --cpu 1), QD 32,
 * medians of rounds in which the five jobs alternate, after one write pass over
 * the tested range. Prints MB/s, IOPS, p50/p99 latency, target CPU µs per I/O
 * (the target's threads' on-CPU time from /proc/PID/task/{*}/schedstat over the
 * job, ramp included, divided by the I/Os the job would do over that time), and
 * the client's; writes perf.json and perf.md into bench/results/.
 *
 * Run: npm run build && npm run bench -- perf [--seconds 5 --rounds 3]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, machineInfo, writeResultFiles } from './report/files.js';
import type { MachineInfo } from './report/files.js';
import { markdownTable, textTable } from './report/markdown.js';
import type { Column } from './report/markdown.js';
import { formatNumber, median } from './report/stats.js';

export const PERF_USAGE = `Usage: node dist/bench/run.js perf [options]

Runs bench/perf-c/nvmetcp_perf (built with make when a C compiler is present) against
'node bin/nvmet-ts.js' on 127.0.0.1: 128k seq read, 128k seq write, 4k rand read,
4k rand write, 4k rand read over 4 connections; QD 32, RAM namespace.

  --seconds S     measured seconds per job and round (default 5)
  --ramp S        unmeasured warm-up per job (default 1)
  --rounds N      rounds; the jobs alternate within a round, medians reported (default 3)
  --qd N          queue depth per connection (default 32)
  --range SIZE    tested range of the namespace, prefilled by one write pass (default 256m)
  --jobs LIST     comma-separated subset of: ${'seq-read-128k,seq-write-128k,rand-read-4k,rand-write-4k,rand-read-4k-4c'}
  --no-pin        do not pin (taskset) the target to CPU 0 and the client to CPU 1
  --no-poll       let the client block in epoll instead of busy-polling
  --api           run the target with its management API and /metrics on, as the
                  CLI starts by default (default here: --no-api)
  --cpu-prof DIR  run the target with node --cpu-prof, profiles written into DIR
  --baseline DIR  also run the nvmet-ts of another built tree (e.g. a git worktree of
                  an older commit, after npm run build there) side by side: both
                  targets live for the whole run, every job runs against each in
                  every round (order alternating per round); a before/after table
  --syscalls      count the target's syscalls per I/O (perf stat -p over the
                  measured seconds; needs perf and tracepoints)
  --out DIR       where perf.json / perf.md go (default bench/results)
  --json          print only the JSON result`;

const NQN = 'nqn.2014-08.org.nvmexpress:nvmet-ts';

interface Job {
  readonly name: string;
  readonly label: string;
  readonly rw: 'read' | 'write' | 'randread' | 'randwrite';
  readonly size: string;
  readonly conns: number;
  /** The issue-13 reference figures (SPDK v26.05 nvmf_tgt and nvmet-ts then), MB/s for 128k, IOPS for 4k. */
  readonly ref: { readonly unit: 'MB/s' | 'IOPS'; readonly spdk: number; readonly nvmetTs: number };
}

export const PERF_JOBS: readonly Job[] = [
  { name: 'seq-read-128k', label: '128 KiB seq read', rw: 'read', size: '128k', conns: 1, ref: { unit: 'MB/s', spdk: 3641, nvmetTs: 2378 } },
  { name: 'seq-write-128k', label: '128 KiB seq write', rw: 'write', size: '128k', conns: 1, ref: { unit: 'MB/s', spdk: 4083, nvmetTs: 2403 } },
  { name: 'rand-read-4k', label: '4 KiB rand read', rw: 'randread', size: '4k', conns: 1, ref: { unit: 'IOPS', spdk: 689_000, nvmetTs: 207_000 } },
  { name: 'rand-write-4k', label: '4 KiB rand write', rw: 'randwrite', size: '4k', conns: 1, ref: { unit: 'IOPS', spdk: 486_000, nvmetTs: 171_000 } },
  { name: 'rand-read-4k-4c', label: '4 KiB rand read, 4 connections', rw: 'randread', size: '4k', conns: 4, ref: { unit: 'IOPS', spdk: 634_000, nvmetTs: 199_000 } },
];

export interface PerfConfig {
  seconds: number;
  ramp: number;
  rounds: number;
  qd: number;
  range: string;
  jobs: readonly Job[];
  pin: boolean;
  poll: boolean;
  cpuProfDir: string | null;
  /** Root of a second built tree run side by side (null: none). */
  baseline?: string | null;
  syscalls?: boolean;
  /**
   * Run the target with its management API and /metrics on (the CLI's default; every
   * I/O then feeds the latency histogram) instead of --no-api.
   */
  api?: boolean;
}

/** One run of one job. */
export interface PerfSample {
  mbps: number;
  iops: number;
  p50Us: number;
  p99Us: number;
  /** Target on-CPU µs per I/O (all its threads), null where /proc is not readable. */
  targetCpuUsPerIo: number | null;
  clientCpuUsPerIo: number;
  /** Target syscalls per I/O over the measured seconds (--syscalls), with the read / write / epoll part. */
  syscallsPerIo?: { total: number; reads: number; writes: number; epoll: number } | null;
  errors: number;
}

export interface PerfJobResult {
  name: string;
  label: string;
  conns: number;
  samples: PerfSample[];
  median: PerfSample;
  ref: Job['ref'];
}

export interface PerfBenchResult {
  bench: 'perf';
  date: string;
  machine: MachineInfo;
  loadavg: number[];
  command: string;
  config: Omit<PerfConfig, 'jobs'> & { jobs: string[] };
  pinned: boolean;
  jobs: PerfJobResult[];
  /** --baseline: the same jobs against the other tree, measured in the same rounds. */
  baseline?: { root: string; jobs: PerfJobResult[] };
}

export function repoRoot(): string {
  // dist/bench/perf.js → the package root (where package.json is).
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'package.json'))) return d;
    d = dirname(d);
  }
  throw new Error('package root not found above the bench');
}

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Build nvmetcp_perf with make; a clear error when there is no C compiler. */
export function buildPerfTool(root: string, log: (s: string) => void): string {
  const dir = join(root, 'bench', 'perf-c');
  const cc = process.env['CC'] ?? 'cc';
  if (!have(cc) && !have('gcc')) throw new Error(`no C compiler (${cc} or gcc) to build ${dir}/nvmetcp_perf: install gcc and make`);
  if (!have('make')) throw new Error(`no make to build ${dir}/nvmetcp_perf`);
  const r = spawnSync('make', ['-s', '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make -C ${dir} failed:\n${r.stderr}${r.stdout}`);
  log(`built ${dir}/nvmetcp_perf`);
  return join(dir, 'nvmetcp_perf');
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

export async function waitListening(port: number, ms: number, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`target exited (code ${child.exitCode}) before listening`);
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`target not listening on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** On-CPU nanoseconds of every thread of `pid` (schedstat field 1), null without /proc. */
export function threadsCpuNs(pid: number): number | null {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // a thread that ended between the listing and the read
      }
    }
    return ns;
  } catch {
    return null;
  }
}

export interface ToolResult {
  ios: number;
  iops: number;
  mbps: number;
  lat: { p50: number; p99: number };
  cpuUsPerIo: number;
  errors: number;
}

export function runTool(tool: string, port: number, cfg: Pick<PerfConfig, 'qd' | 'range' | 'poll' | 'pin'>, a: { rw: string; size: string; conns: number; seconds: number; ramp: number }): Promise<ToolResult> {
  const args = ['-a', '127.0.0.1', '-s', String(port), '-n', NQN, '-N', '1', '-w', a.rw, '-o', a.size, '-q', String(cfg.qd)];
  args.push('-c', String(a.conns), '-t', String(a.seconds), '--ramp', String(a.ramp), '--size', cfg.range, '--json', '--quiet');
  if (cfg.poll) args.push('--poll');
  if (cfg.pin) args.push('--cpu', '1');
  const [cmd, argv] = cfg.pin ? ['taskset', ['-c', '1', tool, ...args]] : [tool, args];
  return new Promise((res, rej) => {
    const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // The tool has its own watchdog; this one only guards against a wedged spawn.
    const guard = setTimeout(() => p.kill('SIGKILL'), (a.seconds + a.ramp + 60) * 1000);
    p.on('close', (code) => {
      clearTimeout(guard);
      try {
        const j = JSON.parse(out.trim().split('\n').at(-1) ?? '') as {
          ok: boolean;
          results?: { ios: number; iops: number; mbps: number; lat_us: { p50: number; p99: number }; cpu: { us_per_io: number }; errors: { total: number } };
        };
        const r = j.results;
        if (r === undefined) throw new Error('no results');
        res({ ios: r.ios, iops: r.iops, mbps: r.mbps, lat: r.lat_us, cpuUsPerIo: r.cpu.us_per_io, errors: r.errors.total });
      } catch {
        rej(new Error(`nvmetcp_perf ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
      }
    });
  });
}

/** `node [nodeArgs] bin/nvmet-ts.js` on the built-in default config, listening on 127.0.0.1:port, on CPU 0 when pinned. */
export function startTarget(
  root: string,
  port: number,
  pin: boolean,
  nodeArgs: readonly string[] = [],
  stderr: 'inherit' | 'pipe' = 'inherit',
  api = false,
): ChildProcess {
  // With the API on it listens on a free loopback port, so two trees can run side by side.
  const apiArgs = api ? ['--api', '127.0.0.1:0'] : ['--no-api'];
  const node = [...nodeArgs, join(root, 'bin', 'nvmet-ts.js'), '--listen', `127.0.0.1:${port}`, ...apiArgs, '--log-level', 'warn'];
  const [cmd, argv] = pin ? ['taskset', ['-c', '0', process.execPath, ...node]] : [process.execPath, node];
  return spawn(cmd, argv, { stdio: ['ignore', 'ignore', stderr] });
}

export async function stopTarget(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGINT');
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
}

function medianSyscalls(ss: readonly PerfSample[]): PerfSample['syscallsPerIo'] {
  const v = ss.map((s) => s.syscallsPerIo).filter((x): x is NonNullable<typeof x> => x !== null && x !== undefined);
  if (v.length === 0) return null;
  return { total: median(v.map((x) => x.total)), reads: median(v.map((x) => x.reads)), writes: median(v.map((x) => x.writes)), epoll: median(v.map((x) => x.epoll)) };
}

function medianSample(ss: readonly PerfSample[]): PerfSample {
  const m = (f: (s: PerfSample) => number): number => median(ss.map(f));
  const tgt = ss.map((s) => s.targetCpuUsPerIo).filter((v): v is number => v !== null);
  return {
    mbps: m((s) => s.mbps),
    iops: m((s) => s.iops),
    p50Us: m((s) => s.p50Us),
    p99Us: m((s) => s.p99Us),
    targetCpuUsPerIo: tgt.length === 0 ? null : median(tgt),
    clientCpuUsPerIo: m((s) => s.clientCpuUsPerIo),
    ...(ss.some((s) => s.syscallsPerIo !== undefined) ? { syscallsPerIo: medianSyscalls(ss) } : {}),
    errors: ss.reduce((a, s) => a + s.errors, 0),
  };
}

const SYSCALLS = {
  reads: ['read', 'readv', 'recvfrom', 'recvmsg'],
  writes: ['write', 'writev', 'sendto', 'sendmsg'],
  epoll: ['epoll_wait', 'epoll_pwait'],
  other: ['futex', 'mmap', 'munmap', 'madvise', 'mprotect', 'ioctl', 'getpid', 'clock_gettime'],
} as const;

/** Syscalls of every thread of `pid` over `seconds` (perf stat tracepoints), by name; null if perf fails. */
export function syscallCounts(pid: number, seconds: number): Promise<Record<string, number> | null> {
  const events = Object.values(SYSCALLS).flat().map((n) => `syscalls:sys_enter_${n}`);
  return new Promise((res) => {
    const p = spawn('perf', ['stat', '-x', ',', '-e', events.join(','), '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', () => res(null));
    p.on('close', () => {
      const out: Record<string, number> = {};
      for (const line of err.split('\n')) {
        const f = line.split(',');
        const v = Number(f[0]);
        if (f.length >= 3 && Number.isFinite(v)) out[f[2]!.replace(/^syscalls:sys_enter_/, '')] = v;
      }
      res(Object.keys(out).length === 0 ? null : out);
    });
  });
}

interface TargetRun {
  readonly root: string;
  readonly port: number;
  readonly proc: ChildProcess;
  readonly samples: Map<string, PerfSample[]>;
}

async function measureJob(tool: string, t: TargetRun, run: PerfConfig, j: Job): Promise<PerfSample> {
  const cfg = run;
  const pid = t.proc.pid;
  const c0 = pid === undefined ? null : threadsCpuNs(pid);
  const sys = cfg.syscalls === true && pid !== undefined ? new Promise<void>((r) => setTimeout(r, cfg.ramp * 1000)).then(() => syscallCounts(pid, cfg.seconds)) : null;
  const r = await runTool(tool, t.port, run, { rw: j.rw, size: j.size, conns: j.conns, seconds: cfg.seconds, ramp: cfg.ramp });
  const c1 = pid === undefined ? null : threadsCpuNs(pid);
  const counts = sys === null ? null : await sys;
  // The target also worked through ramp and drain: charge its CPU to the I/Os of that whole time.
  const ioTotal = r.ios * ((cfg.seconds + cfg.ramp) / cfg.seconds);
  const sum = (names: readonly string[]): number => names.reduce((a, n) => a + (counts?.[n] ?? 0), 0);
  return {
    mbps: r.mbps,
    iops: r.iops,
    p50Us: r.lat.p50,
    p99Us: r.lat.p99,
    targetCpuUsPerIo: c0 === null || c1 === null || ioTotal === 0 ? null : (c1 - c0) / 1e3 / ioTotal,
    clientCpuUsPerIo: r.cpuUsPerIo,
    ...(cfg.syscalls === true
      ? {
          syscallsPerIo:
            counts === null || r.ios === 0
              ? null
              : {
                  total: sum(Object.values(SYSCALLS).flat()) / r.ios,
                  reads: sum(SYSCALLS.reads) / r.ios,
                  writes: sum(SYSCALLS.writes) / r.ios,
                  epoll: sum(SYSCALLS.epoll) / r.ios,
                },
        }
      : {}),
    errors: r.errors,
  };
}

export async function runPerfBench(cfg: PerfConfig, log: (s: string) => void): Promise<PerfBenchResult> {
  const root = repoRoot();
  const tool = buildPerfTool(root, log);
  const pinned = cfg.pin && have('taskset') && machineInfo().cpus >= 2;
  if (cfg.pin && !pinned) log('taskset or a second CPU is missing: running unpinned');
  const run: PerfConfig = { ...cfg, pin: pinned };
  if (cfg.baseline != null && !existsSync(join(cfg.baseline, 'bin', 'nvmet-ts.js'))) throw new Error(`--baseline ${cfg.baseline}: no bin/nvmet-ts.js there`);
  const roots = cfg.baseline == null ? [root] : [root, cfg.baseline];
  const targets: TargetRun[] = [];
  try {
    for (const r of roots) {
      const port = await freePort();
      const proc = startTarget(r, port, pinned, cfg.cpuProfDir !== null ? ['--cpu-prof', `--cpu-prof-dir=${cfg.cpuProfDir}`] : [], 'inherit', cfg.api === true);
      targets.push({ root: r, port, proc, samples: new Map(cfg.jobs.map((j) => [j.name, []])) });
      await waitListening(port, 20_000, proc);
      log(`target ${r} pid ${proc.pid} on 127.0.0.1:${port}${pinned ? ' (CPU 0; client CPU 1)' : ''}; prefill: one 128k write pass over ${cfg.range}`);
      await runTool(tool, port, run, { rw: 'write', size: '128k', conns: 1, seconds: 2, ramp: 0 });
    }
    for (let round = 1; round <= cfg.rounds; round++) {
      // Alternate which tree goes first, so drift in the machine's load hits both alike.
      const order = round % 2 === 1 ? targets : [...targets].reverse();
      for (const j of cfg.jobs) {
        for (const t of order) {
          const s = await measureJob(tool, t, run, j);
          t.samples.get(j.name)!.push(s);
          const sc = s.syscallsPerIo;
          log(
            `round ${round}/${cfg.rounds} ${j.name}${targets.length > 1 ? (t === targets[0] ? ' [this]' : ' [baseline]') : ''}: ${formatNumber(s.mbps)} MB/s ${formatNumber(s.iops)} IOPS ` +
              `p50 ${formatNumber(s.p50Us)} µs p99 ${formatNumber(s.p99Us)} µs target ${formatNumber(s.targetCpuUsPerIo)} µs/IO` +
              (sc ? ` syscalls/IO ${formatNumber(sc.total, 3)} (w ${formatNumber(sc.writes, 3)} r ${formatNumber(sc.reads, 3)} epoll ${formatNumber(sc.epoll, 3)})` : ''),
          );
        }
      }
    }
  } finally {
    for (const t of targets) await stopTarget(t.proc);
  }
  const { jobs, ...rest } = run;
  const results = (t: TargetRun): PerfJobResult[] =>
    cfg.jobs.map((j) => {
      const ss = t.samples.get(j.name)!;
      return { name: j.name, label: j.label, conns: j.conns, samples: ss, median: medianSample(ss), ref: j.ref };
    });
  return {
    bench: 'perf',
    date: new Date().toISOString(),
    machine: machineInfo(),
    loadavg: (await import('node:os')).loadavg().map((v) => Math.round(v * 100) / 100),
    command: `node dist/bench/run.js perf ${process.argv.slice(3).join(' ')}`.trim(),
    config: { ...rest, jobs: jobs.map((j) => j.name) },
    pinned,
    jobs: results(targets[0]!),
    ...(targets.length > 1 ? { baseline: { root: targets[1]!.root, jobs: results(targets[1]!) } } : {}),
  };
}

const COLUMNS: Column[] = [
  { header: 'job' },
  { header: 'MB/s', align: 'right' },
  { header: 'IOPS', align: 'right' },
  { header: 'p50 µs', align: 'right' },
  { header: 'p99 µs', align: 'right' },
  { header: 'target CPU µs/IO', align: 'right' },
  { header: 'client CPU µs/IO', align: 'right' },
  { header: 'errors', align: 'right' },
  { header: 'issue 13: SPDK / nvmet-ts then', align: 'right' },
  { header: 'this / SPDK', align: 'right' },
];

function rows(r: PerfBenchResult): string[][] {
  return r.jobs.map((j) => {
    const m = j.median;
    const mine = j.ref.unit === 'MB/s' ? m.mbps : m.iops;
    const ref = j.ref.unit === 'MB/s' ? `${j.ref.spdk} / ${j.ref.nvmetTs} MB/s` : `${j.ref.spdk / 1000}K / ${j.ref.nvmetTs / 1000}K IOPS`;
    return [
      j.label,
      formatNumber(m.mbps, 4),
      formatNumber(m.iops, 4),
      formatNumber(m.p50Us),
      formatNumber(m.p99Us),
      formatNumber(m.targetCpuUsPerIo),
      formatNumber(m.clientCpuUsPerIo),
      String(m.errors),
      ref,
      formatNumber(mine / j.ref.spdk, 2),
    ];
  });
}

const COMPARE_COLUMNS: Column[] = [
  { header: 'job' },
  { header: 'before', align: 'right' },
  { header: 'after', align: 'right' },
  { header: 'after / before', align: 'right' },
  { header: 'CPU µs/IO before', align: 'right' },
  { header: 'CPU µs/IO after', align: 'right' },
  { header: 'syscalls/IO before', align: 'right' },
  { header: 'syscalls/IO after', align: 'right' },
];

/** --baseline: one row per job, "before" = the baseline tree, "after" = this tree. */
function compareRows(r: PerfBenchResult): string[][] {
  const base = r.baseline?.jobs ?? [];
  return r.jobs.map((j) => {
    const b = base.find((x) => x.name === j.name)!;
    const unit = j.ref.unit;
    const v = (x: PerfJobResult): number => (unit === 'MB/s' ? x.median.mbps : x.median.iops);
    const sc = (x: PerfJobResult): string => {
      const c = x.median.syscallsPerIo;
      return c ? `${formatNumber(c.total, 3)} (w ${formatNumber(c.writes, 2)})` : '-';
    };
    return [
      j.label,
      `${formatNumber(v(b), 4)} ${unit}`,
      `${formatNumber(v(j), 4)} ${unit}`,
      formatNumber(v(j) / v(b), 3),
      formatNumber(b.median.targetCpuUsPerIo),
      formatNumber(j.median.targetCpuUsPerIo),
      sc(b),
      sc(j),
    ];
  });
}

export function perfCompareTable(r: PerfBenchResult, md: boolean): string {
  return md ? markdownTable(COMPARE_COLUMNS, compareRows(r)) : textTable(COMPARE_COLUMNS, compareRows(r));
}

export function perfMarkdown(r: PerfBenchResult): string {
  const c = r.config;
  return [
    `# perf: nvmetcp_perf against nvmet-ts`,
    '',
    `${r.date} — ${describeMachine(r.machine)}; load average ${r.loadavg.join(' ')} at the end (a shared machine: read the ratios, not the absolutes).`,
    '',
    `\`${r.command}\`: QD ${c.qd}, ${c.seconds} s measured after ${c.ramp} s ramp, medians of ${c.rounds} round(s) with the jobs alternating, range ${c.range} prefilled; ` +
      `${r.pinned ? 'target on CPU 0 (taskset), client on CPU 1' : 'unpinned'}${c.poll ? ', client busy-polling (--poll)' : ''}` +
      `${c.api === true ? ', target with its management API and /metrics on (--api)' : ', target with --no-api'}.`,
    '',
    markdownTable(COLUMNS, rows(r)),
    '',
    'Target CPU: on-CPU time of all the target\'s threads (/proc/PID/task/*/schedstat) over the job including its ramp, per I/O. ' +
      'The issue-13 column is that issue\'s measurement (SPDK v26.05 nvmf_tgt, one reactor) on this machine kind, not re-measured here; "this / SPDK" divides this run\'s median by it. ' +
        'Hosts of this kind differ by up to ~1.8x per I/O (AMD EPYC and Intel Xeon were both seen), so that column only holds on a host like the issue\'s; ' +
        'for a same-host estimate run --baseline with a build of 5edee92 (main before the first issue-13 commit, the nearest tree to the one the issue measured) and multiply after / before by the issue\'s nvmet-ts / SPDK ratio (bench/README.md, "Session 8").',
    '',
    ...(r.baseline !== undefined
      ? [`Side by side with \`${r.baseline.root}\` (before), same rounds, alternating order; medians:`, '', perfCompareTable(r, true), '']
      : []),
  ].join('\n');
}

export async function perfBench(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '5' },
      ramp: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      qd: { type: 'string', default: '32' },
      range: { type: 'string', default: '256m' },
      jobs: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      'no-poll': { type: 'boolean', default: false },
      api: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      baseline: { type: 'string' },
      syscalls: { type: 'boolean', default: false },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    console.log(PERF_USAGE);
    return 0;
  }
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new RangeError(`--${name} must be a number ≥ ${min}, got "${v}"`);
    return n;
  };
  let jobs: readonly Job[] = PERF_JOBS;
  if (o.jobs !== undefined) {
    const want = o.jobs.split(',').map((s) => s.trim());
    const bad = want.filter((w) => !PERF_JOBS.some((j) => j.name === w));
    if (bad.length > 0) throw new RangeError(`--jobs: unknown job(s) ${bad.join(', ')}; known: ${PERF_JOBS.map((j) => j.name).join(', ')}`);
    jobs = PERF_JOBS.filter((j) => want.includes(j.name));
  }
  if (!/^\d+[kmg]?$/i.test(o.range)) throw new RangeError(`--range must be a size like 256m, got "${o.range}"`);
  const cfg: PerfConfig = {
    seconds: num('seconds', o.seconds, 1),
    ramp: num('ramp', o.ramp, 0),
    rounds: Math.floor(num('rounds', o.rounds, 1)),
    qd: Math.floor(num('qd', o.qd, 1)),
    range: o.range,
    jobs,
    pin: !o['no-pin'],
    poll: !o['no-poll'],
    api: o.api,
    cpuProfDir: o['cpu-prof'] === undefined ? null : resolve(o['cpu-prof']),
    baseline: o.baseline === undefined ? null : resolve(o.baseline),
    syscalls: o.syscalls,
  };
  const log = (s: string): void => {
    if (!o.json) console.error(s);
  };
  const r = await runPerfBench(cfg, log);
  const md = perfMarkdown(r);
  const json = JSON.stringify(r, null, 2);
  const written = await writeResultFiles(o.out ?? join(repoRoot(), 'bench', 'results'), { 'perf.json': `${json}\n`, 'perf.md': md });
  if (o.json) {
    console.log(JSON.stringify(r));
  } else {
    console.log(textTable(COLUMNS, rows(r)));
    if (r.baseline !== undefined) console.log(`\nbefore = ${r.baseline.root}, after = this tree:\n${perfCompareTable(r, false)}`);
    console.log(`\nwritten: ${written.join(', ')}`);
  }
  return r.jobs.some((j) => j.median.errors > 0) ? 1 : 0;
}
