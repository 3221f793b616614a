/**
 * Issue-13 profile of one job (default: 4 KiB random read, QD 32, one
 * connection): where the target's CPU time per I/O goes. Three views of the same
 * job run by the C initiator against the pinned nvmet-ts CLI:
 *  1. `perf stat -p TARGET` over a window inside the measured period: syscalls per
 *     I/O (reads, writes, epoll, futex), context switches, task-clock;
 *  2. `node --cpu-prof` of the target over the whole job: self time by area
 *     (TCP transport, core, backend, copy engine, digest, Node's net/stream
 *     internals, microtask/promise machinery, GC, native "(program)");
 *  3. a counting pass with bench/probes/target-probe.js preloaded: promises
 *     created and GCs per I/O (the hook costs time, so no timing from it).
 * Writes profile-<job>.json / .md into bench/results/.
 *
 * Run: npm run build && npm run bench -- profile [--seconds 4]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine, machineInfo, writeResultFiles } from './report/files.js';
import type { MachineInfo } from './report/files.js';
import { markdownTable } from './report/markdown.js';
import { formatNumber } from './report/stats.js';
import { PERF_JOBS, buildPerfTool, freePort, have, repoRoot, runTool, startTarget, stopTarget, threadsCpuNs, waitListening } from './perf.js';
import type { ToolResult } from './perf.js';

export const PROFILE_USAGE = `Usage: node dist/bench/run.js profile [options]

  --job NAME      one of ${PERF_JOBS.map((j) => j.name).join(', ')} (default rand-read-4k)
  --seconds S     measured seconds of each pass (default 4)
  --qd N          queue depth (default 32)
  --no-pin        do not pin the target to CPU 0 and the client to CPU 1
  --out DIR       where profile-<job>.json / .md go (default bench/results)`;

/** Syscall tracepoints counted, grouped as the breakdown names them. */
const SYSCALL_GROUPS: Readonly<Record<string, readonly string[]>> = {
  reads: ['read', 'readv', 'recvfrom', 'recvmsg'],
  writes: ['write', 'writev', 'sendto', 'sendmsg'],
  epoll: ['epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'epoll_ctl'],
  futex: ['futex'],
};

export interface CpuProfileArea {
  area: string;
  selfMs: number;
  share: number;
}

export interface ProfileResult {
  bench: 'profile';
  date: string;
  machine: MachineInfo;
  loadavg: number[];
  job: string;
  qd: number;
  seconds: number;
  pinned: boolean;
  /** The timed pass (cpu-prof on): what the client measured. */
  run: { iops: number; mbps: number; p50Us: number; p99Us: number; targetCpuUsPerIo: number | null };
  /** Per I/O over the perf-stat window; null without perf. */
  perfStat: { windowS: number; ios: number; perIo: Record<string, number>; raw: Record<string, number> } | null;
  cpuProfile: { totalMs: number; perIoUs: number; areas: CpuProfileArea[]; top: { fn: string; where: string; selfMs: number }[] } | null;
  counts: { promisesPerIo: number; gcsPer1kIo: number; gcMsPer1kIo: number } | null;
}

// ---------------------------------------------------------------- cpuprofile

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  /** µs on the monotonic clock (CLOCK_MONOTONIC, as process.hrtime). */
  startTime: number;
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Which area of the system a frame's self time belongs to (by file, then by name). */
export function areaOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle (epoll wait)';
  if (fn === '(program)') return 'native, unattributed ((program): libuv, syscalls, V8)';
  if (/crc32/i.test(fn) || url.includes('crc32') || url.includes('/digest')) return 'digest (CRC32C)';
  if (url.includes('/target/tcp/') || url.includes('/src/tcp/')) return 'NVMe/TCP transport (target/tcp, src/tcp)';
  if (url.includes('/src/copy/') || url.includes('/target/p2p/') || url.includes('piscina')) return 'copy engine / staging (src/copy, target/p2p)';
  if (url.includes('/target/backend/') || url.includes('/target/io/')) return 'backend (target/backend)';
  if (url.includes('/target/cmd/') || url.includes('/target/admin/') || url.includes('/target/fabrics/')) return 'command handlers (target/cmd)';
  if (url.includes('/target/core/')) return 'core (target/core)';
  if (url.includes('/src/nvme/')) return 'codecs (src/nvme)';
  if (url.includes('/target/')) return 'target, other';
  if (fn === 'processTicksAndRejections' || fn === 'runMicrotasks' || url.includes('task_queues') || url.includes('promise')) return 'microtasks / promises (node:internal/process)';
  if (url.includes('node:internal/stream') || url.includes('node:net') || url.includes('stream_base') || url.includes('node:internal/net')) return 'Node net/stream internals';
  if (url.includes('timers')) return 'timers';
  if (url === '') return fn === '' ? 'native, unattributed ((program): libuv, syscalls, V8)' : 'Node native bindings (writev, fs, …)';
  if (url.includes('node:internal/modules') || url.includes('cjs-module-lexer') || url.includes('bootstrap')) return 'module loading';
  return url.startsWith('node:') ? 'Node, other internals' : 'other';
}

