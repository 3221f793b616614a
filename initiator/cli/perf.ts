/** `perf`: closed-loop load (fio-like) printing IOPS, MB/s and latency percentiles. */
import { parseArgs } from 'node:util';
import { connect } from '../index.js';
import { parseSize, runPerf } from '../perf.js';
import type { PerfOptions, PerfResult } from '../perf.js';
import { CONNECTION_USAGE, UsageError, connectOptionsFrom, connectionOptions, intArg, nsidArg, nsidOption, toJson } from './common.js';
import type { CliIo } from './common.js';

export const PERF_USAGE = `Usage: nvmet-ts-initiator perf -n NQN [--bs 4k|128k|1m] [--qd N] [--queues N] [--time S | --ios N]
                                [--pattern seq|rand] [--rw read|write] [options]

      --nsid N           namespace id (default 1)
      --bs SIZE          I/O size (default 4k)
      --qd N             outstanding I/Os per queue (default 32)
      --queues N         I/O queues (TCP connections) (default 1)
      --time S           seconds to run (default 5)
      --ios N            stop after N I/Os
      --pattern P        seq or rand (default rand)
      --rw RW            read or write (default read)
      --warmup S         seconds of warm-up not measured (default 0)
      --force-r2t        writes always via R2T/H2CData

${CONNECTION_USAGE}`;

export function perfTable(r: PerfResult): string {
  return [
    `${r.rw} ${r.pattern} bs=${r.bs} qd=${r.qd} queues=${r.queues}: ${r.ios} I/Os in ${(r.elapsedMs / 1000).toFixed(2)} s`,
    `  IOPS      ${Math.round(r.iops)}`,
    `  MB/s      ${r.mbps.toFixed(1)} (${r.mibps.toFixed(1)} MiB/s)`,
    `  lat (us)  mean ${r.latencyUs.mean.toFixed(1)}  p50 ${r.latencyUs.p50.toFixed(1)}  p99 ${r.latencyUs.p99.toFixed(1)}  p99.9 ${r.latencyUs.p999.toFixed(1)}  max ${r.latencyUs.max.toFixed(1)}`,
  ].join('\n');
}

export async function perfCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...connectionOptions,
      ...nsidOption,
      bs: { type: 'string', default: '4k' },
      qd: { type: 'string', default: '32' },
      queues: { type: 'string', default: '1' },
      time: { type: 'string' },
      ios: { type: 'string' },
      pattern: { type: 'string', default: 'rand' },
      rw: { type: 'string', default: 'read' },
      warmup: { type: 'string', default: '0' },
      'force-r2t': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.out(PERF_USAGE);
    return 0;
  }
  const pattern = values.pattern;
  if (pattern !== 'seq' && pattern !== 'rand') throw new UsageError('--pattern must be seq or rand');
  const rw = values.rw;
  if (rw !== 'read' && rw !== 'write') throw new UsageError('--rw must be read or write');
  let bs: number;
  try {
    bs = parseSize(values.bs);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const qd = intArg(values.qd, 'qd', 1, 65535);
  const queues = intArg(values.queues, 'queues', 1, 1024);
  const timeS = values.time === undefined ? undefined : Number(values.time);
  if (timeS !== undefined && !(timeS > 0)) throw new UsageError('--time must be a positive number of seconds');
  const ios = values.ios === undefined ? undefined : intArg(values.ios, 'ios', 1);
  const warm = Number(values.warmup);
  if (!(warm >= 0)) throw new UsageError('--warmup must be ≥ 0');
  const ctrl = await connect({ ...connectOptionsFrom(values), queues, queueDepth: qd });
  try {
    const o: PerfOptions = { nsid: nsidArg(values.nsid), bs, qd, pattern, rw, warmupMs: warm * 1000 };
    if (ios !== undefined) o.ios = ios;
    if (timeS !== undefined) o.timeMs = timeS * 1000;
    else if (ios === undefined) o.timeMs = 5000;
    if (values['force-r2t'] === true) o.forceR2T = true;
    const r = await runPerf(ctrl, o);
    io.out(values.json ? toJson(r) : perfTable(r));
    return 0;
  } finally {
    await ctrl.close();
  }
}
