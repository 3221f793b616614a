import { describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { adoptWithReader } from '../../target/tcp/accept.js';
import type { SocketReader } from '../../target/tcp/accept.js';

/** A listener whose connections are adopted with a reader that collects what lands in its buffer. */
async function listen(bufSize: number): Promise<{ server: net.Server; port: number; readers: Collector[]; adopted: net.Socket[] }> {
  const readers: Collector[] = [];
  const adopted: net.Socket[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
    const c = new Collector(bufSize);
    const fallback = Buffer.alloc(bufSize);
    c.fallback = fallback;
    let ready: Collector | null = null;
    const s = adoptWithReader(accepted, () => ready, fallback);
    expect(s).not.toBeNull();
    ready = c;
    readers.push(c);
    adopted.push(s!);
    s!.on('end', () => s!.end());
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  return { server, port: (server.address() as net.AddressInfo).port, readers, adopted };
}

class Collector implements SocketReader {
  readonly buf: Buffer;
  fallback: Buffer | null = null;
  readonly got: Buffer[] = [];
  /** Reads that landed somewhere other than the buffers this reader handed out. */
  foreign = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  readBuffer(): Uint8Array {
    return this.buf;
  }
  onRead(n: number, buf: Uint8Array): void {
    if (buf !== this.buf && buf !== this.fallback) this.foreign++;
    this.got.push(Buffer.from(buf.subarray(0, n)));
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 5000;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('adoptWithReader (accepted connections reading into the queue’s buffer)', () => {
  it('delivers every byte in order into the reader’s buffers, and writes still work', async () => {
    const { server, port, readers, adopted } = await listen(4096);
    const c = net.connect({ host: '127.0.0.1', port });
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 11)) & 0xff;
    await new Promise<void>((r) => c.once('connect', () => r()));
    c.write(payload);
    await until(() => readers.length === 1 && Buffer.concat(readers[0]!.got).length === payload.length, 'all bytes');
    const r = readers[0]!;
    expect(Buffer.concat(r.got).equals(payload)).toBe(true);
    expect(r.foreign).toBe(0);
    // 4 KiB buffer: the payload took many reads, each into the same memory
    expect(r.got.length).toBeGreaterThanOrEqual(Math.ceil(payload.length / 4096));
    const back: Buffer[] = [];
    c.on('data', (d: Buffer) => back.push(d));
    adopted[0]!.write(Buffer.from('pong'));
    await until(() => Buffer.concat(back).toString() === 'pong', 'reply');
    c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('lets server.close() call back once adopted connections are gone (the accepted socket is retired too)', async () => {
    const { server, port, adopted } = await listen(1024);
    const clients = [net.connect({ host: '127.0.0.1', port }), net.connect({ host: '127.0.0.1', port })];
    await until(() => adopted.length === 2, 'two connections');
    let closed = false;
    server.close(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false); // connections still open
    for (const c of clients) c.end();
    await until(() => closed, 'server close callback');
    expect(adopted.every((s) => s.destroyed)).toBe(true);
  });

  it('reports the peer address of the adopted connection', async () => {
    const { server, port, adopted } = await listen(1024);
    const c = net.connect({ host: '127.0.0.1', port });
    await until(() => adopted.length === 1, 'connection');
    await until(() => adopted[0]!.remotePort !== undefined, 'peer address');
    expect(adopted[0]!.remoteAddress).toBe('127.0.0.1');
    expect(adopted[0]!.remotePort).toBe(c.localPort);
    c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
