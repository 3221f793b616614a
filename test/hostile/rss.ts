/**
 * RSS of the target under hostile queues (issue 10 part 1): the target runs in a
 * child process (RAM namespace, default TCP limits unless given); the parent
 * opens N hostile controllers (admin queue + one I/O queue of 32 entries each)
 * of one kind and samples the child's RSS:
 *
 *   read128k  — 32 reads of 128 KiB per queue, the host never reads its socket
 *   read2m    — 32 reads of 2 MiB per queue, the host never reads its socket
 *   write2m   — 32 writes of 2 MiB per queue (transport SGL), H2CData never sent
 *
 * Usage: npm run build && node dist/test/hostile/rss.js [--queues 100] [--seconds 5] [--kinds read128k,read2m,write2m]
 *        [--budget-mib N] [--queue-limit-mib N] [--service]
 * --service runs what `nvmet-ts` runs: the service on config/default.json (its 1 GiB RAM namespace,
 * the p2p data path staging in system memory) on 127.0.0.1, ephemeral port; default: the plain core.
 * Prints one line per kind: baseline, peak while hostile, after the hostile hosts left, and the
 * transport's staging accounting (peak bytes staged, bytes still staged after).
 */

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { SUBNQN, startTarget } from '../integration/harness.js';
import { NvmetService } from '../../target/service/index.js';
import { parseConfig } from '../../target/config/index.js';
import { silentLogger } from '../../target/core/log.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import type { TcpTransport } from '../../target/tcp/index.js';
import { writeTcpTransportSgl } from '../../src/nvme/sgl.js';
import { capsule, connectCapsule, enableCapsule, icreq, open } from '../fuzz/tcp-fuzz.js';
import type { Peer } from '../fuzz/tcp-fuzz.js';

const MiB = 1 << 20;

interface Stats {
  rss: number;
  budgetUsed: number;
  budgetPeak: number;
  connections: number;
}

