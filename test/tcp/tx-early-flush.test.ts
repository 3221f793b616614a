/**
 * TxQueue: completions of small I/Os leave before the end of the event-loop turn once 16
 * are queued (the host refills its queue while the rest of the turn runs); read payload
 * and large I/Os keep one write per turn. Over a real loopback socket: what reached the
 * socket during the synchronous turn is what the early flush wrote.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TxQueue, type Releasable } from '../../target/tcp/tx.js';

let server: Server | null = null;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server !== null) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

/** A connected pair: [target side, host side]; the host side collects what it receives. */
async function pair(): Promise<{ target: Socket; received: () => Buffer }> {
  const chunks: Buffer[] = [];
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer((s) => resolve(s));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const host = connect((server!.address() as AddressInfo).port, '127.0.0.1');
  host.on('data', (d: Buffer) => chunks.push(d));
  const target = await accepted;
  sockets.push(host, target);
  return { target, received: () => Buffer.concat(chunks) };
}

class Counted implements Releasable {
  static released = 0;
  released(): void {
    Counted.released++;
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Queue `n` completions in one synchronous turn: a 24-byte header each, plus `payload` bytes, for commands that moved `io` bytes. */
function queue(tx: TxQueue, n: number, payload: number, io: number, tag: number): void {
  for (let i = 0; i < n; i++) {
    const o = tx.reserve(24);
    tx.buf.fill(tag + i, o, o + 24);
    tx.commit(24);
    if (payload > 0) tx.payload(new Uint8Array(payload).fill(tag + i));
    tx.releaseAfterWrite(new Counted(), io);
  }
}

describe('TxQueue early flush of small-I/O completions', () => {
  it('16 completions of 4 KiB writes go out within the turn; the rest at its end; order and releases intact', async () => {
    const { target, received } = await pair();
    const tx = new TxQueue(target, () => {});
    Counted.released = 0;
    queue(tx, 20, 0, 4096, 1);
    expect(target.bytesWritten).toBe(16 * 24); // before the turn ended
    await until(() => received().length === 20 * 24);
    const got = received();
    for (let i = 0; i < 20; i++) expect(got[i * 24]).toBe(1 + i);
    await until(() => Counted.released === 20);
  });

  it('read completions carrying payload, and completions of large I/Os, wait for the end of the turn', async () => {
    const { target, received } = await pair();
    const tx = new TxQueue(target, () => {});
    queue(tx, 20, 4096, 4096, 1); // 4 KiB reads: payload on the wire
    expect(target.bytesWritten).toBe(0);
    await until(() => received().length === 20 * (24 + 4096));
    queue(tx, 20, 0, 128 * 1024, 50); // 128 KiB writes: bandwidth-bound, one write per turn
    expect(target.bytesWritten).toBe(20 * (24 + 4096));
    await until(() => received().length === 20 * (24 + 4096) + 20 * 24);
  });
});
