/**
 * The initiator's queue against a scripted controller on a real socket: paths
 * the nvmet-ts target never takes (an R2T longer than MAXH2CDATA, a controller
 * breaking the protocol, a controller that never answers) must still be right.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { HostQueue } from '../../initiator/host-queue.js';
import { TimeoutError, TransportError } from '../../initiator/errors.js';
import { PduFramer } from '../../src/tcp/framer.js';
import type { PduSink } from '../../src/tcp/framer.js';
import { PduRole, createRxContext } from '../../src/tcp/validate.js';
import type { PduError, PduLayout } from '../../src/tcp/validate.js';
import { encodeICResp, decodeICReq, createICReq } from '../../src/tcp/ic.js';
import { encodeCapsuleResp } from '../../src/tcp/capsule.js';
import { encodeC2HData, encodeR2T } from '../../src/tcp/data.js';
import { encodeTermReq } from '../../src/tcp/term.js';
import { crc32cData, writeDigest } from '../../src/tcp/digest.js';
import { Hlen, PduType, PduFlags, PFV_1_0, Fes } from '../../src/tcp/constants.js';
import { encodeCqe } from '../../src/nvme/cqe.js';
import { encodeRwCommand, SQE_SIZE } from '../../src/nvme/sqe.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { pattern } from './harness.js';

interface RxPdu {
  type: number;
  flags: number;
  hdr: Uint8Array;
  data: Uint8Array;
}

/** A controller whose every move the test scripts. */
class ScriptedController implements PduSink {
  readonly pdus: RxPdu[] = [];
  private waiters: Array<() => void> = [];
  private cur: RxPdu | null = null;
  private readonly parts: Buffer[] = [];
  readonly framer: PduFramer;
  closed = false;

