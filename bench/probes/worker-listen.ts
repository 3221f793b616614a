/**
 * Issue 13 item 3, the Node 20 question: how can connections reach several event
 * loops? Run: `node dist/bench/probes/worker-listen.js`. The main thread listens on
 * 127.0.0.1:0, two worker threads listen on the same socket by file descriptor
 * (`server.listen({ fd })`: one socket, every loop's epoll watches it, the kernel
 * wakes them and one accept wins), 40 connections are opened, and each answer names
 * the thread that accepted it; then it tries to hand an accepted socket's handle to
 * a worker (postMessage transfer). Measured on Node v20.20.2 (2026-12-03): accepts
 * spread over all three loops (e.g. main 10, worker 18, worker 12 of 40), and the
 * handle transfer throws "Found invalid object in transferList" — so on Node 20 the
 * workable scheme is a shared listening fd (or SO_REUSEPORT sockets opened by each
 * worker, which Node's `reusePort` listen option only offers from Node 22.12/23.1),
 * not a main thread that accepts and hands sockets over.
 */
import { Worker, isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import * as net from 'node:net';

interface HandleWithFd {
  fd: number;
}

async function main(): Promise<void> {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.end('main\n');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const fd = (srv as unknown as { _handle: HandleWithFd })._handle.fd;
  const workers: Worker[] = [];
  for (let i = 0; i < 2; i++) {
    const w = new Worker(new URL(import.meta.url), { workerData: { fd } });
    workers.push(w);
    await new Promise((r) => w.once('message', r));
  }
  const counts: Record<string, number> = {};
  for (let i = 0; i < 40; i++) {
    const who = await new Promise<string>((res, rej) => {
      const c = net.connect(port, '127.0.0.1');
      let d = '';
      c.setTimeout(5000, () => c.destroy(new Error('timeout')));
      c.on('data', (b: Buffer) => (d += b.toString()));
      c.on('end', () => res(d.trim()));
      c.on('error', rej);
    });
    counts[who] = (counts[who] ?? 0) + 1;
  }
  console.log(`node ${process.version}: 40 connections accepted by`, counts);
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  try {
    workers[0]!.postMessage({ handle: 1 }, [(s as unknown as { _handle: never })._handle]);
    console.log('socket handle transfer to a worker: accepted');
  } catch (e) {
    console.log(`socket handle transfer to a worker: ${(e as Error).message}`);
  }
  s.destroy();
  for (const w of workers) await w.terminate();
  srv.close();
}

if (isMainThread) {
  await main();
} else {
  const srv = net.createServer((s) => {
    s.on('error', () => {}); // the probe's last connection is reset by the client
    s.end(`worker${threadId}\n`);
  });
  srv.listen({ fd: (workerData as { fd: number }).fd }, () => parentPort!.postMessage('listening'));
}
