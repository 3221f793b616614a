/**
 * The perf preset's options and tables, without running anything: --reactors,
 * --target-cpus / --client-cpus (CPU lists, how they reach taskset and
 * nvmetcp_perf --cpu), --scaling's option rules and its table from made-up rounds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ALL_PERF_JOBS,
  PERF_JOBS,
  PerfUsageError,
  SCALING_CONFIGS,
  SCALING_JOBS,
  clientPinning,
  parseCpuList,
  parsePerfArgs,
  perfBench,
  perfHeader,
  perfMarkdown,
  perfScalingMarkdown,
  perfScalingTable,
  perfSetup,
  resolvePinning,
  scalingFootnote,
  targetCommand,
} from '../../bench/perf.js';
import type { PerfBenchResult, PerfConfig, PerfJobResult, PerfSample, PerfScalingResult } from '../../bench/perf.js';
import type { MachineInfo } from '../../bench/report/files.js';

const parsed = (argv: string[]): { cfg: PerfConfig; scaling: boolean; out: string | undefined; json: boolean } => {
  const a = parsePerfArgs(argv);
  if (a.help) throw new Error('unexpected --help');
  return a;
};

describe('CPU lists', () => {
  it.each([
    ['0', [0]],
    ['1', [1]],
    ['0,1', [0, 1]],
    ['0-1', [0, 1]],
    ['1-1', [1]],
    ['0,2-3', [0, 2, 3]],
    ['3,0', [0, 3]],
    ['1,1', [1]],
    [' 0,1 ', [0, 1]],
    ['0-3,2', [0, 1, 2, 3]],
  ])('"%s" is CPUs %j', (v, want) => expect(parseCpuList('--target-cpus', v)).toEqual(want));

  it.each([
    ['', /--client-cpus: "" is not a CPU list/],
    ['a', /--client-cpus: "a" is not a CPU list: CPU numbers and ranges/],
    ['0,', /not a CPU list/],
    [',1', /not a CPU list/],
    ['1-', /not a CPU list/],
    ['-1', /not a CPU list/],
    ['0;1', /not a CPU list/],
    ['0 1', /not a CPU list/],
    ['0-3:2', /not a CPU list/],
    ['1.5', /not a CPU list/],
    ['2-1', /--client-cpus: the range "2-1" in "2-1" runs backwards/],
    ['0,3-1', /the range "3-1" in "0,3-1" runs backwards/],
    ['0-5000', /--client-cpus: CPU 5000 in "0-5000" is out of range/],
  ])('"%s" is refused, naming the option', (v, msg) => {
    expect(() => parseCpuList('--client-cpus', v)).toThrow(PerfUsageError);
    expect(() => parseCpuList('--client-cpus', v)).toThrow(msg);
  });

  // nvmetcp_perf --cpu LIST pins its worker round-robin over LIST: one worker would sit on the first CPU only.
  it.each([
    [null, null, []],
    ['1', '1', ['--cpu', '1']],
    ['1-1', '1-1', ['--cpu', '1']],
    ['0', '0', ['--cpu', '0']],
    ['0,1', '0,1', []],
    ['0-1', '0-1', []],
  ])('client on %s: taskset -c %s, tool args %j', (cpus, taskset, toolArgs) => {
    expect(clientPinning(cpus)).toEqual({ taskset, toolArgs });
  });
});

describe('the target command line', () => {
  it.each([
    [{ cpus: null }, null, []],
    [{ cpus: '0' }, '0', []],
    [{ cpus: '0,1', reactors: 2 }, '0,1', ['--reactors', '2']],
    [{ cpus: null, reactors: 1 }, null, []],
    [{ cpus: '0-1', reactors: 4, api: true }, '0-1', ['--reactors', '4']],
  ])('%j: taskset %s, %j', (o, taskset, reactorArgs) => {
    const [cmd, argv] = targetCommand('/tree', 4420, o);
    if (taskset === null) {
      expect(cmd).toBe(process.execPath);
    } else {
      expect(cmd).toBe('taskset');
      expect(argv.slice(0, 3)).toEqual(['-c', taskset, process.execPath]);
    }
    expect(argv).toContain('/tree/bin/nvmet-ts.js');
    expect(argv.join(' ')).toContain('--listen 127.0.0.1:4420');
    // Only for more than one loop, so a tree that predates --reactors still starts.
    const i = argv.indexOf('--reactors');
    expect(i === -1 ? [] : argv.slice(i, i + 2)).toEqual(reactorArgs);
    expect(argv).toContain('api' in o && o.api === true ? '--api' : '--no-api');
  });
});

describe('perf options', () => {
  it('defaults: one loop, CPU 0 / CPU 1 (resolved at run time), the issue\'s five jobs', () => {
    const a = parsed([]);
    expect(a.scaling).toBe(false);
    expect(a.cfg).toMatchObject({ reactors: 1, targetCpus: null, clientCpus: null, pin: true, poll: true, seconds: 5, rounds: 3 });
    expect(a.cfg.jobs.map((j) => j.name)).toEqual(PERF_JOBS.map((j) => j.name));
  });

  it.each([
    [['--reactors', '2'], { reactors: 2 }],
    [['--reactors', '64'], { reactors: 64 }],
    [['--target-cpus', '0,1'], { targetCpus: '0,1', clientCpus: null }],
    [['--client-cpus', '0-1'], { targetCpus: null, clientCpus: '0-1' }],
    [['--reactors', '2', '--target-cpus', '0-1', '--client-cpus', '1'], { reactors: 2, targetCpus: '0-1', clientCpus: '1' }],
    [['--no-pin', '--reactors', '3'], { reactors: 3, pin: false }],
  ])('%j', (argv, want) => expect(parsed(argv).cfg).toMatchObject(want));

  it.each([
    [[], PERF_JOBS.map((j) => j.name)],
    [['--jobs', 'rand-write-4k-4c,seq-read-128k-4c'], ['rand-write-4k-4c', 'seq-read-128k-4c']],
    [['--scaling'], SCALING_JOBS],
    [['--scaling', '--jobs', 'rand-read-4k'], ['rand-read-4k']],
  ])('jobs of %j', (argv, want) => expect(parsed(argv).cfg.jobs.map((j) => j.name)).toEqual(want));

  it('the new jobs mirror the ones they extend, with four connections and no issue figures', () => {
    const byName = (n: string) => ALL_PERF_JOBS.find((j) => j.name === n)!;
    expect(byName('rand-write-4k-4c')).toMatchObject({ rw: 'randwrite', size: '4k', conns: 4, ref: { unit: 'IOPS', spdk: null } });
    expect(byName('seq-read-128k-4c')).toMatchObject({ rw: 'read', size: '128k', conns: 4, ref: { unit: 'MB/s', spdk: null } });
    expect(SCALING_JOBS.every((n) => ALL_PERF_JOBS.some((j) => j.name === n && j.conns === 4))).toBe(true);
  });

  it('--scaling', () => {
    const a = parsed(['--scaling', '--seconds', '2', '--rounds', '3']);
    expect(a.scaling).toBe(true);
    expect(a.cfg).toMatchObject({ seconds: 2, rounds: 3, pin: true });
  });

  it.each([
    [['--reactors', '0'], /--reactors must be an integer 1\.\.64, got "0"/],
    [['--reactors', '65'], /--reactors must be an integer 1\.\.64/],
    [['--reactors', '1.5'], /--reactors must be an integer/],
    [['--reactors', 'two'], /--reactors must be an integer/],
    [['--reactors', ''], /--reactors must be an integer/],
    [['--target-cpus', 'x'], /--target-cpus: "x" is not a CPU list/],
    [['--target-cpus', '1-0'], /--target-cpus: the range "1-0"/],
    [['--client-cpus', '0,,1'], /--client-cpus: "0,,1" is not a CPU list/],
    [['--no-pin', '--target-cpus', '0'], /--target-cpus and --no-pin contradict each other/],
    [['--no-pin', '--target-cpus', '0', '--client-cpus', '1'], /--target-cpus and --client-cpus and --no-pin contradict/],
    [['--scaling', '--reactors', '2'], /--scaling sets the loops and CPUs itself and runs one tree: drop --reactors/],
    [['--scaling', '--target-cpus', '0', '--client-cpus', '1'], /drop --target-cpus, --client-cpus$/],
    [['--scaling', '--no-pin'], /drop --no-pin/],
    [['--scaling', '--baseline', '/tmp/x'], /drop --baseline/],
    [['--jobs', 'rand-read-4k,nope'], /--jobs: unknown job\(s\) nope; known: .*rand-write-4k-4c, seq-read-128k-4c/],
    [['--seconds', '0'], /--seconds must be a number ≥ 1, got "0"/],
    [['--rounds', ''], /--rounds must be a number ≥ 1/],
    [['--range', '1t'], /--range must be a size/],
    [['--bogus'], /--bogus/],
    [['--reactors'], /--reactors/],
  ])('%j is a usage error naming the option', (argv, msg) => {
    expect(() => parsePerfArgs(argv)).toThrow(PerfUsageError);
    expect(() => parsePerfArgs(argv)).toThrow(msg);
  });

  describe('perfBench', () => {
    afterEach(() => vi.restoreAllMocks());
    it('prints a usage error (no stack) and returns 2 before starting anything', async () => {
      const err = vi.spyOn(console, 'error').mockImplementation(() => {});
      expect(await perfBench(['--client-cpus', '1-0'])).toBe(2);
      expect(err.mock.calls[0]![0]).toMatch(/^perf: --client-cpus: the range "1-0"/);
    });
  });
});

describe('where target and client are pinned', () => {
  const R = (pin: boolean, targetCpus: string | null = null, clientCpus: string | null = null) => ({ pin, targetCpus, clientCpus });
  it.each([
    ['--no-pin', R(false), 2, true, { pinned: false, targetCpus: null, clientCpus: null, note: null }],
    ['defaults', R(true), 2, true, { pinned: true, targetCpus: '0', clientCpus: '1', note: null }],
    ['defaults on one CPU', R(true), 1, true, { pinned: false, note: expect.stringMatching(/running unpinned/) }],
    ['defaults without taskset', R(true), 2, false, { pinned: false, note: expect.stringMatching(/taskset/) }],
    ['both lists', R(true, '0,1', '0-1'), 2, true, { pinned: true, targetCpus: '0,1', clientCpus: '0-1' }],
    ['only the target list', R(true, '0,1'), 2, true, { pinned: true, targetCpus: '0,1', clientCpus: '1' }],
    ['only the client list', R(true, null, '0'), 4, true, { pinned: true, targetCpus: '0', clientCpus: '0' }],
  ])('%s', (_, cfg, cpus, taskset, want) => expect(resolvePinning(cfg, cpus, taskset)).toMatchObject(want));

  it.each([
    [R(true, '0,2'), 2, true, /--target-cpus 0,2: this machine has CPUs 0-1 only \(no CPU 2\)/],
    [R(true, null, '1-3'), 2, true, /--client-cpus 1-3: this machine has CPUs 0-1 only \(no CPU 2, 3\)/],
    [R(true, '0'), 1, true, /--client-cpus 1: this machine has CPUs 0-0 only/],
    [R(true, '0,1'), 2, false, /^--target-cpus needs taskset/],
    [R(true, '0', '1'), 2, false, /^--target-cpus and --client-cpus need taskset/],
  ])('%j on %d CPUs (taskset %s) is refused', (cfg, cpus, taskset, msg) => {
    expect(() => resolvePinning(cfg, cpus, taskset)).toThrow(PerfUsageError);
    expect(() => resolvePinning(cfg, cpus, taskset)).toThrow(msg);
  });
});

// ---------------------------------------------------------------- made-up results

const machine = (cpus: number): MachineInfo => ({
  node: 'v20.0.0',
  v8: '11',
  platform: 'linux',
  arch: 'x64',
  osRelease: '6.1',
  cpuModel: 'Test CPU',
  cpus,
  availableParallelism: cpus,
  totalMemBytes: 8 * 2 ** 30,
  hostname: 'h',
});

const sample = (iops: number, bs: number, cpu: number): PerfSample => ({
  mbps: (iops * bs) / 1e6,
  iops,
  p50Us: 100,
  p99Us: 300,
  targetCpuUsPerIo: cpu,
  clientCpuUsPerIo: 4,
  errors: 0,
});

const jobResult = (name: string, iopsPerRound: number[], bs: number, cpu: number): PerfJobResult => {
  const j = ALL_PERF_JOBS.find((x) => x.name === name)!;
  const samples = iopsPerRound.map((v) => sample(v, bs, cpu));
  const sorted = [...iopsPerRound].sort((a, b) => a - b);
  return { name, label: j.label, conns: j.conns, samples, median: sample(sorted[1]!, bs, cpu), ref: j.ref };
};

const config = { seconds: 5, ramp: 1, rounds: 3, qd: 32, range: '256m', poll: true, cpuProfDir: null, syscalls: false, api: false };

function scalingResult(cpus = 2): PerfScalingResult {
  // (a) 200K / 3000 MB/s; (b) 1.5× the reads, 0.9× the writes; (c) 1.2× / 1× (rounds in order, median in the middle).
  const per: Record<string, [number[], number[], number[]]> = {
    'rand-read-4k-4c': [
      [190_000, 200_000, 210_000],
      [310_000, 300_000, 290_000],
      [240_000, 230_000, 250_000],
    ],
    'rand-write-4k-4c': [
      [100_000, 100_000, 100_000],
      [90_000, 90_000, 90_000],
      [100_000, 100_000, 100_000],
    ],
    'seq-read-128k-4c': [
      [22_888, 22_888, 22_888],
      [30_000, 30_000, 30_000],
      [22_888, 22_888, 22_888],
    ],
  };
  return {
    bench: 'perf-scaling',
    date: '2026-12-04T17:30:00.000Z',
    machine: machine(cpus),
    loadavg: [1, 1, 1],
    command: 'node dist/bench/run.js perf --scaling',
    root: '/tree',
    config: { ...config, jobs: [...SCALING_JOBS] },
    configs: SCALING_CONFIGS.map((c, i) => ({
      ...c,
      jobs: SCALING_JOBS.map((n) => jobResult(n, per[n]![i]!, n.startsWith('seq') ? 131072 : 4096, 4 + i)),
    })),
  };
}

describe('the --scaling table', () => {
  it('one row per job and configuration, medians, the ratio to (a), every round', () => {
    const t = perfScalingTable(scalingResult(), false).split('\n');
    expect(t).toHaveLength(1 + 3 * 3);
    expect(t[0]).toMatch(/^job\s+config\s+loops\s+target CPUs\s+client CPUs\s+median\s+× \(a\)\s+rounds\s+target CPU µs\/IO\s+client CPU µs\/IO\s+p99 µs\s+errors$/);
    const cells = (line: string): string[] => line.split(/\s{2,}/).filter((c) => c !== '');
    // The job's label only on its first row.
    expect(cells(t[1]!)).toEqual(['4 KiB rand read, 4 connections', '(a)', '1', '0', '1', '200K IOPS', '1', '190K 200K 210K', '4', '4', '300', '0']);
    expect(cells(t[2]!)).toEqual(['(b)', '2', '0,1', '1', '300K IOPS', '1.5', '310K 300K 290K', '5', '4', '300', '0']);
    expect(cells(t[3]!)).toEqual(['(c)', '2', '0,1', '0,1', '240K IOPS', '1.2', '240K 230K 250K', '6', '4', '300', '0']);
    expect(cells(t[5]!)).toEqual(['(b)', '2', '0,1', '1', '90K IOPS', '0.9', '90K 90K 90K', '5', '4', '300', '0']);
    // 128 KiB: MB/s.
    expect(cells(t[7]!).slice(0, 7)).toEqual(['128 KiB seq read, 4 connections', '(a)', '1', '0', '1', '3000 MB/s', '1']);
    expect(cells(t[8]!).slice(4, 6)).toEqual(['3932 MB/s', '1.31']);
  });

  it('as Markdown: the same rows, the legend, the footnote', () => {
    const md = perfScalingMarkdown(scalingResult());
    const tableRows = md.split('\n').filter((l) => l.startsWith('|'));
    expect(tableRows).toHaveLength(2 + 9);
    for (const l of tableRows) expect(l.split(' | ')).toHaveLength(12);
    expect(md).toContain('(a) 1 loop, target CPU 0, client CPU 1; (b) 2 loops, target CPUs 0,1, client CPU 1; (c) 2 loops, target CPUs 0,1, client CPUs 0,1');
    expect(md).toContain('This machine has 2 cores, so in (b) and (c) the client shares a core');
    expect(md).toContain('not clean 2-core scaling');
  });

  it.each([
    [2, true, /^This machine has 2 cores, so in \(b\) and \(c\) the client shares a core with one of the target's loops \(and busy-polls there, --poll\): .*a core is contended, not clean 2-core scaling/],
    [2, false, /^This machine has 2 cores, .* loops: the table shows whether a second event loop helps when a core is contended/],
    [8, true, /^This machine has 8 CPUs, but the configurations use CPUs 0 and 1 only, so in \(b\) and \(c\) the client shares a core/],
  ])('footnote on %d CPUs (poll %s)', (cpus, poll, re) => {
    const r = scalingResult(cpus);
    expect(scalingFootnote({ ...r, config: { ...r.config, poll } })).toMatch(re);
  });

  it('a job missing in a configuration leaves its row out instead of failing', () => {
    const r = scalingResult();
    r.configs[2]!.jobs = r.configs[2]!.jobs.filter((j) => j.name !== 'rand-write-4k-4c');
    expect(perfScalingTable(r, false).split('\n')).toHaveLength(1 + 8);
  });
});

describe('the perf header and Markdown with the new options', () => {
  const result = (over: Partial<PerfBenchResult['config']>, pinned: boolean): PerfBenchResult => ({
    bench: 'perf',
    date: '2026-12-04T17:30:00.000Z',
    machine: machine(2),
    loadavg: [0.5, 0.5, 0.5],
    command: 'node dist/bench/run.js perf --reactors 2',
    config: { ...config, pin: pinned, jobs: ['rand-read-4k-4c', 'rand-write-4k-4c'], reactors: 2, targetCpus: '0,1', clientCpus: '1', ...over },
    pinned,
    jobs: [jobResult('rand-read-4k-4c', [1, 2, 3], 4096, 4), jobResult('rand-write-4k-4c', [1, 2, 3], 4096, 4)],
  });

  it.each([
    [{}, true, /target with 2 event loops \(--reactors 2\); target CPUs 0,1, client CPU 1 \(--cpu 1\); client busy-polling/],
    [{ clientCpus: '0,1' }, true, /target CPUs 0,1, client CPUs 0,1; client busy-polling/],
    [{ reactors: 1, targetCpus: '0' }, true, /target with 1 event loop; target CPU 0, client CPU 1 \(--cpu 1\)/],
    [{ reactors: 1, targetCpus: null, clientCpus: null, pin: false }, false, /target with 1 event loop; unpinned; client busy-polling/],
    // A result from before these options: one loop, CPU 0 / CPU 1.
    [{ reactors: undefined, targetCpus: undefined, clientCpus: undefined }, true, /target with 1 event loop; target CPU 0, client CPU 1 \(--cpu 1\)/],
  ])('%j (pinned %s)', (over, pinned, re) => {
    const r = result(over, pinned);
    expect(perfSetup(r)).toMatch(re);
    expect(perfHeader(r)).toMatch(re);
    expect(perfHeader(r).split('\n')[0]).toBe('node dist/bench/run.js perf --reactors 2');
    expect(perfMarkdown(r)).toMatch(re);
  });

  it('jobs without an issue-13 figure get "-" there instead of a ratio', () => {
    const md = perfMarkdown(result({}, true));
    const row = md.split('\n').find((l) => l.startsWith('| 4 KiB rand write, 4 connections'))!;
    expect(row.trim().split('|').map((c) => c.trim()).slice(-3, -1)).toEqual(['-', '-']);
    const known = md.split('\n').find((l) => l.startsWith('| 4 KiB rand read, 4 connections'))!;
    expect(known).toContain('634K / 199K IOPS');
  });
});
