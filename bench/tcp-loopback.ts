/**
 * Issue-2 bench: the TypeScript initiator driving the nvmet-ts target over
 * NVMe/TCP on loopback, RAM namespace, next to a raw Node TCP stream of
 * 128 KiB writes measured in the same run — received both the plain way
 * ('data' events) and into one reused buffer (`onread`, as the initiator does),
 * so the ratio can be read against either.
 *
 * Cells (each bounded to --seconds): raw stream 128 KiB, seq write 128 KiB
 * QD32, seq read 128 KiB QD32, random read 4 KiB QD32, on one I/O queue,
 * interleaved over --rounds rounds (medians reported: loopback throughput on a
 * shared 2-core box is noisy). CPU time per I/O of each process is reported
 * too: it is far less sensitive to neighbours than MB/s.
 * Modes: "inproc" (target and initiator share one event loop) and "child"
 * (the target — or the raw stream's sender — runs in a child process, so each
 * side has its own core on a 2-core box: the more honest number).
 *
 * Run: npm run build && node dist/bench/run.js tcp [--seconds 3] [--mode both]
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '../initiator/index.js';
import { runPerf } from '../initiator/perf.js';
import { median } from './report/stats.js';
import { createNvmet } from '../target/create-nvmet.js';
import { createLogger } from '../target/core/log.js';
import { TcpTransport } from '../target/tcp/index.js';
import { TrType } from '../target/core/fabrics-ops.js';

export const TCP_LOOPBACK_USAGE = `Usage: node dist/bench/run.js tcp [options]

  --seconds S     measured seconds per cell and round (default 2)
  --rounds N      rounds; cells are interleaved per round, medians reported (default 3)
  --warmup S      unmeasured warm-up per cell (default 0.5)
  --mode M        inproc | child | both (default both)
  --qd N          queue depth (default 32)
  --ns-mib N      RAM namespace size, MiB (default 256)
  --hdgst         header digests on
  --ddgst         data digests on
  --sqflow-off    disable SQ flow control at Connect (reads end on C2HData SUCCESS)
  --json          print only the JSON result`;

const SUBNQN = 'nqn.2024-01.io.nvmet-ts:bench';
const RAW_CHUNK = 128 * 1024;

type Mode = 'inproc' | 'child';

/** One measurement of one cell. */
interface Sample {
  mbps: number;
  iops: number;
  latUs: { p50: number; p99: number; mean: number } | null;
  /** CPU time per I/O (per 128 KiB chunk for the raw stream), µs: this process and the child (child mode). */
  cpuUsPerIo: { initiator: number; target: number | null };
}

/** A cell over all rounds: medians plus the spread. */
interface CellResult {
  mode: Mode;
  cell: Cell;
  bs: number;
  qd: number;
  rounds: number;
  mbps: number;
  mbpsMin: number;
  mbpsMax: number;
  iops: number;
  latUs: { p50: number; p99: number; mean: number } | null;
  cpuUsPerIo: { initiator: number; target: number | null };
  samples: Sample[];
}

// ------------------------------------------------------------------ target side (either process)

interface RunningTarget {
  port: number;
  stop(): Promise<void>;
}

async function startTarget(nsBytes: number): Promise<RunningTarget> {
  const quiet = createLogger('error', 'text');
  const nvmet = createNvmet({ logger: quiet });
  nvmet.registerTransport(new TcpTransport({ logger: quiet }));
  const sub = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true, model: 'nvmet-ts bench' });
  await sub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: nsBytes }, blockSize: 512 }).enable();
  const port = nvmet.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
  port.addSubsystem(sub);
  await port.enable();
  return { port: Number(port.addr.trsvcid), stop: () => nvmet.shutdown() };
}

/** A TCP server that streams 128 KiB writes to whoever connects, as fast as the socket drains. */
function startRawSource(): Promise<{ port: number; stop(): Promise<void> }> {
  const chunk = Buffer.alloc(RAW_CHUNK, 0xa5);
  const server = net.createServer({ noDelay: true }, (s) => {
    let open = true;
    s.on('error', () => (open = false));
    s.on('close', () => (open = false));
    const pump = (): void => {
      while (open && s.write(chunk));
      if (open) s.once('drain', pump);
    };
    pump();
  });
  return new Promise((resolve) => {
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        stop: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            // Connections are ended by the client; close() resolves once they are gone.
          }),
      });
    });
  });
}

/**
 * Receive from a raw source for `ms` after `warmMs`; MB/s (1e6) as seen by the
 * receiver. Plain: 'data' events (a fresh buffer per read, what most Node code
 * does). `onread`: reads into one reused buffer, as the initiator's queues do.
 */
