/**
 * Bounded resources and timeouts of the NVMe/TCP port (issue 10 parts 1-2), over
 * real sockets: command slots bounded by the queue size, reads held back when the
 * host does not read, R2T buffers bounded per queue and overall, the ICReq /
 * Connect / PDU timeouts and the per-port connection cap. Limits are configured
 * small so every test is quick and bounded.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { TcpTransport } from '../../target/tcp/index.js';
import type { TcpTransportOptions } from '../../target/tcp/index.js';
import { Fes, PduType } from '../../src/tcp/index.js';
import { RawHost, RamCore, ioSqe, OPC_HOLD, OPC_READ, OPC_WRITE, SGL_TRANSPORT, cqeStatus, pattern, BLOCK } from './raw-host.js';
import type { RxPdu } from './raw-host.js';

interface Logged {
  warn: string[];
}

const open: Array<{ tcp: TcpTransport; hosts: RawHost[] }> = [];

async function setup(o: TcpTransportOptions = {}, core = new RamCore()): Promise<{ tcp: TcpTransport; core: RamCore; port: number; log: Logged; host: () => Promise<RawHost> }> {
  const log: Logged = { warn: [] };
  const logger = { debug() {}, info() {}, warn: (m: string) => log.warn.push(m), error() {} };
  const tcp = new TcpTransport({ logger, ...o });
  const r = await tcp.addPort({ portId: 1, traddr: '127.0.0.1', trsvcid: '0', inlineDataSize: 16384 }, core);
  const port = Number(r.trsvcid);
  const entry = { tcp, hosts: [] as RawHost[] };
  open.push(entry);
  const host = async (): Promise<RawHost> => {
    const h = await RawHost.connect(port);
    entry.hosts.push(h);
    return h;
  };
  return { tcp, core, port, log, host };
}

afterEach(async () => {
  for (const e of open.splice(0)) {
    for (const h of e.hosts) h.end();
    await e.tcp.removePort(1);
  }
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Capsule (no in-capsule data) of `sqe`, as raw bytes. */
function capsuleBytes(sqe: Buffer): Buffer {
  const b = Buffer.alloc(72);
  b[0] = PduType.CapsuleCmd;
  b[2] = 72;
  b.writeUInt32LE(72, 4);
  sqe.copy(b, 8);
  return b;
}

