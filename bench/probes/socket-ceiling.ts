/**
 * Issue 13: how fast can one Node 20 thread put bytes into a loopback TCP socket at
 * all? A sender that does nothing but write ready-made buffers (no NVMe/TCP, no
 * media→staging copy) to a busy-polling C reader, pinned like `bench perf` (sender
 * on CPU 0, reader on CPU 1). Its MB/s bound what the target can serve on one CPU in
 * this runtime; the target's figures are to be read against these, not only against
 * SPDK (whose posix sock layer can send with MSG_ZEROCOPY, which Node's net module
 * cannot). The 4k-arena and 128k-views shapes cycle through up to 64 MiB of buffers, so
 * their sends copy cold memory; the target sends from a hot 64 KiB arena (4 KiB reads).
 *
 *   npm run build && node dist/bench/probes/socket-ceiling.js [--seconds 3]
 *
 * Shapes, each as the target's read responses leave a socket:
 *   128k-views  14 × 128 KiB views per corked write (one writev), as 128 KiB reads
 *   4k-views    32 × 4 KiB separate buffers per corked write
 *   4k-arena    32 × (4 KiB + 24-byte C2HData + 24-byte CapsuleResp) copied into one
 *               buffer per write, as the target's TX arena does for small payloads
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Shape {
  name: string;
  /** bytes per unit (one I/O's payload) */
  unit: number;
  /** units per corked write */
  batch: number;
  /** one contiguous buffer per batch (arena) rather than one buffer per unit */
  contiguous: boolean;
}

const SHAPES: Shape[] = [
  { name: '128k-views', unit: 128 * 1024, batch: 14, contiguous: false },
  { name: '4k-views', unit: 4096, batch: 32, contiguous: false },
  { name: '4k-arena', unit: 4096 + 48, batch: 32, contiguous: true },
];

interface SendResult {
  shape: string;
  mbps: number;
  unitsPerSec: number;
  cpuUsPerUnit: number;
  sysShare: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** Sender: listen, wait for the sink, write for `seconds`, print one JSON line. */
function send(shape: Shape, seconds: number): void {
  const memory = new SharedArrayBuffer(64 * 1024 * 1024);
  const stride = shape.contiguous ? shape.unit * shape.batch : shape.unit;
  const slots = Math.floor(memory.byteLength / stride);
  const bufs: Buffer[] = [];
  for (let i = 0; i < Math.min(slots, 512); i++) bufs.push(Buffer.from(memory, i * stride, stride));
  const srv = createServer((s: Socket) => {
    let units = 0;
    let k = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const pump = (): void => {
      while (performance.now() - t0 < seconds * 1000) {
        s.cork();
        let ok = true;
        if (shape.contiguous) ok = s.write(bufs[k++ % bufs.length]!);
        else for (let i = 0; i < shape.batch; i++) ok = s.write(bufs[k++ % bufs.length]!);
        s.uncork();
        units += shape.batch;
        if (!ok) {
          s.once('drain', pump);
          return;
        }
      }
      const dt = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      const r: SendResult = {
        shape: shape.name,
        mbps: (units * shape.unit) / dt / 1e6,
        unitsPerSec: units / dt,
        cpuUsPerUnit: (cpu.user + cpu.system) / units,
        sysShare: cpu.system / (cpu.user + cpu.system),
      };
      console.log(JSON.stringify(r));
      s.destroy();
      srv.close();
    };
    pump();
  });
  srv.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (srv.address() as AddressInfo).port })));
}

function buildSink(): string {
  const out = join(root, 'bench', 'probes', 'sink');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, join(root, 'bench', 'probes', 'sink.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc sink.c failed: ${r.stderr || r.error?.message}`);
  return out;
}

async function measure(shape: Shape, seconds: number, sink: string): Promise<SendResult> {
  const sender = spawn('taskset', ['-c', '0', process.execPath, fileURLToPath(import.meta.url), '--send', shape.name, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const senderExit = new Promise((r) => sender.once('exit', r));
  const lines: string[] = [];
  let buf = '';
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`sender ${shape.name}: no output`)), (seconds + 20) * 1000);
      const poll = (): void => {
        const l = lines.shift();
        if (l !== undefined) {
          clearTimeout(t);
          resolve(l);
        } else setTimeout(poll, 20);
      };
      poll();
    });
  sender.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const { port } = JSON.parse(await next()) as { port: number };
  const reader = spawn('taskset', ['-c', '1', sink, String(port)], { stdio: 'inherit' });
  const readerExit = new Promise((r) => reader.once('exit', r));
  const result = JSON.parse(await next()) as SendResult;
  await Promise.all([readerExit, senderExit]);
  return result;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--send') {
    const shape = SHAPES.find((s) => s.name === argv[1]);
    if (shape === undefined) throw new Error(`unknown shape ${argv[1]}`);
    send(shape, Number(argv[2]));
    return;
  }
  const si = argv.indexOf('--seconds');
  const seconds = si >= 0 ? Number(argv[si + 1]) : 3;
  if (!(seconds > 0 && seconds <= 60)) throw new Error('--seconds must be in (0, 60]');
  const sink = buildSink();
  console.log(`Node ${process.version}; sender pinned to CPU 0, C reader busy-polling on CPU 1; ${seconds} s per shape`);
  console.log('| shape | MB/s | units/s | sender CPU µs per unit | kernel share of sender CPU |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const shape of SHAPES) {
    const r = await measure(shape, seconds, sink);
    console.log(`| ${r.shape} | ${r.mbps.toFixed(0)} | ${r.unitsPerSec.toFixed(0)} | ${r.cpuUsPerUnit.toFixed(2)} | ${(r.sysShare * 100).toFixed(0)} % |`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