function measureRawStream(port: number, warmMs: number, ms: number, onread = false): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let measuring = false;
    let t0 = 0;
    const s = onread
      ? net.connect({
          host: '127.0.0.1',
          port,
          noDelay: true,
          onread: {
            buffer: Buffer.allocUnsafeSlow(256 * 1024),
            callback: (n: number): boolean => {
              if (measuring) bytes += n;
              return true;
            },
          },
        })
      : net.connect({ host: '127.0.0.1', port, noDelay: true });
    if (!onread) {
      s.on('data', (d: Buffer) => {
        if (measuring) bytes += d.length;
      });
    }
    s.on('error', reject);
    s.once('connect', () => {
      setTimeout(() => {
        measuring = true;
        t0 = performance.now();
        setTimeout(() => {
          const secs = (performance.now() - t0) / 1000;
          measuring = false;
          s.destroy();
          resolve(bytes / secs / 1e6);
        }, ms);
      }, warmMs);
    });
  });
}

// ------------------------------------------------------------------ child process entry

interface ChildReady {
  ready: true;
  targetPort: number;
  rawPort: number;
}

async function childMain(nsBytes: number): Promise<void> {
  const t = await startTarget(nsBytes);
  const raw = await startRawSource();
  const ready: ChildReady = { ready: true, targetPort: t.port, rawPort: raw.port };
  process.send?.(ready);
  const stop = async (): Promise<void> => {
    await t.stop();
    process.exit(0);
  };
  process.on('message', (m) => {
    if (m === 'stop') void stop();
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => void stop());
}

function spawnChild(nsBytes: number): Promise<{ child: ChildProcess; ready: ChildReady }> {
  const file = fileURLToPath(import.meta.url);
  const child = fork(file, ['--bench-child', String(nsBytes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill();
      reject(new Error('bench child did not start within 10 s'));
    }, 10_000);
    child.once('message', (m) => {
      clearTimeout(t);
      resolve({ child, ready: m as ChildReady });
    });
    child.setMaxListeners(100);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`bench child exited early (code ${code})`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.send('stop');
  });
}

// ------------------------------------------------------------------ the bench

interface BenchConfig {
  seconds: number;
  warmup: number;
  rounds: number;
  qd: number;
  nsBytes: number;
  hdgst: boolean;
  ddgst: boolean;
  /** Connect with SQ flow control disabled: reads complete on C2HData SUCCESS, no CapsuleResp. */
  sqflowOff: boolean;
}

const CELLS = ['raw-stream-128k', 'raw-stream-128k-onread', 'seq-write-128k', 'seq-read-128k', 'rand-read-4k'] as const;
type Cell = (typeof CELLS)[number];

/** CPU seconds (user+sys) of this process, and of the child when there is one. */
type CpuProbe = () => Promise<{ self: number; child: number | null }>;

function cpuProbe(child: ChildProcess | null): CpuProbe {
  return async () => {
    const me = process.cpuUsage();
    let other: number | null = null;
    if (child !== null) {
      other = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('bench child did not report CPU usage')), 5000);
        const onMsg = (m: unknown): void => {
          if (typeof m === 'object' && m !== null && 'cpu' in m) {
            clearTimeout(t);
            child.off('message', onMsg);
            const u = (m as { cpu: NodeJS.CpuUsage }).cpu;
            resolve((u.user + u.system) / 1e6);
          }
        };
        child.on('message', onMsg);
        child.send('cpu');
      });
    }
    return { self: (me.user + me.system) / 1e6, child: other };
  };
}

async function withCpu<T>(probe: CpuProbe, f: () => Promise<T>): Promise<{ r: T; self: number; child: number | null }> {
  const a = await probe();
  const r = await f();
  const b = await probe();
  return { r, self: b.self - a.self, child: a.child === null || b.child === null ? null : b.child - a.child };
}