/** Self time by area and function of the samples taken within [fromUs, toUs] (monotonic µs): start-up and teardown stay out. */
export function summarizeCpuProfile(p: CpuProfile, ios: number, fromUs = -Infinity, toUs = Infinity): NonNullable<ProfileResult['cpuProfile']> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    t += d;
    if (t < fromUs || t > toUs) continue;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + d / 1000);
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; selfMs: number }>();
  let busy = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const { functionName: fn, url, lineNumber } = n.callFrame;
    const area = areaOf(fn, url);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    if (area !== 'idle (epoll wait)') busy += ms;
    const where = url === '' ? '' : `${url.replace(/^.*\/(dist\/|node_modules\/)/, '$1')}:${lineNumber + 1}`;
    const key = `${fn}@${where}`;
    const f = fns.get(key) ?? { fn: fn === '' ? '(anonymous)' : fn, where, selfMs: 0 };
    f.selfMs += ms;
    fns.set(key, f);
  }
  const list = [...areas].filter(([a]) => a !== 'idle (epoll wait)').sort((a, b) => b[1] - a[1]);
  return {
    totalMs: busy,
    perIoUs: ios > 0 ? (busy * 1000) / ios : 0,
    areas: list.map(([area, selfMs]) => ({ area, selfMs, share: busy > 0 ? selfMs / busy : 0 })),
    top: [...fns.values()].filter((f) => f.fn !== '(idle)').sort((a, b) => b.selfMs - a.selfMs).slice(0, 40),
  };
}

// ---------------------------------------------------------------- perf stat

function perfStat(pid: number, seconds: number): Promise<Record<string, number>> {
  const events = ['task-clock', 'context-switches', 'cpu-migrations', ...Object.values(SYSCALL_GROUPS).flat().map((s) => `syscalls:sys_enter_${s}`)];
  return new Promise((res, rej) => {
    const p = spawn('perf', ['stat', '-x', ',', '-e', events.join(','), '-p', String(pid), '--', 'sleep', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', () => {
      const out: Record<string, number> = {};
      for (const line of err.split('\n')) {
        const f = line.split(',');
        if (f.length < 3) continue;
        const v = Number(f[0]);
        if (Number.isFinite(v)) out[f[2]!.replace(/^syscalls:sys_enter_/, '')] = v;
      }
      if (Object.keys(out).length === 0) rej(new Error(`perf stat gave nothing: ${err.trim()}`));
      else res(out);
    });
  });
}

