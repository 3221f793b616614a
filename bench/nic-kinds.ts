/**
 * NIC kinds × staging, side by side on the same fabric (issue 16 item 5), and a provider
 * removal under load.
 *
 *   node dist/bench/run.js nic [--quick] [--time MS] [--bs BYTES] [--json]
 *
 * Part 1: the default JBOF with its NIC declared as each kind — rdma (over the simulated
 * RDMA transport), tcp-ddp and tcp (over NVMe/TCP) — and each staging (system memory,
 * p2pmem); a closed-loop write then read run per cell from the TypeScript initiator.
 * Reported per payload byte: root-complex bytes, DRAM bytes, CPU MMIO bytes (p2pmem
 * accessed by the CPU), and the link model's projected throughput (the busiest link
 * direction per payload byte against its bandwidth; MMIO is counted, not timed — see the
 * README's "What the model simplifies"). Emulator MB/s is shown too: it is this machine's
 * JavaScript speed, not the hardware's.
 *
 * Part 2: tcp-ddp, p2pmem, 8 writers+readers with verification; after a third of the run
 * the port's provider is hot-removed in dmabuf mode (move_notify); I/O rate before,
 * during (until the removal completed) and after, and the retryable failures retried.
 */

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import type { Nvmet } from '../target/core/nvmet.js';
import { createNvmet } from '../target/create-nvmet.js';
import { TrType } from '../target/core/fabrics-ops.js';
import { TcpTransport } from '../target/tcp/index.js';
import { RdmaTransport } from '../target/rdma/transport.js';
import { createLogger, type Logger } from '../target/core/log.js';
import { P2pDataPath } from '../target/p2p/data-path.js';
import { connect } from '../initiator/index.js';
import { NvmeError } from '../initiator/errors.js';
import { runPerf, type PerfResult } from '../initiator/perf.js';
import { RdmaController } from '../initiator/rdma/controller.js';
import { builtinTopologyPath } from '../src/pci/load.js';
import { parseTopologyOrThrow } from '../src/pci/parse-topology.js';
import type { NicKind } from '../src/pci/model.js';
import type { DmaCounters } from '../src/copy/link-accounting.js';
import { STATUS_DNR, NvmeStatus } from '../src/nvme/status.js';
import { counterDelta } from './staging/link-classes.js';
import { projectMeasured } from './staging/projection.js';
import { rdmaPerf } from './staging/rdma-host.js';

export const NIC_BENCH_USAGE = `Usage: node dist/bench/run.js nic [--quick] [--time MS] [--bs BYTES] [--json]

NIC kind (rdma | tcp-ddp | tcp) x staging (system | p2pmem) on the default JBOF:
root-complex, DRAM and CPU-MMIO bytes per payload byte and the link model's projected
throughput; then a provider removal (dmabuf move_notify) under load: I/O rate before,
during and after.
  --quick      1 s per cell, 6 s removal run (about a minute in all)
  --time MS    per-cell run length (default 3000; quick 1000)
  --bs BYTES   I/O size (default 131072)
  --json       only the JSON line
`;

const NQN = 'nqn.2024-01.io.nvmet-ts:nic-bench';
const NIC = '0000:03:00.0';
const SSD = '0000:04:00.0';
const QUIET: Logger = createLogger('error', 'text');

interface Rig {
  nvmet: Nvmet;
  dp: P2pDataPath;
  trsvcid: string;
  stop(): Promise<void>;
}

function topologyWith(kind: NicKind) {
  const doc = JSON.parse(readFileSync(builtinTopologyPath('default'), 'utf8')) as { endpoints: { bdf: string; nic?: string }[] };
  for (const e of doc.endpoints) if (e.bdf === NIC) e.nic = kind;
  return parseTopologyOrThrow(doc);
}

async function rig(kind: NicKind, trtype: 'tcp' | 'rdma', p2pmem: boolean, nsBytes: number): Promise<Rig> {
  const dp = new P2pDataPath({ topology: topologyWith(kind), logger: QUIET, workers: 1, random: () => 0 });
  const nvmet = createNvmet({ logger: QUIET, ...dp.coreOptions() });
  nvmet.registerTransport(trtype === 'tcp' ? new TcpTransport({ logger: QUIET }) : new RdmaTransport({ logger: QUIET, mover: dp }));
  const sub = nvmet.addSubsystem({ nqn: NQN, allowAnyHost: true, serial: 'NICBENCH0001' });
  const ns = sub.addNamespace({ nsid: 1, backend: dp.backendFor({ kind: 'ram', size: nsBytes }, { nvme: SSD }), blockSize: 512 });
  await ns.enable();
  dp.configurePort(1, { nic: NIC, allowP2pmem: p2pmem });
  const port = nvmet.addPort({ portId: 1, trtype: trtype === 'tcp' ? TrType.TCP : TrType.RDMA, traddr: '127.0.0.1', trsvcid: '0' });
  port.addSubsystem(sub);
  await port.enable();
  return {
    nvmet,
    dp,
    trsvcid: port.addr.trsvcid,
    stop: async () => {
      await nvmet.shutdown();
      await dp.close();
    },
  };
}

