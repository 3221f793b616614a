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
 * --reactors N starts the target with N event loops; --target-cpus / --client-cpus
 * replace the CPU 0 / CPU 1 pinning. --scaling runs one tree in three loop / CPU
 * configurations (SCALING_CONFIGS) alternating per round, one table, and writes
 * perf-scaling.json and perf-scaling.md instead.
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
import { MAX_REACTORS } from '../target/reactor/protocol.js';

export const PERF_USAGE = `Usage: node dist/bench/run.js perf [options]

Runs bench/perf-c/nvmetcp_perf (built with make when a C compiler is present) against
'node bin/nvmet-ts.js' on 127.0.0.1: 128k seq read, 128k seq write, 4k rand read,
4k rand write, 4k rand read over 4 connections; QD 32, RAM namespace.

  --seconds S     measured seconds per job and round (default 5)
  --ramp S        unmeasured warm-up per job (default 1)
  --rounds N      rounds; the jobs alternate within a round, medians reported (default 3)
  --qd N          queue depth per connection (default 32)
  --range SIZE    tested range of the namespace, prefilled by one write pass (default 256m)
  --jobs LIST     comma-separated jobs (default: the first five; --scaling: the last three):
                  ${'seq-read-128k,seq-write-128k,rand-read-4k,rand-write-4k,rand-read-4k-4c,'}
                  ${'rand-write-4k-4c,seq-read-128k-4c'}
  --reactors N    start the target with --reactors N: N event loops (default 1; the flag
                  is passed only for N > 1, so a tree that predates it starts with 1)
  --target-cpus LIST  CPUs the target is pinned to (taskset -c LIST; default 0)
  --client-cpus LIST  CPUs the client is pinned to (default 1); a single CPU also pins
                  its worker thread there (nvmetcp_perf --cpu N), several only taskset
                  LIST: CPU numbers and ranges, comma separated: 0  0,1  0-3  0,2-3
  --no-pin        do not pin (taskset) the target to CPU 0 and the client to CPU 1
  --scaling       one tree in three configurations, alternating per round, one table:
                  (a) 1 loop, target CPU 0, client CPU 1; (b) 2 loops, target CPUs 0,1,
                  client CPU 1; (c) 2 loops, target and client CPUs 0,1. Writes
                  perf-scaling.json / perf-scaling.md (not with --reactors, --target-cpus,
                  --client-cpus, --no-pin or --baseline)
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
  --out DIR       where perf.json / perf.md (perf-scaling.*) go (default bench/results)
  --json          print only the JSON result`;

const NQN = 'nqn.2014-08.org.nvmexpress:nvmet-ts';

interface Job {
  readonly name: string;
  readonly label: string;
  readonly rw: 'read' | 'write' | 'randread' | 'randwrite';
  readonly size: string;
  readonly conns: number;
  /**
   * The issue-13 reference figures (SPDK v26.05 nvmf_tgt and nvmet-ts then), MB/s for 128k, IOPS for 4k;
   * null for the jobs the issue did not measure (the unit still says what the job reports).
   */
  readonly ref: { readonly unit: 'MB/s' | 'IOPS'; readonly spdk: number | null; readonly nvmetTs: number | null };
}

export const PERF_JOBS: readonly Job[] = [
  { name: 'seq-read-128k', label: '128 KiB seq read', rw: 'read', size: '128k', conns: 1, ref: { unit: 'MB/s', spdk: 3641, nvmetTs: 2378 } },
  { name: 'seq-write-128k', label: '128 KiB seq write', rw: 'write', size: '128k', conns: 1, ref: { unit: 'MB/s', spdk: 4083, nvmetTs: 2403 } },
  { name: 'rand-read-4k', label: '4 KiB rand read', rw: 'randread', size: '4k', conns: 1, ref: { unit: 'IOPS', spdk: 689_000, nvmetTs: 207_000 } },
  { name: 'rand-write-4k', label: '4 KiB rand write', rw: 'randwrite', size: '4k', conns: 1, ref: { unit: 'IOPS', spdk: 486_000, nvmetTs: 171_000 } },
  { name: 'rand-read-4k-4c', label: '4 KiB rand read, 4 connections', rw: 'randread', size: '4k', conns: 4, ref: { unit: 'IOPS', spdk: 634_000, nvmetTs: 199_000 } },
];