  constructor(
    readonly sock: net.Socket,
    readonly ic: { maxh2cdata: number; hdgst: boolean; ddgst: boolean },
  ) {
    this.framer = new PduFramer(createRxContext(PduRole.Controller, { maxH2CData: 1 << 20, maxCapsuleData: 1 << 20 }), this);
    sock.on('data', (d: Buffer) => this.framer.push(d));
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  onPduHeader(h: Uint8Array, off: number, pdu: PduLayout): void {
    this.cur = { type: pdu.type, flags: pdu.flags, hdr: h.slice(off, off + pdu.hlen), data: new Uint8Array(0) };
    this.parts.length = 0;
    if (pdu.type === PduType.ICReq) {
      const r = decodeICReq(h, off, createICReq());
      const resp = new Uint8Array(Hlen.ICResp);
      encodeICResp(resp, 0, { pfv: PFV_1_0, cpda: 0, hdgst: r.hdgst && this.ic.hdgst, ddgst: r.ddgst && this.ic.ddgst, maxh2cdata: this.ic.maxh2cdata });
      this.sock.write(resp);
      const ctx = this.framer.ctx;
      ctx.icDone = true;
      ctx.hdgst = r.hdgst && this.ic.hdgst;
      ctx.ddgst = r.ddgst && this.ic.ddgst;
    }
  }
  onPduData(chunk: Uint8Array, start: number, end: number): void {
    this.parts.push(Buffer.from(chunk.subarray(start, end)));
  }
  onPduEnd(): void {
    const p = this.cur!;
    p.data = Buffer.concat(this.parts);
    this.pdus.push(p);
    this.wake();
  }
  onPduError(err: PduError): void {
    throw new Error(`scripted controller got a bad PDU: ${err.reason}`);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `n` PDUs (after ICReq) arrived. */
  async waitPdus(n: number, ms = 3000): Promise<RxPdu[]> {
    const end = performance.now() + ms;
    while (this.pdus.length < n + 1) {
      if (performance.now() > end) throw new Error(`scripted controller: ${this.pdus.length - 1} PDUs after ${ms} ms, wanted ${n}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
    return this.pdus.slice(1);
  }

  async waitClosed(ms = 3000): Promise<void> {
    const end = performance.now() + ms;
    while (!this.closed) {
      if (performance.now() > end) throw new Error('scripted controller: connection not closed');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  sendResp(cid: number, status = 0): void {
    const cqe = encodeCqe(new Uint8Array(16), { cid, status });
    const b = new Uint8Array(Hlen.CapsuleResp + 4);
    const n = encodeCapsuleResp(b, 0, cqe, 0, this.framer.ctx.hdgst);
    this.sock.write(b.subarray(0, n));
  }

  sendR2T(cid: number, ttag: number, off: number, len: number): void {
    const b = new Uint8Array(Hlen.R2T + 4);
    const n = encodeR2T(b, 0, cid, ttag, off, len, this.framer.ctx.hdgst);
    this.sock.write(b.subarray(0, n));
  }

  sendC2H(cid: number, off: number, data: Uint8Array, flags: number, corruptDigest = false): void {
    const h = new Uint8Array(128);
    const ctx = this.framer.ctx;
    const n = encodeC2HData(h, 0, cid, off, data.length, flags, ctx.hdgst, ctx.ddgst, 0);
    this.sock.write(h.subarray(0, n));
    this.sock.write(data);
    if (ctx.ddgst) {
      const d = new Uint8Array(4);
      writeDigest(d, 0, crc32cData(data) ^ (corruptDigest ? 1 : 0));
      this.sock.write(d);
    }
  }
}

let server: net.Server | null = null;
const queues: HostQueue[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) q.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function pair(ic: { maxh2cdata?: number; hdgst?: boolean; ddgst?: boolean } = {}): Promise<{ q: HostQueue; ctl: ScriptedController }> {
  let ctl: ScriptedController | null = null;
  const icp = { maxh2cdata: ic.maxh2cdata ?? 65536, hdgst: ic.hdgst ?? false, ddgst: ic.ddgst ?? false };
  server = net.createServer((s) => (ctl = new ScriptedController(s, icp)));
  await new Promise<void>((r) => server!.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const q = await HostQueue.open({ host: '127.0.0.1', port, hdgst: icp.hdgst, ddgst: icp.ddgst });
  queues.push(q);
  q.setDepth(8);
  return { q, ctl: ctl! };
}

function rw(opcode: number, blocks: number): Uint8Array {
  return encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode, cid: 0, nsid: 1, slba: 0, blocks });
}

describe('HostQueue against a scripted controller', () => {
  test('an R2T longer than MAXH2CDATA is answered with MAXH2CDATA-sized H2CData PDUs, LAST on the final one', async () => {
    const { q, ctl } = await pair({ maxh2cdata: 4096, hdgst: true, ddgst: true });
    const data = pattern(16384 + 1024, 1);
    const p = q.submit({ sqe: rw(IoOpcode.Write, data.length / 512), dataOut: data });
    const [cmd] = await ctl.waitPdus(1);
    expect(cmd!.type).toBe(PduType.CapsuleCmd);
    const cid = cmd!.hdr[8 + 2]! | (cmd!.hdr[8 + 3]! << 8);
    // the SGL is a transport data block for the whole length
    expect(cmd!.hdr[8 + 39]).toBe(0x5a);
    ctl.sendR2T(cid, 0x77, 0, 12288); // first R2T: 3 PDUs
    const h1 = await ctl.waitPdus(4);
    ctl.sendR2T(cid, 0x78, 12288, data.length - 12288); // second: 5120 → 4096 + 1024
    const all = await ctl.waitPdus(6);
    const h2c = all.slice(1);
    expect(h1.length).toBe(4);
    expect(h2c.map((x) => x.type)).toEqual(Array(5).fill(PduType.H2CData));
    const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
    expect(h2c.map((x) => dv(x.hdr).getUint32(16, true))).toEqual([4096, 4096, 4096, 4096, 1024]);
    expect(h2c.map((x) => dv(x.hdr).getUint32(12, true))).toEqual([0, 4096, 8192, 12288, 16384]);
    expect(h2c.map((x) => dv(x.hdr).getUint16(10, true))).toEqual([0x77, 0x77, 0x77, 0x78, 0x78]);
    expect(h2c.map((x) => (x.flags & PduFlags.LAST_PDU) !== 0)).toEqual([false, false, true, false, true]);
    expect(Buffer.concat(h2c.map((x) => x.data)).equals(Buffer.from(data))).toBe(true);
    ctl.sendResp(cid);
    const c = await p;
    expect(c.status).toBe(0);
    expect(q.stats.r2ts).toBe(2);
  });

  test('C2HData with SUCCESS completes the read; PDUs may arrive out of order', async () => {
    const { q, ctl } = await pair();
    const data = pattern(8192, 2);
    const into = new Uint8Array(8192);
    const p = q.submit({ sqe: rw(IoOpcode.Read, 16), dataIn: into });
    const [cmd] = await ctl.waitPdus(1);
    const cid = cmd!.hdr[10]! | (cmd!.hdr[11]! << 8);
    ctl.sendC2H(cid, 4096, data.subarray(4096), 0);
    ctl.sendC2H(cid, 0, data.subarray(0, 4096), PduFlags.LAST_PDU | PduFlags.SUCCESS);
    const c = await p;
    expect(c.viaDataSuccess).toBe(true);
    expect(c.dataLen).toBe(8192);
    expect(Buffer.from(into).equals(Buffer.from(data))).toBe(true);
  });

  test('a C2HTermReq fails outstanding commands with its FES/FEI', async () => {
    const { q, ctl } = await pair();
    const p1 = q.submit({ sqe: rw(IoOpcode.Read, 1), dataIn: new Uint8Array(512) });
    const p2 = q.submit({ sqe: rw(IoOpcode.Read, 1), dataIn: new Uint8Array(512) });
    await ctl.waitPdus(2);
    const t = new Uint8Array(Hlen.TermReq);
    encodeTermReq(t, 0, PduType.C2HTermReq, Fes.DataOutOfRange, 12);
    ctl.sock.write(t);
    for (const p of [p1, p2]) {
      const e = await p.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TransportError);
      expect((e as TransportError).kind).toBe('term-req');
      expect((e as TransportError).fes).toBe(Fes.DataOutOfRange);
      expect((e as TransportError).fei).toBe(12);
    }
    expect(q.closed).toBe(true);
    await expect(q.submit({ sqe: rw(IoOpcode.Read, 1), dataIn: new Uint8Array(512) })).rejects.toBeInstanceOf(TransportError);
  });

  test('a data digest mismatch from the controller fails the command and drops the connection', async () => {
    const { q, ctl } = await pair({ hdgst: true, ddgst: true });
    const p = q.submit({ sqe: rw(IoOpcode.Read, 8), dataIn: new Uint8Array(4096) });
    const [cmd] = await ctl.waitPdus(1);
    const cid = cmd!.hdr[10]! | (cmd!.hdr[11]! << 8);
    ctl.sendC2H(cid, 0, pattern(4096, 3), PduFlags.LAST_PDU, true);
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as Error).message).toContain('digest');
    await ctl.waitClosed();
  });

  test('a CapsuleResp for a CID not outstanding gets an H2CTermReq', async () => {
    const { q, ctl } = await pair();
    const p = q.submit({ sqe: rw(IoOpcode.Read, 1), dataIn: new Uint8Array(512) });
    await ctl.waitPdus(1);
    ctl.sendResp(7); // depth 8 → cid 7 exists but is idle
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).kind).toBe('protocol');
    const all = await ctl.waitPdus(2);
    expect(all[1]!.type).toBe(PduType.H2CTermReq);
    await ctl.waitClosed();
  });

  test('C2HData beyond the command buffer is refused (no overrun)', async () => {
    const { q, ctl } = await pair();
    const into = new Uint8Array(1024);
    const p = q.submit({ sqe: rw(IoOpcode.Read, 2), dataIn: into });
    const [cmd] = await ctl.waitPdus(1);
    const cid = cmd!.hdr[10]! | (cmd!.hdr[11]! << 8);
    ctl.sendC2H(cid, 512, pattern(1024, 4), PduFlags.LAST_PDU);
    await expect(p).rejects.toBeInstanceOf(TransportError);
    expect(into.every((x) => x === 0)).toBe(true);
    const all = await ctl.waitPdus(2);
    expect(all[1]!.type).toBe(PduType.H2CTermReq);
    const fes = all[1]!.hdr[8]! | (all[1]!.hdr[9]! << 8);
    expect(fes).toBe(Fes.DataOutOfRange);
  });

  test('a command the controller never answers times out; its CID stays reserved until the late CQE', async () => {
    const { q, ctl } = await pair();
    q.setDepth(1);
    const p = q.submit({ sqe: rw(IoOpcode.Read, 1), dataIn: new Uint8Array(512), timeoutMs: 100 });
    const [cmd] = await ctl.waitPdus(1);
    const cid = cmd!.hdr[10]! | (cmd!.hdr[11]! << 8);
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(q.outstanding).toBe(1);
    // a second command waits: the only CID is still the controller's
    const p2 = q.submit({ sqe: rw(IoOpcode.Read, 1), dataIn: new Uint8Array(512), timeoutMs: 2000 });
    expect(q.queued).toBe(1);
    ctl.sendResp(cid); // late completion of the first frees the CID
    const [, cmd2] = await ctl.waitPdus(2);
    const cid2 = cmd2!.hdr[10]! | (cmd2!.hdr[11]! << 8);
    ctl.sendResp(cid2, 0);
    expect((await p2).status).toBe(0);
  });
});