async function runMode(mode: Mode, cfg: BenchConfig, log: (s: string) => void): Promise<CellResult[]> {
  let targetPort: number;
  let rawPort: number;
  let cleanup: () => Promise<void>;
  let child: ChildProcess | null = null;
  if (mode === 'inproc') {
    const t = await startTarget(cfg.nsBytes);
    const raw = await startRawSource();
    targetPort = t.port;
    rawPort = raw.port;
    cleanup = async () => {
      await t.stop();
      await raw.stop();
    };
  } else {
    const spawned = await spawnChild(cfg.nsBytes);
    child = spawned.child;
    targetPort = spawned.ready.targetPort;
    rawPort = spawned.ready.rawPort;
    cleanup = () => stopChild(spawned.child);
  }
  const probe = cpuProbe(child);
  const samples = new Map<Cell, Sample[]>(CELLS.map((c) => [c, []]));
  try {
    const warmMs = cfg.warmup * 1000;
    const ms = cfg.seconds * 1000;
    const ctrl = await connect({
      host: '127.0.0.1',
      port: targetPort,
      subnqn: SUBNQN,
      queues: 1,
      queueDepth: cfg.qd,
      hdgst: cfg.hdgst,
      ddgst: cfg.ddgst,
      disableSqFlow: cfg.sqflowOff,
    });
    try {
      const base = { nsid: 1, qd: cfg.qd, timeMs: ms, warmupMs: warmMs };
      const perfSample = async (o: Parameters<typeof runPerf>[1]): Promise<Sample> => {
        const { r, self, child: other } = await withCpu(probe, () => runPerf(ctrl, o));
        // CPU is counted over warm-up too: charge it to every I/O done (measured + warm-up ≈ ios × (1 + warm/run)).
        const ioTotal = r.ios * (1 + (o.warmupMs ?? 0) / Math.max(1, r.elapsedMs));
        return {
          mbps: r.mbps,
          iops: r.iops,
          latUs: { p50: r.latencyUs.p50, p99: r.latencyUs.p99, mean: r.latencyUs.mean },
          cpuUsPerIo: { initiator: (self * 1e6) / ioTotal, target: other === null ? null : (other * 1e6) / ioTotal },
        };
      };
      for (let round = 1; round <= cfg.rounds; round++) {
        // Interleave the cells round by round so a noisy neighbour hits all of them alike.
        log(`[${mode}] round ${round}/${cfg.rounds}: raw stream, seq write 128k, seq read 128k, rand read 4k (QD${cfg.qd})`);
        for (const [cell, onread] of [
          ['raw-stream-128k', false],
          ['raw-stream-128k-onread', true],
        ] as const) {
          const rawS = await withCpu(probe, () => measureRawStream(rawPort, warmMs, ms, onread));
          const chunks = ((rawS.r * 1e6) / RAW_CHUNK) * ((ms + warmMs) / ms) * cfg.seconds;
          samples.get(cell)!.push({
            mbps: rawS.r,
            iops: (rawS.r * 1e6) / RAW_CHUNK,
            latUs: null,
            cpuUsPerIo: { initiator: (rawS.self * 1e6) / chunks, target: rawS.child === null ? null : (rawS.child * 1e6) / chunks },
          });
        }
        samples.get('seq-write-128k')!.push(await perfSample({ ...base, bs: 128 * 1024, pattern: 'seq', rw: 'write' }));
        samples.get('seq-read-128k')!.push(await perfSample({ ...base, bs: 128 * 1024, pattern: 'seq', rw: 'read' }));
        samples.get('rand-read-4k')!.push(await perfSample({ ...base, bs: 4096, pattern: 'rand', rw: 'read' }));
      }
    } finally {
      await ctrl.close();
    }
  } finally {
    await cleanup();
  }
  return CELLS.map((cell): CellResult => {
    const ss = samples.get(cell)!;
    const byMbps = [...ss].sort((a, b) => a.mbps - b.mbps);
    const mid = byMbps[byMbps.length >> 1]!;
    const tgt = ss.map((x) => x.cpuUsPerIo.target).filter((x): x is number => x !== null);
    return {
      mode,
      cell,
      bs: cell === 'rand-read-4k' ? 4096 : 128 * 1024,
      qd: cell.startsWith('raw-') ? 0 : cfg.qd,
      rounds: ss.length,
      mbps: median(ss.map((x) => x.mbps)),
      mbpsMin: byMbps[0]!.mbps,
      mbpsMax: byMbps[byMbps.length - 1]!.mbps,
      iops: median(ss.map((x) => x.iops)),
      latUs: mid.latUs,
      cpuUsPerIo: { initiator: median(ss.map((x) => x.cpuUsPerIo.initiator)), target: tgt.length === 0 ? null : median(tgt) },
      samples: ss,
    };
  });
}

/** Per-round ratio of a cell's MB/s to a raw stream's in the same round, median over rounds. */
function ratioVsRaw(results: CellResult[], mode: Mode, cell: Cell, baseline: Cell = 'raw-stream-128k'): number {
  const raw = results.find((r) => r.mode === mode && r.cell === baseline)!;
  const c = results.find((r) => r.mode === mode && r.cell === cell)!;
  return median(c.samples.map((s, i) => s.mbps / raw.samples[i]!.mbps));
}