/** Jobs the issue did not measure, for --reactors / --scaling: several connections to spread over loops. */
export const EXTRA_PERF_JOBS: readonly Job[] = [
  { name: 'rand-write-4k-4c', label: '4 KiB rand write, 4 connections', rw: 'randwrite', size: '4k', conns: 4, ref: { unit: 'IOPS', spdk: null, nvmetTs: null } },
  { name: 'seq-read-128k-4c', label: '128 KiB seq read, 4 connections', rw: 'read', size: '128k', conns: 4, ref: { unit: 'MB/s', spdk: null, nvmetTs: null } },
];

/** Every job --jobs accepts; without --jobs the preset runs PERF_JOBS (the issue's five), --scaling SCALING_JOBS. */
export const ALL_PERF_JOBS: readonly Job[] = [...PERF_JOBS, ...EXTRA_PERF_JOBS];

export const SCALING_JOBS: readonly string[] = ['rand-read-4k-4c', 'rand-write-4k-4c', 'seq-read-128k-4c'];

/** One loop / CPU configuration of --scaling. */
export interface ScalingSetup {
  readonly key: string;
  readonly label: string;
  readonly reactors: number;
  readonly targetCpus: string;
  readonly clientCpus: string;
}

/** The --scaling configurations; the first is the one the others are divided by. */
export const SCALING_CONFIGS: readonly ScalingSetup[] = [
  { key: 'a', label: '1 loop, target CPU 0, client CPU 1', reactors: 1, targetCpus: '0', clientCpus: '1' },
  { key: 'b', label: '2 loops, target CPUs 0,1, client CPU 1', reactors: 2, targetCpus: '0,1', clientCpus: '1' },
  { key: 'c', label: '2 loops, target CPUs 0,1, client CPUs 0,1', reactors: 2, targetCpus: '0,1', clientCpus: '0,1' },
];

/** A usage error of the perf preset: perfBench prints its message (it names the option) and exits 2. */
export class PerfUsageError extends RangeError {
  override readonly name = 'PerfUsageError';
}

/**
 * A taskset-style CPU list ("0", "0,1", "0-3", "0,2-3") as sorted distinct CPU numbers; a
 * PerfUsageError naming `option` when it is not one.
 */