// ---------------------------------------------------------------- passes

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withTarget<T>(root: string, pin: boolean, nodeArgs: string[], f: (t: ChildProcess, port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const t = startTarget(root, port, pin, nodeArgs, 'pipe');
  let errText = '';
  t.stderr!.on('data', (b: Buffer) => (errText += b.toString()));
  try {
    await waitListening(port, 20_000, t);
    return await f(t, port);
  } finally {
    await stopTarget(t);
    if (t.exitCode !== 0 && t.exitCode !== null && errText.trim() !== '') process.stderr.write(errText);
  }
}

function probeLine(t: ChildProcess, get: () => string): Promise<{ promises: number; gcs: number; gcMs: number }> {
  const before = get().length;
  t.kill('SIGUSR2');
  return (async () => {
    for (let i = 0; i < 100; i++) {
      const m = /PROBE (\{.*\})/.exec(get().slice(before));
      if (m !== null) return JSON.parse(m[1]!) as { promises: number; gcs: number; gcMs: number };
      await sleep(20);
    }
    throw new Error('target probe did not answer SIGUSR2');
  })();
}

export async function runProfile(o: { job: string; seconds: number; qd: number; pin: boolean }, log: (s: string) => void): Promise<ProfileResult> {
  const root = repoRoot();
  const tool = buildPerfTool(root, log);
  const job = PERF_JOBS.find((j) => j.name === o.job);
  if (job === undefined) throw new RangeError(`--job: unknown job ${o.job}`);
  const pinned = o.pin && have('taskset') && machineInfo().cpus >= 2;
  const cfg = { qd: o.qd, range: '256m', poll: true, pin: pinned };
  const a = { rw: job.rw, size: job.size, conns: job.conns, seconds: o.seconds, ramp: 1 };
  const prefill = (port: number): Promise<ToolResult> => runTool(tool, port, cfg, { rw: 'write', size: '128k', conns: 1, seconds: 1, ramp: 0 });

  // 1+2: timed pass with the CPU profiler, perf stat over the middle of the measured window.
  const profDir = mkdtempSync(join(tmpdir(), 'nvmet-prof-'));
  let run: ProfileResult['run'];
  let stat: ProfileResult['perfStat'] = null;
  let ios = 0;
  let windowUs: [number, number] = [0, 0];
  const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
  try {
    await withTarget(root, pinned, ['--cpu-prof', `--cpu-prof-dir=${profDir}`], async (t, port) => {
      await prefill(port);
      const c0 = threadsCpuNs(t.pid!);
      const window = Math.max(1, o.seconds - 1.5);
      const statP = have('perf')
        ? sleep(1500).then(() => perfStat(t.pid!, window)).catch((e: Error) => (log(`perf stat: ${e.message}`), null))
        : Promise.resolve(null);
      const started = nowUs();
      const r = await runTool(tool, port, cfg, a);
      // The measured window: after the ramp, for the measured seconds (the tool's setup takes a few ms).
      windowUs = [started + a.ramp * 1e6, started + (a.ramp + o.seconds) * 1e6];
      const st = await statP;
      const c1 = threadsCpuNs(t.pid!);
      ios = r.ios;
      run = { iops: r.iops, mbps: r.mbps, p50Us: r.lat.p50, p99Us: r.lat.p99, targetCpuUsPerIo: c0 === null || c1 === null ? null : (c1 - c0) / 1e3 / (ios * ((o.seconds + a.ramp) / o.seconds)) };
      if (st !== null) {
        const wios = r.iops * window;
        const perIo: Record<string, number> = {};
        for (const [g, names] of Object.entries(SYSCALL_GROUPS)) perIo[g] = names.reduce((s, n) => s + (st[n] ?? 0), 0) / wios;
        perIo['context-switches'] = (st['context-switches'] ?? 0) / wios;
        perIo['task-clock µs'] = ((st['task-clock'] ?? 0) * 1000) / wios;
        stat = { windowS: window, ios: wios, perIo, raw: st };
      }
      log(`timed pass: ${formatNumber(r.iops)} IOPS, target ${formatNumber(run.targetCpuUsPerIo)} µs/IO`);
    });
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    const prof = file === undefined ? null : summarizeCpuProfile(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile, ios, windowUs[0], windowUs[1]);
    if (prof === null) log('no .cpuprofile written (target did not exit cleanly?)');

    // 3: counting pass.
    const probe = join(root, 'dist', 'bench', 'probes', 'target-probe.js');
    const counts = await withTarget(root, pinned, ['--import', probe], async (t, port) => {
      let text = '';
      t.stderr!.on('data', (b: Buffer) => (text += b.toString()));
      await prefill(port);
      const p0 = await probeLine(t, () => text);
      const r = await runTool(tool, port, cfg, { ...a, ramp: 0 });
      const p1 = await probeLine(t, () => text);
      const n = Math.max(1, r.ios);
      return { promisesPerIo: (p1.promises - p0.promises) / n, gcsPer1kIo: ((p1.gcs - p0.gcs) * 1000) / n, gcMsPer1kIo: ((p1.gcMs - p0.gcMs) * 1000) / n };
    });
    return {
      bench: 'profile',
      date: new Date().toISOString(),
      machine: machineInfo(),
      loadavg: loadavg().map((v) => Math.round(v * 100) / 100),
      job: job.name,
      qd: o.qd,
      seconds: o.seconds,
      pinned,
      run: run!,
      perfStat: stat,
      cpuProfile: prof,
      counts,
    };
  } finally {
    rmSync(profDir, { recursive: true, force: true });
  }
}

export function profileMarkdown(r: ProfileResult): string {
  const lines = [
    `# profile: ${r.job}, QD ${r.qd}, one run of ${r.seconds} s per pass`,
    '',
    `${r.date} — ${describeMachine(r.machine)}; load average ${r.loadavg.join(' ')}${r.pinned ? '; target on CPU 0, client on CPU 1 (busy-polling)' : '; unpinned'}.`,
    '',
    `Timed pass (CPU profiler on): ${formatNumber(r.run.iops, 4)} IOPS, ${formatNumber(r.run.mbps)} MB/s, p50 ${formatNumber(r.run.p50Us)} µs, p99 ${formatNumber(r.run.p99Us)} µs, target CPU ${formatNumber(r.run.targetCpuUsPerIo)} µs per I/O.`,
    '',
  ];
  if (r.perfStat !== null) {
    lines.push(`Per I/O, \`perf stat -p\` on the target over ${r.perfStat.windowS} s of the measured window:`, '');
    lines.push(markdownTable([{ header: 'what' }, { header: 'per I/O', align: 'right' }], Object.entries(r.perfStat.perIo).map(([k, v]) => [k, formatNumber(v, 3)])));
    lines.push('');
  }
  if (r.counts !== null) {
    lines.push(`Counting pass (promise hook preloaded): ${formatNumber(r.counts.promisesPerIo)} promises created per I/O, ${formatNumber(r.counts.gcsPer1kIo)} GCs and ${formatNumber(r.counts.gcMsPer1kIo)} ms of GC per 1000 I/Os.`, '');
  }
  if (r.cpuProfile !== null) {
    const p = r.cpuProfile;
    lines.push(`CPU profile of the measured window (self time, idle excluded; the 1 ms sampler adds its own cost): ${formatNumber(p.totalMs)} ms busy, ${formatNumber(p.perIoUs)} µs per I/O.`, '');
    lines.push(markdownTable([{ header: 'area' }, { header: 'share', align: 'right' }, { header: 'µs per I/O', align: 'right' }], p.areas.map((a) => [a.area, `${formatNumber(a.share * 100, 2)} %`, formatNumber(a.share * p.perIoUs, 2)])));
    lines.push('', 'Top functions by self time:', '');
    lines.push(markdownTable([{ header: 'function' }, { header: 'where' }, { header: 'self ms', align: 'right' }], p.top.map((f) => [f.fn, f.where, formatNumber(f.selfMs)])));
    lines.push('');
  }
  return lines.join('\n');
}

export async function profileBench(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      job: { type: 'string', default: 'rand-read-4k' },
      seconds: { type: 'string', default: '4' },
      qd: { type: 'string', default: '32' },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    console.log(PROFILE_USAGE);
    return 0;
  }
  const seconds = Number(o.seconds);
  const qd = Number(o.qd);
  if (!(seconds >= 2)) throw new RangeError(`--seconds must be ≥ 2, got "${o.seconds}"`);
  if (!(Number.isInteger(qd) && qd >= 1)) throw new RangeError(`--qd must be a positive integer, got "${o.qd}"`);
  const r = await runProfile({ job: o.job, seconds, qd, pin: !o['no-pin'] }, (s) => console.error(s));
  const md = profileMarkdown(r);
  const written = await writeResultFiles(o.out ?? join(repoRoot(), 'bench', 'results'), {
    [`profile-${r.job}.json`]: `${JSON.stringify(r, null, 2)}\n`,
    [`profile-${r.job}.md`]: md,
  });
  console.log(md);
  console.log(`written: ${written.join(', ')}`);
  return 0;
}