function table(results: CellResult[]): string {
  const rows: string[][] = [['mode', 'cell', 'MB/s', '(min..max)', 'IOPS', 'p50 us', 'p99 us', 'cpu us/IO ini', 'tgt', 'vs raw', 'vs onread']];
  for (const r of results) {
    const io = r.cell === 'seq-read-128k' || r.cell === 'seq-write-128k';
    const pct = (baseline: Cell): string => (io ? `${(ratioVsRaw(results, r.mode, r.cell, baseline) * 100).toFixed(0)} %` : '');
    const ratio = pct('raw-stream-128k');
    const ratio2 = pct('raw-stream-128k-onread');
    rows.push([
      r.mode,
      r.cell,
      r.mbps.toFixed(0),
      `${r.mbpsMin.toFixed(0)}..${r.mbpsMax.toFixed(0)}`,
      Math.round(r.iops).toString(),
      r.latUs === null ? '' : r.latUs.p50.toFixed(0),
      r.latUs === null ? '' : r.latUs.p99.toFixed(0),
      r.cpuUsPerIo.initiator.toFixed(1),
      r.cpuUsPerIo.target === null ? (r.mode === 'inproc' ? '(same)' : '') : r.cpuUsPerIo.target.toFixed(1),
      ratio,
      ratio2,
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

export async function tcpLoopbackBench(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '0.5' },
      mode: { type: 'string', default: 'both' },
      qd: { type: 'string', default: '32' },
      'ns-mib': { type: 'string', default: '256' },
      hdgst: { type: 'boolean', default: false },
      ddgst: { type: 'boolean', default: false },
      'sqflow-off': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(TCP_LOOPBACK_USAGE);
    return 0;
  }
  const cfg: BenchConfig = {
    seconds: Math.min(60, Math.max(0.2, Number(values.seconds))),
    warmup: Math.min(10, Math.max(0, Number(values.warmup))),
    rounds: Math.max(1, Math.min(20, Math.floor(Number(values.rounds)))),
    qd: Math.max(1, Math.min(1024, Math.floor(Number(values.qd)))),
    nsBytes: Math.max(16, Math.min(4096, Math.floor(Number(values['ns-mib'])))) * 1024 * 1024,
    hdgst: values.hdgst,
    ddgst: values.ddgst,
    sqflowOff: values['sqflow-off'],
  };
  if (![cfg.seconds, cfg.warmup, cfg.rounds, cfg.qd, cfg.nsBytes].every(Number.isFinite)) {
    console.error(`bad numeric option\n\n${TCP_LOOPBACK_USAGE}`);
    return 2;
  }
  const modes: Mode[] = values.mode === 'both' ? ['inproc', 'child'] : values.mode === 'inproc' || values.mode === 'child' ? [values.mode] : [];
  if (modes.length === 0) {
    console.error(`--mode must be inproc, child or both\n\n${TCP_LOOPBACK_USAGE}`);
    return 2;
  }
  const log = values.json ? () => {} : (s: string) => console.error(s);
  const results: CellResult[] = [];
  for (const m of modes) results.push(...(await runMode(m, cfg, log)));

  const ratios: Record<string, number> = {};
  const goals: Record<string, { value: number; goal: number; met: boolean }> = {};
  for (const m of modes) {
    const rd = ratioVsRaw(results, m, 'seq-read-128k');
    ratios[`${m}.read128k_vs_raw`] = rd;
    ratios[`${m}.write128k_vs_raw`] = ratioVsRaw(results, m, 'seq-write-128k');
    ratios[`${m}.read128k_vs_raw_onread`] = ratioVsRaw(results, m, 'seq-read-128k', 'raw-stream-128k-onread');
    const r4 = results.find((r) => r.mode === m && r.cell === 'rand-read-4k')!;
    goals[`${m}.read128k_vs_raw`] = { value: rd, goal: 0.7, met: rd >= 0.7 };
    const rdo = ratios[`${m}.read128k_vs_raw_onread`]!;
    goals[`${m}.read128k_vs_raw_onread`] = { value: rdo, goal: 0.7, met: rdo >= 0.7 };
    goals[`${m}.randread4k_iops`] = { value: r4.iops, goal: 100_000, met: r4.iops >= 100_000 };
  }
  const os = await import('node:os');
  const report = {
    bench: 'tcp-loopback',
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
    config: { ...cfg, queues: 1 },
    results,
    ratios,
    goals,
  };
  if (values.json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  console.log(table(results));
  console.log(`(medians of ${cfg.rounds} interleaved rounds of ${cfg.seconds} s; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`);
  console.log('');
  for (const [k, g] of Object.entries(goals)) {
    const v = k.endsWith('iops') ? `${Math.round(g.value)} IOPS` : `${(g.value * 100).toFixed(1)} %`;
    const goal = k.endsWith('iops') ? `${g.goal} IOPS` : `${g.goal * 100} %`;
    console.log(`${k.padEnd(32)} ${v.padStart(14)}  goal ${goal}  ${g.met ? 'met' : 'NOT met'}`);
  }
  console.log(`JSON ${JSON.stringify(report)}`);
  return 0;
}

// Child-process entry: `node tcp-loopback.js --bench-child <nsBytes>`.
if (process.argv[2] === '--bench-child' && (process.argv[1] ?? '').endsWith('tcp-loopback.js')) {
  void childMain(Number(process.argv[3]));
}