function argv(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

// ------------------------------------------------------------------ child: the target

/** The default configuration on an ephemeral port, through the service with its data path. */
async function service(): Promise<{ tcp: TcpTransport; port: number; subnqn: string }> {
  const cfg = new URL('../../../config/', import.meta.url);
  const doc = JSON.parse(readFileSync(new URL('default.json', cfg), 'utf8')) as { ports: Array<{ addr: { trsvcid: string } }>; subsystems: Array<{ nqn: string }>; topology?: unknown };
  doc.ports[0]!.addr.trsvcid = '0';
  if (typeof doc.topology === 'string') doc.topology = JSON.parse(readFileSync(new URL(doc.topology, cfg), 'utf8')) as unknown;
  const r = parseConfig(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const svc = await NvmetService.start({ config: r.config, logger: silentLogger });
  const tcp = svc.nvmet.transport(TrType.TCP) as TcpTransport;
  return { tcp, port: Number(svc.port(1)!.addr.trsvcid), subnqn: doc.subsystems[0]!.nqn };
}

async function target(): Promise<void> {
  if (process.argv.includes('--service')) {
    const { tcp, port, subnqn } = await service();
    serveStats(tcp);
    process.send!({ port, subnqn });
    return;
  }
  const budget = argv('budget-mib');
  const qlimit = argv('queue-limit-mib');
  const t = await startTarget({
    namespaces: { 1: 64 * MiB },
    tcp: {
      ...(budget !== undefined ? { stagingBudget: Number(budget) * MiB } : {}),
      ...(qlimit !== undefined ? { limits: { queueDataLimit: Number(qlimit) * MiB, queueR2tLimit: Number(qlimit) * MiB } } : {}),
    },
  });
  serveStats(t.nvmet.transport(TrType.TCP) as TcpTransport);
  process.send!({ port: t.tcpPort, subnqn: SUBNQN });
}

function serveStats(tcp: TcpTransport): void {
  process.on('message', (m: unknown) => {
    if (m === 'stats') {
      const s: Stats = { rss: process.memoryUsage.rss(), budgetUsed: tcp.budget.used, budgetPeak: tcp.budget.peak, connections: tcp.connections(1) };
      process.send!(s);
    } else if (m === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send!('gc-done');
    }
  });
}

// ------------------------------------------------------------------ parent: hostile hosts

function ask<T>(c: ChildProcess, what: string): Promise<T> {
  return new Promise((res) => {
    c.once('message', (m) => res(m as T));
    c.send(what);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!pred() && performance.now() < end) await sleep(5);
  return pred();
}

/** Admin + I/O queue (32 entries) of one controller; resolves with both peers once Connect answered. */
async function controller(port: number, subnqn: string): Promise<[Peer, Peer]> {
  const r = (): number => 0;
  const admin = await open(port);
  admin.send(icreq(r, true));
  await sleep(5);
  admin.send(connectCapsule(0, 31, 0xffff, 0, subnqn, 0));
  if (!(await until(() => admin.cntlid >= 0, 5000))) throw new Error('admin Connect not answered');
  admin.send(enableCapsule(1));
  if (!(await until(() => admin.responses >= 2, 5000))) throw new Error('Property Set CC.EN not answered');
  const io = await open(port);
  io.send(icreq(r, true));
  await sleep(5);
  io.send(connectCapsule(1, 31, admin.cntlid, 0, subnqn));
  if (!(await until(() => io.cntlid >= 0, 5000))) throw new Error('I/O Connect not answered');
  return [admin, io];
}

function ioCapsule(opcode: number, cid: number, slba: number, bytes: number): Buffer {
  const sqe = Buffer.alloc(64);
  sqe[0] = opcode;
  sqe[1] = 0x40;
  sqe.writeUInt16LE(cid, 2);
  sqe.writeUInt32LE(1, 4);
  writeTcpTransportSgl(sqe.subarray(24, 40), bytes);
  sqe.writeUInt32LE(slba, 40);
  sqe.writeUInt16LE(bytes / 512 - 1, 48);
  return capsule(sqe, null);
}

const KINDS: Record<string, { opcode: number; bytes: number }> = {
  read128k: { opcode: 0x02, bytes: 128 * 1024 },
  read2m: { opcode: 0x02, bytes: 2 * MiB },
  write2m: { opcode: 0x01, bytes: 2 * MiB },
};

async function measure(kind: string, queues: number, seconds: number): Promise<string> {
  const k = KINDS[kind];
  if (k === undefined) throw new Error(`unknown kind ${kind}`);
  const passOn = (a: string | undefined): boolean => a !== undefined && (a.startsWith('--budget') || a.startsWith('--queue-limit'));
  const extra = process.argv.slice(2).filter((a, i, all) => a === '--service' || passOn(a) || passOn(all[i - 1]));
  const child = fork(fileURLToPath(import.meta.url), ['--target', ...extra], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const { port, subnqn } = await new Promise<{ port: number; subnqn: string }>((res) => child.once('message', (m) => res(m as { port: number; subnqn: string })));
    await sleep(500);
    const base = await ask<Stats>(child, 'stats');
    const peers: Peer[] = [];
    for (let q = 0; q < queues; q++) {
      const [admin, io] = await controller(port, subnqn);
      peers.push(admin, io);
      io.sock.pause(); // never read again
      const b: Buffer[] = [];
      for (let c = 0; c < 32; c++) b.push(ioCapsule(k.opcode, 1 + c, ((q * 32 + c) * (k.bytes / 512)) % (60 * 2048), k.bytes));
      io.send(Buffer.concat(b));
    }
    let peak = base.rss;
    let last = base;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      last = await ask<Stats>(child, 'stats');
      if (last.rss > peak) peak = last.rss;
      await sleep(100);
    }
    for (const p of peers) p.sock.destroy();
    await sleep(1500);
    await ask(child, 'gc');
    await sleep(500);
    const after = await ask<Stats>(child, 'stats');
    const mb = (n: number): string => `${Math.round(n / MiB)} MiB`;
    return (
      `${kind.padEnd(9)} ${queues} queues x 32 x ${k.bytes >= MiB ? `${k.bytes / MiB} MiB` : `${k.bytes / 1024} KiB`}: ` +
      `RSS baseline ${mb(base.rss)}, peak ${mb(peak)} (+${mb(peak - base.rss)}), after disconnect ${mb(after.rss)}; ` +
      `staged peak ${mb(last.budgetPeak)}, staged after ${after.budgetUsed} B, connections while hostile ${last.connections}, after ${after.connections}`
    );
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--target')) {
    await target();
    return;
  }
  const queues = Number(argv('queues') ?? 100);
  const seconds = Number(argv('seconds') ?? 5);
  const kinds = (argv('kinds') ?? 'read128k,read2m,write2m').split(',');
  for (const kind of kinds) console.log(await measure(kind, queues, seconds));
}

main().catch((e: unknown) => {
  console.error((e as Error)?.stack ?? String(e));
  process.exit(1);
});