async function waitFor(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

/** How long until `h` is closed by the target (bounded by `ms`). */
async function closedWithin(h: RawHost, ms: number): Promise<number> {
  const t0 = performance.now();
  await h.until(() => h.closed, 'close by the target', ms);
  return performance.now() - t0;
}

describe('command slots: 2 × the negotiated queue size (Linux nvmet_tcp_install_queue)', () => {
  it('the command past 2 × SQSIZE gets C2HTermReq PDU Sequence Error and the connection closes', async () => {
    const core = new RamCore();
    core.queueSize = 4;
    const { host } = await setup({}, core);
    const h = await host();
    await h.ic();
    // 8 commands that the core holds: all accepted
    h.send(Buffer.concat(Array.from({ length: 8 }, (_, i) => capsuleBytes(ioSqe(OPC_HOLD, 10 + i, 0, 1, SGL_TRANSPORT)))));
    await waitFor(() => core.inits === 8, '8 commands in the core');
    await sleep(50);
    expect(h.closed).toBe(false);
    h.send(capsuleBytes(ioSqe(OPC_HOLD, 99, 0, 1, SGL_TRANSPORT)));
    const t = await h.termReq();
    expect(t.header.readUInt16LE(8)).toBe(Fes.PduSequenceError);
    // the TermReq carries the offending capsule's header: the 9th command
    expect(t.data.readUInt16LE(8 + 2)).toBe(99);
    await h.until(() => h.closed, 'close');
    expect(core.inits).toBe(8);
    await waitFor(() => core.released === 8, 'every request released');
  });

  it('before Connect sized the queue, only the Connect command has a slot', async () => {
    const core = new RamCore();
    core.qid = -1;
    core.queueSize = 0;
    const { host } = await setup({}, core);
    const h = await host();
    await h.ic();
    h.send(capsuleBytes(ioSqe(OPC_HOLD, 1, 0, 1, SGL_TRANSPORT)));
    h.send(capsuleBytes(ioSqe(OPC_HOLD, 2, 0, 1, SGL_TRANSPORT)));
    const t = await h.termReq();
    expect(t.header.readUInt16LE(8)).toBe(Fes.PduSequenceError);
    expect(core.inits).toBe(1);
  });
});

describe('back-pressure before execution', () => {
  it('a host that does not read: reads stop executing at queue_data_limit, all complete once it reads', async () => {
    const MiB = 1 << 20;
    const { tcp, core, host } = await setup({ limits: { queueDataLimit: 4 * MiB } });
    core.disk.set(pattern(core.disk.length, 5));
    const h = await host();
    await h.ic();
    h.sock.pause(); // stop reading: the kernel's socket buffers fill, then nothing drains
    const n = 32;
    const blocks = (2 * MiB) / BLOCK;
    h.send(Buffer.concat(Array.from({ length: n }, (_, i) => capsuleBytes(ioSqe(OPC_READ, i, (i % 4) * blocks, blocks, SGL_TRANSPORT)))));
    await waitFor(() => tcp.queueStats(1).some((q) => q.deferredCommands > 0), 'reads deferred');
    await sleep(300);
    // loopback socket buffers take some MiB; past that, at most queue_data_limit is staged
    expect(core.executed).toBeLessThan(n / 2);
    expect(tcp.budget.peak).toBeLessThanOrEqual(4 * MiB);
    const stats = tcp.queueStats(1);
    expect(stats[0]!.stagedBytes).toBeLessThanOrEqual(4 * MiB);
    h.sock.resume();
    await h.until(() => h.pdus.filter((p) => p.type === PduType.CapsuleResp).length === n, `${n} responses`, 20000);
    for (let i = 0; i < n; i++) {
      const parts = h.pdus.filter((p) => p.type === PduType.C2HData && p.header.readUInt16LE(8) === i);
      const got = Buffer.concat(parts.map((p) => p.data));
      const off = (i % 4) * 2 * MiB;
      expect(got.equals(Buffer.from(core.disk.subarray(off, off + 2 * MiB)))).toBe(true);
    }
    expect(h.pdus.filter((p) => p.type === PduType.CapsuleResp).every((p) => cqeStatus(p) === 0)).toBe(true);
    await waitFor(() => tcp.budget.used === 0, 'budget returned');
  });

  it('writes whose data never comes: R2Ts stop at queue_r2t_limit; the rest follow as data arrives', async () => {
    const MiB = 1 << 20;
    const { tcp, core, host } = await setup({ limits: { queueR2tLimit: 4 * MiB } });
    const h = await host();
    await h.ic();
    const n = 16;
    const blocks = (2 * MiB) / BLOCK;
    h.send(Buffer.concat(Array.from({ length: n }, (_, i) => capsuleBytes(ioSqe(OPC_WRITE, i, (i % 4) * blocks, blocks, SGL_TRANSPORT)))));
    await h.until(() => h.pdus.filter((p) => p.type === PduType.R2T).length >= 2, 'R2Ts');
    await sleep(300);
    const r2tCids = new Set(h.pdus.filter((p) => p.type === PduType.R2T).map((p) => p.header.readUInt16LE(8)));
    expect(r2tCids.size).toBe(2);
    expect(tcp.budget.r2tUsed).toBe(4 * MiB);
    expect(tcp.queueStats(1)[0]!.deferredCommands).toBe(n - 2);
    // now answer every R2T (each names its window: offset at 12, length at 16)
    const answered = new Set<number>();
    const data = (cid: number): Buffer => pattern(2 * MiB, 100 + cid);
    while (h.pdus.filter((p) => p.type === PduType.CapsuleResp).length < n) {
      await h.until(() => h.pdus.some((p, i) => p.type === PduType.R2T && !answered.has(i)) || h.pdus.filter((p) => p.type === PduType.CapsuleResp).length === n, 'R2T', 10000);
      h.pdus.forEach((p: RxPdu, i) => {
        if (p.type !== PduType.R2T || answered.has(i)) return;
        answered.add(i);
        const cid = p.header.readUInt16LE(8);
        const ttag = p.header.readUInt16LE(10);
        const off = p.header.readUInt32LE(12);
        const len = p.header.readUInt32LE(16);
        h.h2cData(cid, ttag, off, data(cid).subarray(off, off + len), true);
      });
    }
    expect(h.pdus.filter((p) => p.type === PduType.CapsuleResp).every((p) => cqeStatus(p) === 0)).toBe(true);
    await waitFor(() => tcp.budget.used === 0, 'budget returned');
    expect(tcp.budget.r2tPeak).toBe(4 * MiB);
    // the last write to each 2 MiB range (cids 12..15) is what the disk holds
    for (let r = 0; r < 4; r++) expect(Buffer.from(core.disk.subarray(r * 2 * MiB, (r + 1) * 2 * MiB)).equals(data(12 + r))).toBe(true);
  });

  it('the staging budget is shared by all connections, logged when it bites, and returned at disconnect', async () => {
    const MiB = 1 << 20;
    const { tcp, core, host, log } = await setup({ stagingBudget: 4 * MiB, stagingReserve: 2 * MiB, limits: { queueDataLimit: 64 * MiB } });
    core.disk.set(pattern(core.disk.length, 7));
    const hostile = await host();
    await hostile.ic();
    hostile.sock.pause();
    const blocks = MiB / BLOCK;
    hostile.send(Buffer.concat(Array.from({ length: 48 }, (_, i) => capsuleBytes(ioSqe(OPC_READ, i, (i % 8) * blocks, blocks, SGL_TRANSPORT)))));
    await waitFor(() => tcp.queueStats(1).some((q) => q.deferredCommands > 0), 'reads deferred');
    expect(log.warn.some((m) => m.includes('staging budget exhausted'))).toBe(true);
    expect(tcp.budget.used).toBeLessThanOrEqual(4 * MiB);
    // a second host still gets its read through (a queue with nothing staged may use the reserve)
    const bystander = await host();
    await bystander.ic();
    const from = bystander.pdus.length;
    bystander.capsule(ioSqe(OPC_READ, 7, 3 * blocks, blocks, SGL_TRANSPORT));
    await bystander.next(PduType.CapsuleResp, from);
    const got = Buffer.concat(bystander.pdus.slice(from).filter((p) => p.type === PduType.C2HData).map((p) => p.data));
    expect(got.equals(Buffer.from(core.disk.subarray(3 * MiB, 4 * MiB)))).toBe(true);
    expect(tcp.budget.peak).toBeLessThanOrEqual(6 * MiB);
    hostile.end();
    await waitFor(() => tcp.budget.used === 0 && tcp.budget.r2tUsed === 0, 'budget returned after disconnect');
    await waitFor(() => core.released === core.inits, 'every request released');
  });
});

describe('many hostile queues', () => {
  it('20 non-reading queues x 16 reads of 1 MiB and 20 queues of never-answered writes stay within budget + reserve; all returned after', async () => {
    const MiB = 1 << 20;
    const { tcp, core, host } = await setup({ stagingBudget: 8 * MiB, stagingReserve: 4 * MiB, r2tBudget: 4 * MiB, limits: { queueDataLimit: 4 * MiB, queueR2tLimit: 4 * MiB } });
    const blocks = MiB / BLOCK;
    const hosts: RawHost[] = [];
    for (let q = 0; q < 20; q++) {
      const h = await host();
      await h.ic();
      h.sock.pause();
      h.send(Buffer.concat(Array.from({ length: 16 }, (_, i) => capsuleBytes(ioSqe(OPC_READ, i, (i % 8) * blocks, blocks, SGL_TRANSPORT)))));
      hosts.push(h);
    }
    for (let q = 0; q < 20; q++) {
      const h = await host();
      await h.ic();
      h.send(Buffer.concat(Array.from({ length: 16 }, (_, i) => capsuleBytes(ioSqe(OPC_WRITE, i, (i % 8) * blocks, blocks, SGL_TRANSPORT)))));
      hosts.push(h);
    }
    await waitFor(() => tcp.queueStats(1).filter((q) => q.deferredCommands > 0).length >= 20, 'most queues waiting for budget');
    await sleep(300);
    expect(tcp.budget.peak).toBeLessThanOrEqual(12 * MiB);
    expect(tcp.budget.r2tPeak).toBeLessThanOrEqual(4 * MiB + 4 * MiB);
    for (const h of hosts) h.end();
    await waitFor(() => tcp.connections(1) === 0, 'all connections gone');
    expect(tcp.budget.used).toBe(0);
    expect(tcp.budget.r2tUsed).toBe(0);
    await waitFor(() => core.released === core.inits, 'every request released');
  });
});

describe('timeouts on the NVMe/TCP port', () => {
  it('no ICReq within icreq_timeout_ms: closed (also when it trickles in a byte at a time)', async () => {
    const { host } = await setup({ limits: { icreqTimeoutMs: 200 } });
    const silent = await host();
    const trickle = await host();
    const icreq = Buffer.alloc(128);
    icreq[0] = PduType.ICReq;
    icreq[2] = 128;
    icreq.writeUInt32LE(128, 4);
    let i = 0;
    const t = setInterval(() => {
      if (i < icreq.length && !trickle.closed) trickle.send(icreq.subarray(i, ++i));
    }, 20);
    try {
      const [a, b] = await Promise.all([closedWithin(silent, 3000), closedWithin(trickle, 3000)]);
      expect(a).toBeGreaterThanOrEqual(150);
      expect(b).toBeLessThan(3000);
      expect(i).toBeLessThan(128);
    } finally {
      clearInterval(t);
    }
  });

  it('a wall-clock step does not time a queue out: the timeouts run on a monotonic clock', async () => {
    // A fresh machine's NTP sync can step the wall clock by many seconds; that must
    // not cut a waiting host (nor keep one alive: the runner's verdicts use the same clock).
    const { host } = await setup({ limits: { icreqTimeoutMs: 1000 } });
    const h = await host();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    try {
      await sleep(400); // several sweeps (every icreq/4 ms) after the step
      expect(h.closed).toBe(false);
    } finally {
      vi.useRealTimers();
    }
    // and the real timeout still fires
    await closedWithin(h, 3000);
  });

  it('no Connect within connect_timeout_ms of ICResp: closed; a connected queue is not', async () => {
    const core = new RamCore();
    core.qid = -1;
    core.queueSize = 0;
    const { host, log } = await setup({ limits: { connectTimeoutMs: 300 } }, core);
    const h = await host();
    await h.ic();
    const ms = await closedWithin(h, 3000);
    expect(ms).toBeGreaterThanOrEqual(200);
    expect(log.warn.some((m) => m.includes('no Connect within 300 ms'))).toBe(true);
    core.qid = 1;
    core.queueSize = 32;
    const ok = await host();
    await ok.ic();
    await sleep(700);
    expect(ok.closed).toBe(false);
  });

  it('a PDU started but not completed within pdu_timeout_ms: closed (half a capsule; 1 MiB H2CData at 50 KiB/s)', async () => {
    const { host, log } = await setup({ limits: { pduTimeoutMs: 300 } });
    const half = await host();
    await half.ic();
    half.send(capsuleBytes(ioSqe(OPC_READ, 1, 0, 1, SGL_TRANSPORT)).subarray(0, 40));

    const slow = await host();
    await slow.ic();
    const MiB = 1 << 20;
    const from = slow.pdus.length;
    slow.capsule(ioSqe(OPC_WRITE, 5, 0, MiB / BLOCK, SGL_TRANSPORT));
    const [r2t] = await slow.next(PduType.R2T, from);
    const hdr = Buffer.alloc(24);
    hdr[0] = PduType.H2CData;
    hdr[1] = 0x04; // LAST_PDU
    hdr[2] = 24;
    hdr[3] = 24;
    hdr.writeUInt32LE(24 + MiB, 4);
    hdr.writeUInt16LE(5, 8);
    hdr.writeUInt16LE(r2t.header.readUInt16LE(10), 10);
    hdr.writeUInt32LE(0, 12);
    hdr.writeUInt32LE(MiB, 16);
    slow.send(hdr);
    let sent = 0;
    const t = setInterval(() => {
      if (!slow.closed && sent < MiB) {
        slow.send(Buffer.alloc(1024, 0xa5));
        sent += 1024;
      }
    }, 20);
    try {
      const [a, b] = await Promise.all([closedWithin(half, 3000), closedWithin(slow, 3000)]);
      expect(a).toBeGreaterThanOrEqual(200);
      expect(b).toBeGreaterThanOrEqual(200);
      expect(sent).toBeLessThan(MiB / 4);
      expect(log.warn.filter((m) => m.includes('PDU started but not complete')).length).toBe(2);
    } finally {
      clearInterval(t);
    }
  });

  it('an R2T whose H2CData never comes: closed within pdu_timeout_ms, the staged buffer returned', async () => {
    const { tcp, host, log } = await setup({ limits: { pduTimeoutMs: 300 } });
    const h = await host();
    await h.ic();
    const from = h.pdus.length;
    h.capsule(ioSqe(OPC_WRITE, 9, 0, (256 * 1024) / BLOCK, SGL_TRANSPORT));
    await h.next(PduType.R2T, from);
    expect(tcp.budget.r2tUsed).toBe(256 * 1024);
    const ms = await closedWithin(h, 3000);
    expect(ms).toBeGreaterThanOrEqual(200);
    expect(log.warn.filter((m) => m.includes('H2CData for an R2T not received')).length).toBe(1);
    await waitFor(() => tcp.budget.used === 0, 'budget returned');
  });

  it('a host that stops reading and stops sending mid-PDU: closed even though back-pressure paused the queue', async () => {
    const MiB = 1 << 20;
    const { tcp, core, host, log } = await setup({ txHighWater: 64 * 1024, limits: { pduTimeoutMs: 300, queueDataLimit: MiB } });
    const h = await host();
    await h.ic();
    h.sock.pause(); // never reads again (so it never sees the close either: watch the target's side)
    const blocks = MiB / BLOCK;
    // 16 reads of 1 MiB, then half a capsule, in one write: the target frames all of it, starts
    // the reads, pauses itself once a MiB is staged, and is left holding the partial capsule.
    const reads = Array.from({ length: 16 }, (_, i) => capsuleBytes(ioSqe(OPC_READ, i, 0, blocks, SGL_TRANSPORT)));
    h.send(Buffer.concat([...reads, capsuleBytes(ioSqe(OPC_READ, 99, 0, 1, SGL_TRANSPORT)).subarray(0, 40)]));
    await waitFor(() => tcp.queueStats(1).some((q) => q.deferredCommands > 0), 'reads deferred by back-pressure');
    const t0 = performance.now();
    await waitFor(() => tcp.queueStats(1).length === 0, 'the queue closed by the target', 4000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
    expect(log.warn.filter((m) => m.includes('PDU started but not complete')).length).toBe(1);
    await waitFor(() => tcp.budget.used === 0, 'budget returned');
    expect(core.executed).toBeLessThan(16);
  });

  it('a paused queue whose host reads slowly is not timed out while what it takes keeps moving', async () => {
    const MiB = 1 << 20;
    // Small staging per queue keeps each socket write small, so what the host takes shows as progress soon.
    const { tcp, host } = await setup({ txHighWater: 64 * 1024, limits: { pduTimeoutMs: 500, queueDataLimit: MiB / 4 } });
    const h = await host();
    await h.ic();
    h.sock.pause();
    const blocks = MiB / 4 / BLOCK;
    const reads = Array.from({ length: 96 }, (_, i) => capsuleBytes(ioSqe(OPC_READ, i, 0, blocks, SGL_TRANSPORT)));
    h.send(Buffer.concat([...reads, capsuleBytes(ioSqe(OPC_READ, 99, 0, 1, SGL_TRANSPORT)).subarray(0, 40)]));
    await waitFor(() => tcp.queueStats(1).some((q) => q.deferredCommands > 0), 'reads deferred by back-pressure');
    // 1 MiB every 100 ms for 1.2 s (> 2 × pdu_timeout_ms): the target stays paused (loopback socket buffers
    // hold a few MiB, 24 MiB are read), the host stays mid-capsule.
    for (let i = 0; i < 12; i++) {
      await sleep(100);
      await new Promise<void>((r) => {
        let got = 0;
        const onData = (b: Buffer): void => {
          got += b.length;
          if (got < MiB) return;
          h.sock.pause();
          h.sock.off('data', onData);
          r();
        };
        h.sock.on('data', onData);
        h.sock.resume();
      });
    }
    expect(tcp.queueStats(1)).toHaveLength(1);
    h.sock.resume();
    h.send(capsuleBytes(ioSqe(OPC_READ, 99, 0, 1, SGL_TRANSPORT)).subarray(40));
    await h.until(() => h.pdus.filter((p) => p.type === PduType.CapsuleResp).length === 97, '97 responses', 10000);
    expect(h.pdus.filter((p) => p.type === PduType.CapsuleResp).every((p) => cqeStatus(p) === 0)).toBe(true);
  });

  it('a host idle between PDUs is not a stalled PDU', async () => {
    const { host } = await setup({ limits: { pduTimeoutMs: 200 } });
    const h = await host();
    await h.ic();
    await sleep(700);
    const from = h.pdus.length;
    h.capsule(ioSqe(OPC_READ, 3, 0, 8, SGL_TRANSPORT));
    const [resp] = await h.next(PduType.CapsuleResp, from);
    expect(cqeStatus(resp)).toBe(0);
    expect(h.closed).toBe(false);
  });

  it('max_connections: the connection past the cap is refused with a log line; room frees when one goes', async () => {
    const { port, host, log, tcp } = await setup({ limits: { maxConnections: 3 } });
    const hs = [await host(), await host(), await host()];
    for (const h of hs) await h.ic();
    const extra: Socket = netConnect({ host: '127.0.0.1', port });
    extra.on('error', () => {});
    await new Promise<void>((r) => extra.once('close', () => r()));
    expect(log.warn.some((m) => m.includes('max_connections (3) reached'))).toBe(true);
    expect(tcp.connections(1)).toBe(3);
    hs[0]!.end();
    await waitFor(() => tcp.connections(1) === 2, 'a slot freed');
    const again = await host();
    await again.ic();
    expect(again.closed).toBe(false);
  });
});