export interface NicCell {
  readonly nic: NicKind;
  readonly transport: 'tcp' | 'rdma';
  readonly staging: 'system' | 'p2pmem';
  readonly rw: 'write' | 'read';
  readonly payloadBytes: number;
  readonly rcPerByte: number;
  readonly dramPerByte: number;
  readonly mmioPerByte: number;
  readonly cpuCopyPerByte: number;
  readonly projectedGBps: number;
  readonly limiting: string | null;
  readonly emulatorMBps: number;
}

async function runCell(kind: NicKind, transport: 'tcp' | 'rdma', staging: 'system' | 'p2pmem', timeMs: number, bs: number): Promise<NicCell[]> {
  const nsBytes = 256 << 20;
  const r = await rig(kind, transport, staging === 'p2pmem', nsBytes);
  const out: NicCell[] = [];
  try {
    let perf: (o: Parameters<typeof runPerf>[1]) => Promise<PerfResult>;
    let close: () => Promise<void>;
    if (transport === 'tcp') {
      const c = await connect({ host: '127.0.0.1', port: Number(r.trsvcid), subnqn: NQN, queues: 1, queueDepth: 16 });
      perf = (o) => runPerf(c, o);
      close = () => c.close();
    } else {
      const c = await RdmaController.connect({ traddr: '127.0.0.1', trsvcid: r.trsvcid, subnqn: NQN, queues: 1, queueDepth: 16 });
      perf = (o) => rdmaPerf(c, o);
      close = () => c.close();
    }
    try {
      for (const rw of ['write', 'read'] as const) {
        const before: DmaCounters = r.dp.accounting.snapshot();
        const p = await perf({ nsid: 1, bs, qd: 8, rw, pattern: 'seq', timeMs, rangeBlocks: nsBytes / 512 });
        const d = counterDelta(before, r.dp.accounting.snapshot());
        const proj = projectMeasured(r.dp.topology, d, p.bytes);
        out.push({
          nic: kind,
          transport,
          staging,
          rw,
          payloadBytes: p.bytes,
          rcPerByte: d.rootComplexBytes / p.bytes,
          dramPerByte: d.dramBytes / p.bytes,
          mmioPerByte: (d.cpu.mmioReadBytes + d.cpu.mmioWriteBytes) / p.bytes,
          cpuCopyPerByte: d.cpu.copyBytes / p.bytes,
          projectedGBps: proj === null ? 0 : proj.bytesPerSec / 1e9,
          limiting: proj?.limiting?.short ?? null,
          emulatorMBps: p.mbps,
        });
      }
    } finally {
      await close();
    }
  } finally {
    await r.stop();
  }
  return out;
}

export interface RemovalRun {
  readonly windowMs: number;
  /** Completed verified write+read pairs per second in each window. */
  readonly rates: readonly number[];
  readonly before: number;
  readonly during: number;
  readonly after: number;
  readonly removalMs: number;
  readonly retried: number;
  readonly revokedCommands: number;
  readonly providerAfter: string | null;
  readonly verifiedBytes: number;
}