export function parseCpuList(option: string, v: string): number[] {
  const t = v.trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(t)) {
    throw new PerfUsageError(`${option}: "${v}" is not a CPU list: CPU numbers and ranges, comma separated (e.g. 0  0,1  0-1  0,2-3)`);
  }
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const [a, b = a] = part.split('-').map(Number) as [number, number?];
    if (b < a) throw new PerfUsageError(`${option}: the range "${part}" in "${v}" runs backwards`);
    if (b > 4095) throw new PerfUsageError(`${option}: CPU ${b} in "${v}" is out of range (at most 4095)`);
    for (let c = a; c <= b; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** The nvmetcp_perf arguments and taskset list for a client pinned to `cpus` (null: unpinned). */
export function clientPinning(cpus: string | null): { taskset: string | null; toolArgs: string[] } {
  if (cpus === null) return { taskset: null, toolArgs: [] };
  const list = parseCpuList('--client-cpus', cpus);
  // --cpu LIST pins the tool's worker thread(s) round-robin over LIST: with one worker (no -T) it would
  // sit on the first CPU only. So --cpu only for a single CPU; with several, taskset alone bounds it.
  return { taskset: cpus, toolArgs: list.length === 1 ? ['--cpu', String(list[0])] : [] };
}

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
  /** Event loops of the target (--reactors; default 1, the flag only passed for more). */
  reactors?: number;
  /**
   * taskset CPU lists of the target and the client when pinned (default "0" and "1"). In a
   * result: what was used, null when unpinned.
   */
  targetCpus?: string | null;
  clientCpus?: string | null;
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

/** --scaling: one tree, SCALING_CONFIGS alternating per round; every round is in `samples`. */
export interface PerfScalingResult {
  bench: 'perf-scaling';
  date: string;
  machine: MachineInfo;
  loadavg: number[];
  command: string;
  root: string;
  config: Omit<PerfConfig, 'jobs' | 'baseline' | 'reactors' | 'targetCpus' | 'clientCpus' | 'pin'> & { jobs: string[] };
  configs: (ScalingSetup & { jobs: PerfJobResult[] })[];
}

/**
 * The CPUs target and client are pinned to: the lists given, or CPU 0 / CPU 1 by default.
 * The default falls back to unpinned (with a note) where taskset or a second CPU is
 * missing; lists given explicitly are an error there, as is a CPU the machine lacks.
 */
export function resolvePinning(
  cfg: Pick<PerfConfig, 'pin' | 'targetCpus' | 'clientCpus'>,
  cpus: number,
  hasTaskset: boolean,
): { pinned: boolean; targetCpus: string | null; clientCpus: string | null; note: string | null } {
  const unpinned = (note: string | null): ReturnType<typeof resolvePinning> => ({ pinned: false, targetCpus: null, clientCpus: null, note });
  if (!cfg.pin) return unpinned(null);
  const given = (cfg.targetCpus ?? null) !== null || (cfg.clientCpus ?? null) !== null;
  const lists: [string, string][] = [
    ['--target-cpus', cfg.targetCpus ?? '0'],
    ['--client-cpus', cfg.clientCpus ?? '1'],
  ];
  if (!given) {
    if (!hasTaskset || cpus < 2) return unpinned('taskset or a second CPU is missing: running unpinned');
  } else {
    if (!hasTaskset) {
      const named = [cfg.targetCpus != null ? '--target-cpus' : null, cfg.clientCpus != null ? '--client-cpus' : null].filter((x) => x !== null);
      throw new PerfUsageError(`${named.join(' and ')} need${named.length === 1 ? 's' : ''} taskset, which is not installed`);
    }
    for (const [opt, v] of lists) {
      const bad = parseCpuList(opt, v).filter((c) => c >= cpus);
      if (bad.length > 0) throw new PerfUsageError(`${opt} ${v}: this machine has CPUs 0-${cpus - 1} only (no CPU ${bad.join(', ')})`);
    }
  }
  return { pinned: true, targetCpus: lists[0]![1], clientCpus: lists[1]![1], note: null };
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

/**
 * One nvmetcp_perf run; pinned (cfg.pin) to cfg.clientCpus, CPU 1 by default
 * (clientPinning: a single CPU also with --cpu).
 */
export function runTool(
  tool: string,
  port: number,
  cfg: Pick<PerfConfig, 'qd' | 'range' | 'poll' | 'pin' | 'clientCpus'>,
  a: { rw: string; size: string; conns: number; seconds: number; ramp: number },
): Promise<ToolResult> {
  const args = ['-a', '127.0.0.1', '-s', String(port), '-n', NQN, '-N', '1', '-w', a.rw, '-o', a.size, '-q', String(cfg.qd)];
  args.push('-c', String(a.conns), '-t', String(a.seconds), '--ramp', String(a.ramp), '--size', cfg.range, '--json', '--quiet');
  if (cfg.poll) args.push('--poll');
  const pin = clientPinning(cfg.pin ? (cfg.clientCpus ?? '1') : null);
  args.push(...pin.toolArgs);
  const [cmd, argv] = pin.taskset !== null ? ['taskset', ['-c', pin.taskset, tool, ...args]] : [tool, args];
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

/** The target's command line: `node [nodeArgs] bin/nvmet-ts.js …`, under `taskset -c <cpus>` when pinned. */
export function targetCommand(
  root: string,
  port: number,
  o: { cpus: string | null; nodeArgs?: readonly string[]; api?: boolean; reactors?: number },
): [string, string[]] {
  // With the API on it listens on a free loopback port, so two trees can run side by side.
  const apiArgs = o.api === true ? ['--api', '127.0.0.1:0'] : ['--no-api'];
  // Only for more than one loop: a tree that predates --reactors still starts with one.
  const reactorArgs = (o.reactors ?? 1) > 1 ? ['--reactors', String(o.reactors)] : [];
  const node = [...(o.nodeArgs ?? []), join(root, 'bin', 'nvmet-ts.js'), '--listen', `127.0.0.1:${port}`, ...apiArgs, ...reactorArgs, '--log-level', 'warn'];
  return o.cpus !== null ? ['taskset', ['-c', o.cpus, process.execPath, ...node]] : [process.execPath, node];
}

/**
 * `node [nodeArgs] bin/nvmet-ts.js` on the built-in default config, listening on 127.0.0.1:port;
 * `pin`: true for CPU 0, a CPU list, or false; `reactors` > 1 adds --reactors.
 */
export function startTarget(
  root: string,
  port: number,
  pin: boolean | string,
  nodeArgs: readonly string[] = [],
  stderr: 'inherit' | 'pipe' = 'inherit',
  api = false,
  reactors = 1,
): ChildProcess {
  const cpus = pin === true ? '0' : pin === false ? null : pin;
  const [cmd, argv] = targetCommand(root, port, { cpus, nodeArgs, api, reactors });
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

/** One target process of a run: a tree, its loops, and where it and its client are pinned (null: not). */
interface TargetSpec {
  readonly root: string;
  readonly reactors: number;
  readonly targetCpus: string | null;
  readonly clientCpus: string | null;
  /** In the per-round log lines: "" alone, " [this]" / " [baseline]", " (a)" …. */
  readonly tag: string;
}

interface TargetRun extends TargetSpec {
  readonly port: number;
  readonly proc: ChildProcess;
  readonly samples: Map<string, PerfSample[]>;
}

/** Where target and client run, for a log line or a header: "target CPUs 0,1, client CPU 1 (--cpu 1)". */
export function describePinning(targetCpus: string | null, clientCpus: string | null): string {
  if (targetCpus === null && clientCpus === null) return 'unpinned';
  const cpus = (who: string, v: string | null): string => (v === null ? `${who} unpinned` : `${who} CPU${/[,-]/.test(v) ? 's' : ''} ${v}`);
  const c = clientCpus === null ? null : clientPinning(clientCpus).toolArgs;
  return `${cpus('target', targetCpus)}, ${cpus('client', clientCpus)}${c !== null && c.length > 0 ? ` (${c.join(' ')})` : ''}`;
}

const loopsText = (n: number): string => `${n} event loop${n === 1 ? '' : 's'}`;

async function measureJob(tool: string, t: TargetRun, run: PerfConfig, j: Job): Promise<PerfSample> {
  const cfg = run;
  const pid = t.proc.pid;
  const c0 = pid === undefined ? null : threadsCpuNs(pid);
  const sys = cfg.syscalls === true && pid !== undefined ? new Promise<void>((r) => setTimeout(r, cfg.ramp * 1000)).then(() => syscallCounts(pid, cfg.seconds)) : null;
  const r = await runTool(tool, t.port, { ...run, pin: t.clientCpus !== null, clientCpus: t.clientCpus }, { rw: j.rw, size: j.size, conns: j.conns, seconds: cfg.seconds, ramp: cfg.ramp });
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

/** Start every spec's target (pushed onto `targets` as it starts, so the caller can stop them all), each prefilled. */
async function startTargets(tool: string, specs: readonly TargetSpec[], run: PerfConfig, targets: TargetRun[], log: (s: string) => void): Promise<void> {
  for (const s of specs) {
    const port = await freePort();
    const nodeArgs = run.cpuProfDir !== null ? ['--cpu-prof', `--cpu-prof-dir=${run.cpuProfDir}`] : [];
    const proc = startTarget(s.root, port, s.targetCpus ?? false, nodeArgs, 'inherit', run.api === true, s.reactors);
    const t: TargetRun = { ...s, port, proc, samples: new Map(run.jobs.map((j) => [j.name, []])) };
    targets.push(t);
    try {
      await waitListening(port, 20_000, proc);
    } catch (e) {
      if (s.reactors > 1 && proc.exitCode !== null) throw new Error(`${(e as Error).message}: does ${s.root} know --reactors (started with --reactors ${s.reactors})?`);
      throw e;
    }
    log(`target${s.tag} ${s.root} pid ${proc.pid} on 127.0.0.1:${port}, ${loopsText(s.reactors)}, ${describePinning(s.targetCpus, s.clientCpus)}; prefill: one 128k write pass over ${run.range}`);
    await runTool(tool, port, { ...run, pin: s.clientCpus !== null, clientCpus: s.clientCpus }, { rw: 'write', size: '128k', conns: 1, seconds: 2, ramp: 0 });
  }
}

/** The rounds: every job against every target, the targets' order alternating per round so load drift hits all alike. */
async function runRounds(tool: string, targets: readonly TargetRun[], run: PerfConfig, log: (s: string) => void): Promise<void> {
  for (let round = 1; round <= run.rounds; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const j of run.jobs) {
      for (const t of order) {
        const s = await measureJob(tool, t, run, j);
        t.samples.get(j.name)!.push(s);
        const sc = s.syscallsPerIo;
        log(
          `round ${round}/${run.rounds} ${j.name}${t.tag}: ${formatNumber(s.mbps)} MB/s ${formatNumber(s.iops)} IOPS ` +
            `p50 ${formatNumber(s.p50Us)} µs p99 ${formatNumber(s.p99Us)} µs target ${formatNumber(s.targetCpuUsPerIo)} µs/IO` +
            (sc ? ` syscalls/IO ${formatNumber(sc.total, 3)} (w ${formatNumber(sc.writes, 3)} r ${formatNumber(sc.reads, 3)} epoll ${formatNumber(sc.epoll, 3)})` : ''),
        );
      }
    }
  }
}

function jobResults(t: TargetRun, jobs: readonly Job[]): PerfJobResult[] {
  return jobs.map((j) => {
    const ss = t.samples.get(j.name)!;
    return { name: j.name, label: j.label, conns: j.conns, samples: ss, median: medianSample(ss), ref: j.ref };
  });
}

async function runTargets(tool: string, specs: readonly TargetSpec[], run: PerfConfig, log: (s: string) => void): Promise<TargetRun[]> {
  const targets: TargetRun[] = [];
  try {
    await startTargets(tool, specs, run, targets, log);
    await runRounds(tool, targets, run, log);
  } finally {
    // Together: a target with reactors may take its pool's 10 s stop timeout to exit.
    await Promise.all(targets.map((t) => stopTarget(t.proc)));
  }
  return targets;
}

const benchCommand = (): string => `node dist/bench/run.js perf ${process.argv.slice(3).join(' ')}`.trim();

const loadavgNow = async (): Promise<number[]> => (await import('node:os')).loadavg().map((v) => Math.round(v * 100) / 100);

export async function runPerfBench(cfg: PerfConfig, log: (s: string) => void): Promise<PerfBenchResult> {
  const root = repoRoot();
  const pin = resolvePinning(cfg, machineInfo().cpus, have('taskset'));
  if (cfg.baseline != null && !existsSync(join(cfg.baseline, 'bin', 'nvmet-ts.js'))) throw new Error(`--baseline ${cfg.baseline}: no bin/nvmet-ts.js there`);
  const tool = buildPerfTool(root, log);
  if (pin.note !== null) log(pin.note);
  const reactors = cfg.reactors ?? 1;
  const run: PerfConfig = { ...cfg, pin: pin.pinned, reactors, targetCpus: pin.targetCpus, clientCpus: pin.clientCpus };
  if (pin.targetCpus !== null && reactors > parseCpuList('--target-cpus', pin.targetCpus).length) {
    log(`note: ${loopsText(reactors)} on target CPU${/[,-]/.test(pin.targetCpus) ? 's' : ''} ${pin.targetCpus}${cfg.targetCpus == null ? ' (the default; --target-cpus 0,1 spreads them)' : ''}`);
  }
  const roots = cfg.baseline == null ? [root] : [root, cfg.baseline];
  const specs = roots.map((r, i): TargetSpec => ({ root: r, reactors, targetCpus: pin.targetCpus, clientCpus: pin.clientCpus, tag: roots.length === 1 ? '' : i === 0 ? ' [this]' : ' [baseline]' }));
  const targets = await runTargets(tool, specs, run, log);
  const { jobs, ...rest } = run;
  return {
    bench: 'perf',
    date: new Date().toISOString(),
    machine: machineInfo(),
    loadavg: await loadavgNow(),
    command: benchCommand(),
    config: { ...rest, jobs: jobs.map((j) => j.name) },
    pinned: pin.pinned,
    jobs: jobResults(targets[0]!, cfg.jobs),
    ...(targets.length > 1 ? { baseline: { root: targets[1]!.root, jobs: jobResults(targets[1]!, cfg.jobs) } } : {}),
  };
}

/** --scaling: this tree in every SCALING_CONFIGS configuration, alternating per round. */
export async function runPerfScaling(cfg: PerfConfig, log: (s: string) => void): Promise<PerfScalingResult> {
  const root = repoRoot();
  const cpus = machineInfo().cpus;
  if (!have('taskset') || cpus < 2) throw new Error(`--scaling pins to CPUs 0 and 1: it needs taskset and two CPUs (taskset ${have('taskset') ? 'present' : 'missing'}, ${cpus} CPU(s))`);
  const tool = buildPerfTool(root, log);
  const run: PerfConfig = { ...cfg, pin: true, baseline: null };
  const specs = SCALING_CONFIGS.map((c): TargetSpec => ({ root, reactors: c.reactors, targetCpus: c.targetCpus, clientCpus: c.clientCpus, tag: ` (${c.key})` }));
  const targets = await runTargets(tool, specs, run, log);
  const { seconds, ramp, rounds, qd, range, poll, cpuProfDir, syscalls, api } = run;
  return {
    bench: 'perf-scaling',
    date: new Date().toISOString(),
    machine: machineInfo(),
    loadavg: await loadavgNow(),
    command: benchCommand(),
    root,
    config: { seconds, ramp, rounds, qd, range, poll, cpuProfDir, syscalls: syscalls === true, api: api === true, jobs: run.jobs.map((j) => j.name) },
    configs: SCALING_CONFIGS.map((c, i) => ({ ...c, jobs: jobResults(targets[i]!, cfg.jobs) })),
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
    const { spdk, nvmetTs } = j.ref;
    const ref = spdk === null || nvmetTs === null ? '-' : j.ref.unit === 'MB/s' ? `${spdk} / ${nvmetTs} MB/s` : `${spdk / 1000}K / ${nvmetTs / 1000}K IOPS`;
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
      spdk === null ? '-' : formatNumber(mine / spdk, 2),
    ];
  });
}

/** How the run was set up, one line: the printed header above the table, and the Markdown's. */
export function perfSetup(r: Pick<PerfBenchResult, 'config' | 'pinned'>): string {
  const c = r.config;
  const pinning = r.pinned ? describePinning(c.targetCpus ?? '0', c.clientCpus ?? '1') : 'unpinned';
  return (
    `QD ${c.qd}, ${c.seconds} s measured after ${c.ramp} s ramp, medians of ${c.rounds} round(s) with the jobs alternating, range ${c.range} prefilled; ` +
    `target with ${loopsText(c.reactors ?? 1)}${(c.reactors ?? 1) > 1 ? ` (--reactors ${c.reactors})` : ''}; ${pinning}${c.poll ? '; client busy-polling (--poll)' : ''}` +
    `${c.api === true ? '; target with its management API and /metrics on (--api)' : '; target with --no-api'}`
  );
}

/** The header printed above the text table. */
export function perfHeader(r: Pick<PerfBenchResult, 'config' | 'pinned' | 'command'>): string {
  return `${r.command}\n${perfSetup(r)}`;
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
  return [
    `# perf: nvmetcp_perf against nvmet-ts`,
    '',
    `${r.date} — ${describeMachine(r.machine)}; load average ${r.loadavg.join(' ')} at the end (a shared machine: read the ratios, not the absolutes).`,
    '',
    `\`${r.command}\`: ${perfSetup(r)}.`,
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

// ---------------------------------------------------------------- --scaling

const SCALING_COLUMNS: Column[] = [
  { header: 'job' },
  { header: 'config' },
  { header: 'loops', align: 'right' },
  { header: 'target CPUs', align: 'right' },
  { header: 'client CPUs', align: 'right' },
  { header: 'median', align: 'right' },
  { header: '× (a)', align: 'right' },
  { header: 'rounds', align: 'right' },
  { header: 'target CPU µs/IO', align: 'right' },
  { header: 'client CPU µs/IO', align: 'right' },
  { header: 'p99 µs', align: 'right' },
  { header: 'errors', align: 'right' },
];

/** A job's figure in its unit, compact: "221.4K IOPS", "3519 MB/s" (`unit` false: without the unit). */
export function formatJobValue(v: number, unit: 'MB/s' | 'IOPS', withUnit = true): string {
  const n = unit === 'IOPS' ? `${formatNumber(v / 1000, 4)}K` : formatNumber(v, 4);
  return withUnit ? `${n} ${unit}` : n;
}

/** One row per job and configuration, the job's rows together; "× (a)" divides by the first configuration's median. */
function scalingRows(r: PerfScalingResult): string[][] {
  const out: string[][] = [];
  const first = r.configs[0];
  for (const name of r.config.jobs) {
    r.configs.forEach((c, i) => {
      const j = c.jobs.find((x) => x.name === name);
      if (j === undefined) return;
      const unit = j.ref.unit;
      const v = (x: PerfSample): number => (unit === 'MB/s' ? x.mbps : x.iops);
      const base = first?.jobs.find((x) => x.name === name);
      const ratio = base === undefined || v(base.median) === 0 ? null : v(j.median) / v(base.median);
      out.push([
        i === 0 ? j.label : '',
        `(${c.key})`,
        String(c.reactors),
        c.targetCpus,
        c.clientCpus,
        formatJobValue(v(j.median), unit),
        formatNumber(ratio, 3),
        j.samples.map((s) => formatJobValue(v(s), unit, false)).join(' '),
        formatNumber(j.median.targetCpuUsPerIo),
        formatNumber(j.median.clientCpuUsPerIo),
        formatNumber(j.median.p99Us),
        String(j.median.errors),
      ]);
    });
  }
  return out;
}

export function perfScalingTable(r: PerfScalingResult, md: boolean): string {
  return md ? markdownTable(SCALING_COLUMNS, scalingRows(r)) : textTable(SCALING_COLUMNS, scalingRows(r));
}

/** The configurations, one line each, as the table's legend. */
export function scalingLegend(r: Pick<PerfScalingResult, 'configs'>): string {
  return r.configs.map((c) => `(${c.key}) ${c.label}`).join('; ');
}

/** What the table can and cannot say, given the machine's core count. */
export function scalingFootnote(r: Pick<PerfScalingResult, 'machine' | 'config'>): string {
  const n = r.machine.cpus;
  const cores =
    n === 2
      ? 'This machine has 2 cores, so in (b) and (c) the client shares a core with one of the target\'s loops'
      : `This machine has ${n} CPUs, but the configurations use CPUs 0 and 1 only, so in (b) and (c) the client shares a core with one of the target's loops`;
  return (
    `${cores}${r.config.poll ? ' (and busy-polls there, --poll)' : ''}: the table shows whether a second event loop helps when a core is contended, ` +
    'not clean 2-core scaling (that needs a third core for the client). ' +
    'taskset bounds the whole target process: the kernel decides which of its threads (the two loops, and Node\'s helper threads) runs on which of CPUs 0 and 1 from moment to moment. ' +
    'Median of the rounds; "rounds" lists each round (the configurations alternate within a round, the order reversed every other round); ' +
    'target CPU: on-CPU time of all the target\'s threads over the job including its ramp, per I/O.'
  );
}

export function perfScalingMarkdown(r: PerfScalingResult): string {
  const c = r.config;
  return [
    '# perf --scaling: one tree, 1 and 2 event loops',
    '',
    `${r.date} — ${describeMachine(r.machine)}; load average ${r.loadavg.join(' ')} at the end.`,
    '',
    `\`${r.command}\` on ${r.root}: QD ${c.qd}, ${c.seconds} s measured after ${c.ramp} s ramp, ${c.rounds} round(s), range ${c.range} prefilled per target` +
      `${c.poll ? ', client busy-polling (--poll)' : ''}${c.api ? ', target with --api' : ', target with --no-api'}. ${scalingLegend(r)}.`,
    '',
    perfScalingTable(r, true),
    '',
    scalingFootnote(r),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- options

export type PerfArgs = { help: true } | { help: false; cfg: PerfConfig; scaling: boolean; out: string | undefined; json: boolean };

/** The preset's options; a PerfUsageError naming the option for a bad one. */
export function parsePerfArgs(argv: string[]): PerfArgs {
  let o;
  try {
    ({ values: o } = parseArgs({
      args: argv,
      options: {
        seconds: { type: 'string', default: '5' },
        ramp: { type: 'string', default: '1' },
        rounds: { type: 'string', default: '3' },
        qd: { type: 'string', default: '32' },
        range: { type: 'string', default: '256m' },
        jobs: { type: 'string' },
        reactors: { type: 'string' },
        'target-cpus': { type: 'string' },
        'client-cpus': { type: 'string' },
        'no-pin': { type: 'boolean', default: false },
        'no-poll': { type: 'boolean', default: false },
        scaling: { type: 'boolean', default: false },
        api: { type: 'boolean', default: false },
        'cpu-prof': { type: 'string' },
        baseline: { type: 'string' },
        syscalls: { type: 'boolean', default: false },
        out: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    // node:util's own errors (unknown option, missing value) name the option already.
    throw new PerfUsageError((e as Error).message);
  }
  if (o.help) return { help: true };
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new PerfUsageError(`--${name} must be a number ≥ ${min}, got "${v}"`);
    return n;
  };
  let jobs: readonly Job[] = o.scaling ? ALL_PERF_JOBS.filter((j) => SCALING_JOBS.includes(j.name)) : PERF_JOBS;
  if (o.jobs !== undefined) {
    const want = o.jobs.split(',').map((s) => s.trim());
    const bad = want.filter((w) => !ALL_PERF_JOBS.some((j) => j.name === w));
    if (bad.length > 0) throw new PerfUsageError(`--jobs: unknown job(s) ${bad.join(', ')}; known: ${ALL_PERF_JOBS.map((j) => j.name).join(', ')}`);
    jobs = ALL_PERF_JOBS.filter((j) => want.includes(j.name));
  }
  if (!/^\d+[kmg]?$/i.test(o.range)) throw new PerfUsageError(`--range must be a size like 256m, got "${o.range}"`);
  let reactors = 1;
  if (o.reactors !== undefined) {
    reactors = /^\d+$/.test(o.reactors) ? Number(o.reactors) : NaN;
    if (!(reactors >= 1 && reactors <= MAX_REACTORS)) throw new PerfUsageError(`--reactors must be an integer 1..${MAX_REACTORS}, got "${o.reactors}"`);
  }
  const targetCpus = o['target-cpus'];
  const clientCpus = o['client-cpus'];
  if (targetCpus !== undefined) parseCpuList('--target-cpus', targetCpus);
  if (clientCpus !== undefined) parseCpuList('--client-cpus', clientCpus);
  if (o['no-pin']) {
    const clash = [targetCpus !== undefined ? '--target-cpus' : null, clientCpus !== undefined ? '--client-cpus' : null].filter((x) => x !== null);
    if (clash.length > 0) throw new PerfUsageError(`${clash.join(' and ')} and --no-pin contradict each other`);
  }
  if (o.scaling) {
    const clash = [
      o.reactors !== undefined ? '--reactors' : null,
      targetCpus !== undefined ? '--target-cpus' : null,
      clientCpus !== undefined ? '--client-cpus' : null,
      o['no-pin'] ? '--no-pin' : null,
      o.baseline !== undefined ? '--baseline' : null,
    ].filter((x) => x !== null);
    if (clash.length > 0) throw new PerfUsageError(`--scaling sets the loops and CPUs itself and runs one tree: drop ${clash.join(', ')}`);
  }
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
    reactors,
    targetCpus: targetCpus?.trim() ?? null,
    clientCpus: clientCpus?.trim() ?? null,
  };
  return { help: false, cfg, scaling: o.scaling, out: o.out, json: o.json };
}

export async function perfBench(argv: string[]): Promise<number> {
  try {
    return await perfBenchOrThrow(argv);
  } catch (e) {
    if (!(e instanceof PerfUsageError)) throw e;
    console.error(`perf: ${e.message}\n(node dist/bench/run.js perf --help lists the options)`);
    return 2;
  }
}

async function perfBenchOrThrow(argv: string[]): Promise<number> {
  const a = parsePerfArgs(argv);
  if (a.help) {
    console.log(PERF_USAGE);
    return 0;
  }
  const log = (s: string): void => {
    if (!a.json) console.error(s);
  };
  const outDir = a.out ?? join(repoRoot(), 'bench', 'results');
  if (a.scaling) {
    const r = await runPerfScaling(a.cfg, log);
    const written = await writeResultFiles(outDir, { 'perf-scaling.json': `${JSON.stringify(r, null, 2)}\n`, 'perf-scaling.md': perfScalingMarkdown(r) });
    if (a.json) {
      console.log(JSON.stringify(r));
    } else {
      const c = r.config;
      console.log(`${r.command}\nQD ${c.qd}, ${c.seconds} s after ${c.ramp} s ramp, ${c.rounds} round(s)${c.poll ? ', client busy-polling' : ''}. ${scalingLegend(r)}.\n`);
      console.log(perfScalingTable(r, false));
      console.log(`\n${scalingFootnote(r)}`);
      console.log(`\nwritten: ${written.join(', ')}`);
    }
    return r.configs.some((c) => c.jobs.some((j) => j.median.errors > 0)) ? 1 : 0;
  }
  const r = await runPerfBench(a.cfg, log);
  const md = perfMarkdown(r);
  const json = JSON.stringify(r, null, 2);
  const written = await writeResultFiles(outDir, { 'perf.json': `${json}\n`, 'perf.md': md });
  if (a.json) {
    console.log(JSON.stringify(r));
  } else {
    console.log(`${perfHeader(r)}\n`);
    console.log(textTable(COLUMNS, rows(r)));
    if (r.baseline !== undefined) console.log(`\nbefore = ${r.baseline.root}, after = this tree:\n${perfCompareTable(r, false)}`);
    console.log(`\nwritten: ${written.join(', ')}`);
  }
  return r.jobs.some((j) => j.median.errors > 0) ? 1 : 0;
}
