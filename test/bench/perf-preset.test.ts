/**
 * The perf and profile presets' plumbing, for real: the vendored C initiator is
 * built with make and drives the nvmet-ts CLI for one short job; the CPU-profile
 * summary counts only the samples of the measured window. Skipped (with the
 * reason) where the machine has no C compiler.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PERF_JOBS, perfMarkdown, runPerfBench } from '../../bench/perf.js';
import { areaOf, summarizeCpuProfile } from '../../bench/profile.js';

const hasCc = spawnSync('sh', ['-c', 'command -v cc || command -v gcc'], { stdio: 'ignore' }).status === 0;
const hasMake = spawnSync('sh', ['-c', 'command -v make'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasCc || !hasMake)('perf preset (needs a C compiler and make)', () => {
  it('builds nvmetcp_perf and measures a short 4 KiB random read against the CLI target without errors', async () => {
    const job = PERF_JOBS.find((j) => j.name === 'rand-read-4k')!;
    const log: string[] = [];
    const r = await runPerfBench(
      { seconds: 1, ramp: 0, rounds: 1, qd: 4, range: '16m', jobs: [job], pin: false, poll: false, cpuProfDir: null },
      (s) => log.push(s),
    );
    expect(log.some((l) => l.startsWith('built '))).toBe(true);
    const j = r.jobs[0]!;
    expect(j.samples).toHaveLength(1);
    expect(j.median.errors).toBe(0);
    expect(j.median.iops).toBeGreaterThan(0);
    expect(j.median.mbps).toBeCloseTo((j.median.iops * 4096) / 1e6, 0);
    expect(j.median.p99Us).toBeGreaterThanOrEqual(j.median.p50Us);
    if (existsSync('/proc/self/task')) expect(j.median.targetCpuUsPerIo).toBeGreaterThan(0);
    const md = perfMarkdown(r);
    expect(md).toContain('| 4 KiB rand read');
    expect(md).toContain('689K / 207K IOPS');
  }, 90_000);

  it('runs a second tree side by side (--baseline), both with the API on (--api): measured in the same round, a before/after table', async () => {
    const job = PERF_JOBS.find((j) => j.name === 'rand-write-4k')!;
    const root = process.cwd();
    // --api: two targets with their management API up at once (each on a free port).
    const r = await runPerfBench(
      { seconds: 1, ramp: 0, rounds: 2, qd: 4, range: '16m', jobs: [job], pin: false, poll: false, cpuProfDir: null, baseline: root, api: true },
      () => {},
    );
    expect(r.jobs[0]!.samples).toHaveLength(2);
    expect(r.baseline?.root).toBe(root);
    const b = r.baseline!.jobs[0]!;
    expect(b.samples).toHaveLength(2);
    expect(b.median.errors).toBe(0);
    expect(b.median.iops).toBeGreaterThan(0);
    const md = perfMarkdown(r);
    expect(md).toContain('| 4 KiB rand write');
    expect(md).toMatch(/after \/ before/);
    expect(md).toContain('target with its management API and /metrics on (--api)');
  }, 120_000);
});

describe('CPU profile summary', () => {
  const node = (id: number, functionName: string, url: string): { id: number; callFrame: { functionName: string; url: string; lineNumber: number } } => ({
    id,
    callFrame: { functionName, url, lineNumber: 0 },
  });
  const profile = {
    startTime: 1_000,
    nodes: [node(1, '(idle)', ''), node(2, 'onData', 'file:///x/dist/target/tcp/queue.js'), node(3, '(garbage collector)', ''), node(4, 'wrapSafe', 'node:internal/modules/cjs/loader')],
    // Sample times: 1100 (startup, module loading), 1200, 1300, 1400 (window), 1500 (after).
    samples: [4, 2, 3, 1, 2],
    timeDeltas: [100, 100, 100, 100, 100],
  };

  it('counts only the samples inside the window, idle excluded, per I/O', () => {
    const s = summarizeCpuProfile(profile, 2, 1150, 1450);
    expect(s.totalMs).toBeCloseTo(0.2, 6);
    expect(s.perIoUs).toBeCloseTo(100, 6);
    expect(s.areas.map((a) => a.area).sort()).toEqual(['GC', 'NVMe/TCP transport (target/tcp, src/tcp)']);
    expect(s.top.find((f) => f.fn === 'wrapSafe')).toBeUndefined();
  });

  it.each([
    ['(garbage collector)', '', 'GC'],
    ['writev', '', 'Node native bindings (writev, fs, …)'],
    ['crc32c', 'file:///x/node_modules/@node-rs/crc32/index.js', 'digest (CRC32C)'],
    ['submit', 'file:///x/dist/src/copy/dma-engine.js', 'copy engine / staging (src/copy, target/p2p)'],
    ['initRequest', 'file:///x/dist/target/core/queue.js', 'core (target/core)'],
    ['processTicksAndRejections', 'node:internal/process/task_queues', 'microtasks / promises (node:internal/process)'],
  ])('%s in %s is %s', (fn, url, area) => expect(areaOf(fn, url)).toBe(area));
});