async function removalUnderLoad(totalMs: number, bs: number): Promise<RemovalRun> {
  const r = await rig('tcp-ddp', 'tcp', true, 64 << 20);
  const c = await connect({ host: '127.0.0.1', port: Number(r.trsvcid), subnqn: NQN, queues: 2, queueDepth: 16 });
  const t0 = performance.now();
  const stamps: number[] = [];
  let retried = 0;
  let verified = 0;
  let removalStart = 0;
  let removalEnd = 0;
  const retry = async <T>(op: () => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await op();
      } catch (e) {
        if (e instanceof NvmeError && (e.status & 0x7ff) === NvmeStatus.TransientTransportError && (e.status & STATUS_DNR) === 0 && i < 5) {
          retried++;
          continue;
        }
        throw e;
      }
    }
  };
  try {
    const removal = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        removalStart = performance.now() - t0;
        r.dp.removeProvider(SSD, 'dmabuf').then(() => {
          removalEnd = performance.now() - t0;
          resolve();
        }, reject);
      }, totalMs / 3);
    });
    const worker = async (w: number): Promise<void> => {
      const data = new Uint8Array(bs);
      for (let i = 0; performance.now() - t0 < totalMs; i++) {
        const lba = ((w * 64 + (i % 64)) * bs) / 512;
        data.fill((w * 31 + i) & 0xff);
        await retry(() => c.write(1, lba, data));
        const back = await retry(() => c.read(1, lba, bs / 512));
        if (back[0] !== data[0] || back[bs - 1] !== data[bs - 1] || !Buffer.from(back).equals(Buffer.from(data))) throw new Error(`verify failed at lba ${lba}`);
        verified += bs;
        stamps.push(performance.now() - t0);
      }
    };
    await Promise.all([...Array(8).keys()].map(worker));
    await removal;
  } finally {
    await c.close();
  }
  const st = r.dp.portState(1)!;
  const revoked = r.dp.state().lifecycle.revokedCommands;
  await r.stop();
  const windowMs = 250;
  const rates: number[] = [];
  for (let w = 0; w * windowMs < totalMs; w++) rates.push((stamps.filter((s) => s >= w * windowMs && s < (w + 1) * windowMs).length * 1000) / windowMs);
  const rate = (a: number, b: number): number => (b > a ? (stamps.filter((s) => s >= a && s < b).length * 1000) / (b - a) : 0);
  // "during" is at least one window wide: the removal itself may take well under a millisecond.
  const dEnd = Math.max(removalEnd, removalStart + windowMs);
  return {
    windowMs,
    rates,
    before: rate(0, removalStart),
    during: rate(removalStart, dEnd),
    after: rate(dEnd, totalMs),
    removalMs: removalEnd - removalStart,
    retried,
    revokedCommands: revoked,
    providerAfter: st.provider,
    verifiedBytes: verified,
  };
}

export async function nicKindsBench(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: { quick: { type: 'boolean' }, time: { type: 'string' }, bs: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (v.help) {
    console.log(NIC_BENCH_USAGE);
    return 0;
  }
  const timeMs = v.time !== undefined ? Number(v.time) : v.quick ? 1000 : 3000;
  const bs = v.bs !== undefined ? Number(v.bs) : 128 * 1024;
  if (!(timeMs > 0) || !(bs >= 512) || bs % 512 !== 0) {
    console.error(`--time must be > 0 and --bs a multiple of 512\n\n${NIC_BENCH_USAGE}`);
    return 2;
  }
  const cells: NicCell[] = [];
  const configs: [NicKind, 'tcp' | 'rdma'][] = [['rdma', 'rdma'], ['tcp-ddp', 'tcp'], ['tcp', 'tcp']];
  for (const [kind, tr] of configs) for (const staging of ['system', 'p2pmem'] as const) cells.push(...(await runCell(kind, tr, staging, timeMs, bs)));
  const removal = await removalUnderLoad(v.quick ? 6000 : 15000, 64 * 1024);
  const json = { bench: 'nic', bs, timeMs, cells, removal };
  if (!v.json) {
    const f = (n: number): string => n.toFixed(2);
    console.log(`NIC kind x staging, default JBOF (same fabric), ${bs / 1024} KiB seq I/O, qd 8, ${timeMs} ms per cell (shared machine: emulator MB/s is noisy; per-byte counts are exact)`);
    console.log('nic      transport staging rw     RC/B  DRAM/B MMIO/B CPUcopy/B projected GB/s (limiting link)          emulator MB/s');
    for (const c of cells) {
      console.log(
        `${c.nic.padEnd(8)} ${c.transport.padEnd(9)} ${c.staging.padEnd(7)} ${c.rw.padEnd(5)} ${f(c.rcPerByte).padStart(5)} ${f(c.dramPerByte).padStart(6)} ${f(c.mmioPerByte).padStart(6)} ${f(c.cpuCopyPerByte).padStart(9)} ${f(c.projectedGBps).padStart(6)} (${c.limiting ?? '-'})`.padEnd(100) + ` ${c.emulatorMBps.toFixed(0)}`,
      );
    }
    console.log(`MMIO bytes are counted, not timed, in the projection (an uncached MMIO read is much slower than a DMA on real hardware).`);
    console.log(`\nprovider removal under load (tcp-ddp, p2pmem, 8 verified writers/readers, 64 KiB): ${removal.rates.length * removal.windowMs} ms, dmabuf removal of ${SSD} at ${(removal.rates.length * removal.windowMs) / 3} ms`);
    console.log(`  write+read pairs/s: before ${removal.before.toFixed(0)}, during ${removal.during.toFixed(0)}, after ${removal.after.toFixed(0)}; removal took ${removal.removalMs.toFixed(1)} ms; ${removal.revokedCommands} commands failed retryably (Transient Transport Error), ${removal.retried} retries; provider after: ${removal.providerAfter ?? 'system memory'}; ${(removal.verifiedBytes / 2 ** 20).toFixed(0)} MiB verified`);
    console.log(`  per ${removal.windowMs} ms window: ${removal.rates.map((x) => x.toFixed(0)).join(' ')}`);
  }
  console.log(`JSON ${JSON.stringify(json)}`);
  return 0;
}
