import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { TcpTransport } from '../../target/tcp/index.js';
import { PduFlags, PduType } from '../../src/tcp/index.js';
import {
  RawHost,
  RamCore,
  ioSqe,
  OPC_BAD,
  OPC_HOLD,
  OPC_READ,
  OPC_WRITE,
  SGL_IN_CAPSULE,
  SGL_TRANSPORT,
  pattern,
  cqeCid,
  cqeStatus,
} from './raw-host.js';
import type { TcpTransportOptions } from '../../target/tcp/index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(opts: TcpTransportOptions = {}, inline = 16384, sqfcDisabled = false) {
  const tcp = new TcpTransport({ logger: silent, ...opts });
  const core = new RamCore(sqfcDisabled);
  const r = await tcp.addPort({ portId: 9, traddr: '127.0.0.1', trsvcid: '0', inlineDataSize: inline }, core);
  const port = Number(r.trsvcid);
  const hosts: RawHost[] = [];
  cleanups.push(async () => {
    for (const h of hosts) h.end();
    await tcp.removePort(9);
  });
  const host = async (ic: Parameters<RawHost['ic']>[0] = {}) => {
    const h = await RawHost.connect(port);
    hosts.push(h);
    await h.ic(ic);
    return h;
  };
  return { tcp, core, port, host };
}

/** Read `blocks` at slba; returns the C2HData PDUs and the CapsuleResp (if any). */
async function read(h: RawHost, cid: number, slba: number, blocks: number, expectResp = true) {
  const from = h.pdus.length;
  h.capsule(ioSqe(OPC_READ, cid, slba, blocks, SGL_TRANSPORT));
  const total = blocks * 512;
  await h.until(() => {
    const got = h.pdus.slice(from).filter((p) => p.type === PduType.C2HData && p.header.readUInt16LE(8) === cid);
    const bytes = got.reduce((a, p) => a + p.data.length, 0);
    const resp = h.pdus.slice(from).some((p) => p.type === PduType.CapsuleResp && cqeCid(p) === cid);
    return bytes === total && (resp || !expectResp);
  }, `read cid ${cid}`);
  const datas = h.pdus.slice(from).filter((p) => p.type === PduType.C2HData && p.header.readUInt16LE(8) === cid);
  const resp = h.pdus.slice(from).find((p) => p.type === PduType.CapsuleResp && cqeCid(p) === cid);
  return { datas, resp, data: Buffer.concat(datas.map((d) => d.data)) };
}

async function writeInCapsule(h: RawHost, cid: number, slba: number, data: Buffer, corrupt = false): Promise<number> {
  const from = h.pdus.length;
  h.capsule(ioSqe(OPC_WRITE, cid, slba, data.length / 512, SGL_IN_CAPSULE), data, corrupt);
  const [r] = await h.next(PduType.CapsuleResp, from);
  expect(cqeCid(r)).toBe(cid);
  return cqeStatus(r);
}

/** Write through R2T/H2CData, sending each R2T's data in `pduSize` pieces. */
async function writeR2T(h: RawHost, cid: number, slba: number, data: Buffer, pduSize: number): Promise<{ r2ts: Array<[number, number]>; status: number }> {
  let from = h.pdus.length;
  h.capsule(ioSqe(OPC_WRITE, cid, slba, data.length / 512, SGL_TRANSPORT));
  const r2ts: Array<[number, number]> = [];
  let done = 0;
  while (done < data.length) {
    const [r2t, idx] = await h.next(PduType.R2T, from);
    from = idx + 1;
    expect(r2t.header.readUInt16LE(8)).toBe(cid);
    const ttag = r2t.header.readUInt16LE(10);
    const off = r2t.header.readUInt32LE(12);
    const len = r2t.header.readUInt32LE(16);
    r2ts.push([off, len]);
    for (let at = off; at < off + len; at += pduSize) {
      const n = Math.min(pduSize, off + len - at);
      h.h2cData(cid, ttag, at, data.subarray(at, at + n), at + n === off + len);
    }
    done += len;
  }
  const [resp] = await h.next(PduType.CapsuleResp, from);
  expect(cqeCid(resp)).toBe(cid);
  return { r2ts, status: cqeStatus(resp) };
}

describe('NVMe/TCP transport: data paths', () => {
  it('in-capsule write, then read back as one C2HData (LAST_PDU) and a CapsuleResp', async () => {
    const { host, core } = await setup();
    const h = await host();
    const data = pattern(4096, 1);
    expect(await writeInCapsule(h, 1, 8, data)).toBe(0);
    const r = await read(h, 2, 8, 8);
    expect(r.datas).toHaveLength(1);
    const d = r.datas[0]!;
    expect(d.flags).toBe(PduFlags.LAST_PDU);
    expect(d.header.readUInt32LE(12)).toBe(0);
    expect(d.header.readUInt32LE(16)).toBe(4096);
    expect(r.data.equals(data)).toBe(true);
    expect(cqeStatus(r.resp!)).toBe(0);
    await h.until(() => core.released === 2, 'releases');
    expect(core.released).toBe(core.inits);
  });

  it('a write small enough for in-capsule data but sent with a transport SGL goes through R2T', async () => {
    const { host } = await setup();
    const h = await host();
    const data = pattern(512, 2);
    const w = await writeR2T(h, 3, 0, data, 512);
    expect(w.status).toBe(0);
    expect(w.r2ts).toEqual([[0, 512]]);
    expect((await read(h, 4, 0, 1)).data.equals(data)).toBe(true);
  });

  it('1 MiB write: R2Ts of MAXH2CDATA, up to MAXR2T+1 outstanding; 1 MiB read split into 128 KiB C2HData', async () => {
    const { host } = await setup({ maxH2CData: 128 * 1024, c2hChunk: 128 * 1024 });
    const h = await host({ maxr2t: 3 });
    const data = pattern(1 << 20, 3);
    // the first four R2Ts arrive before any data is sent
    const from = h.pdus.length;
    const wp = writeR2T(h, 5, 0, data, 32 * 1024);
    await h.until(() => h.pdus.slice(from).filter((p) => p.type === PduType.R2T).length >= 4, 'four R2Ts');
    const w = await wp;
    expect(w.status).toBe(0);
    expect(w.r2ts).toEqual(Array.from({ length: 8 }, (_, i) => [i * 131072, 131072]));
    const r = await read(h, 6, 0, 2048);
    expect(r.datas).toHaveLength(8);
    r.datas.forEach((d, i) => {
      expect(d.header.readUInt32LE(12)).toBe(i * 131072);
      expect(d.header.readUInt32LE(16)).toBe(131072);
      expect(d.flags).toBe(i === 7 ? PduFlags.LAST_PDU : 0);
    });
    expect(r.data.equals(data)).toBe(true);
  });

  it('with header+data digests and HPDA 7: aligned PDO, valid digests both ways', async () => {
    const { host } = await setup();
    const h = await host({ hdgst: true, ddgst: true, hpda: 7 });
    const a = pattern(8192, 4);
    const b = pattern(65536, 5);
    expect(await writeInCapsule(h, 1, 0, a)).toBe(0);
    expect((await writeR2T(h, 2, 16, b, 16384)).status).toBe(0);
    const r = await read(h, 3, 0, 16 + 128);
    expect(r.data.equals(Buffer.concat([a, b]))).toBe(true);
    for (const p of h.pdus) expect(p.ddgstOk).toBe(true);
    const raw = r.datas[0]!;
    expect(raw.flags & (PduFlags.HDGSTF | PduFlags.DDGSTF)).toBe(PduFlags.HDGSTF | PduFlags.DDGSTF);
    expect(h.errors).toEqual([]);
  });

  it('a data digest error fails the command with Transient Transport Error; the connection goes on', async () => {
    const { host } = await setup();
    const h = await host({ ddgst: true });
    expect(await writeInCapsule(h, 1, 0, pattern(1024, 6), true)).toBe(0x22);
    expect(await writeInCapsule(h, 2, 0, pattern(1024, 6))).toBe(0);
    expect(h.closed).toBe(false);
  });

  it('SQ flow control disabled: SUCCESS on the last C2HData and no CapsuleResp', async () => {
    const { host } = await setup({ c2hChunk: 4096 }, 16384, true);
    const h = await host();
    const r = await read(h, 11, 0, 32, false);
    expect(r.datas.map((d) => d.flags)).toEqual([0, 0, 0, PduFlags.LAST_PDU | PduFlags.SUCCESS]);
    // a later command's response proves no CapsuleResp for cid 11 was sent in between
    expect(await writeInCapsule(h, 12, 0, pattern(512, 1))).toBe(0);
    expect(h.pdus.some((p) => p.type === PduType.CapsuleResp && cqeCid(p) === 11)).toBe(false);
  });

  it('commands the core rejects at init still drain their in-capsule data', async () => {
    const { host, core } = await setup();
    const h = await host();
    const from = h.pdus.length;
    const sqe = ioSqe(OPC_BAD, 21, 0, 2, SGL_IN_CAPSULE);
    h.capsule(sqe, pattern(1024, 1));
    const [r] = await h.next(PduType.CapsuleResp, from);
    expect(cqeStatus(r)).toBe(0x4002);
    expect(await writeInCapsule(h, 22, 0, pattern(512, 2))).toBe(0);
    await h.until(() => core.released === core.inits, 'releases');
  });

  it('transport-level SGL errors complete the command with the NVMe status', async () => {
    const { host } = await setup({}, 4096);
    const h = await host();
    // in-capsule data on a read
    let from = h.pdus.length;
    h.capsule(ioSqe(OPC_READ, 31, 0, 1, SGL_IN_CAPSULE));
    let [r] = await h.next(PduType.CapsuleResp, from);
    expect(cqeStatus(r)).toBe(0x4002);
    // in-capsule write larger than the I/O queue's inline data size (4 KiB here)
    expect(await writeInCapsule(h, 32, 0, pattern(8192, 1))).toBe(0x4016);
    // unknown SGL descriptor type
    from = h.pdus.length;
    h.capsule(ioSqe(OPC_WRITE, 33, 0, 1, 0x20));
    [r] = await h.next(PduType.CapsuleResp, from);
    expect(cqeStatus(r)).toBe(0x4011);
    expect(await writeInCapsule(h, 34, 0, pattern(4096, 1))).toBe(0);
  });

  it('LAST_PDU before the end of the R2T → C2HTermReq PDU Sequence Error', async () => {
    const { host } = await setup();
    const h = await host();
    h.capsule(ioSqe(OPC_WRITE, 1, 0, 2, SGL_TRANSPORT));
    const [r2t] = await h.next(PduType.R2T, 0);
    h.h2cData(1, r2t.header.readUInt16LE(10), 0, pattern(512, 1), true);
    const t = await h.termReq();
    expect(t.header.readUInt16LE(8)).toBe(0x02);
  });

  it('64 pipelined reads in one segment all complete with the right data', async () => {
    const { host } = await setup();
    const h = await host();
    const data = pattern(64 * 512, 7);
    expect(await writeInCapsule(h, 1, 0, data.subarray(0, 16384))).toBe(0);
    expect(await writeInCapsule(h, 2, 32, data.subarray(16384))).toBe(0);
    const from = h.pdus.length;
    const sqes = Array.from({ length: 64 }, (_, i) => {
      const b = Buffer.alloc(72);
      b[0] = 4;
      b[2] = 72;
      b.writeUInt32LE(72, 4);
      ioSqe(OPC_READ, 100 + i, i, 1, SGL_TRANSPORT).copy(b, 8);
      return b;
    });
    h.send(Buffer.concat(sqes));
    await h.until(() => h.pdus.slice(from).filter((p) => p.type === PduType.CapsuleResp).length === 64, '64 responses');
    for (let i = 0; i < 64; i++) {
      const d = h.pdus.slice(from).find((p) => p.type === PduType.C2HData && p.header.readUInt16LE(8) === 100 + i)!;
      expect(d.data.equals(data.subarray(i * 512, (i + 1) * 512))).toBe(true);
    }
  });

  it('1500 pipelined reads (headers overflow one 64 KiB arena in a single batch) all carry the right bytes', async () => {
    const { host, core } = await setup();
    const h = await host({ hdgst: true });
    const data = pattern(16384, 9);
    expect(await writeInCapsule(h, 1, 0, data)).toBe(0);
    const from = h.pdus.length;
    const n = 1500;
    const b = Buffer.alloc(n * 76);
    for (let i = 0; i < n; i++) {
      const o = i * 76;
      b[o] = 4;
      b[o + 1] = 1;
      b[o + 2] = 72;
      b.writeUInt32LE(76, o + 4);
      ioSqe(OPC_READ, 1000 + i, i % 32, 1, SGL_TRANSPORT).copy(b, o + 8);
      b.writeUInt32LE(crc32c(b.subarray(o, o + 72)), o + 72);
    }
    h.send(b);
    await h.until(() => h.pdus.length - from >= 2 * n, `${2 * n} PDUs`, 15000);
    const got = h.pdus.slice(from);
    for (let i = 0; i < n; i++) {
      const d = got[2 * i]!;
      const r = got[2 * i + 1]!;
      expect(d.header.readUInt16LE(8)).toBe(1000 + i);
      expect(d.data.equals(data.subarray((i % 32) * 512, (i % 32 + 1) * 512))).toBe(true);
      expect(cqeCid(r)).toBe(1000 + i);
    }
    expect(h.errors).toEqual([]);
    await h.until(() => core.released === core.inits, 'releases');
  });

  it('connection loss: core queue destroyed, every request released exactly once', async () => {
    const { host, core, tcp } = await setup();
    const h = await host();
    // held commands, a write waiting for its R2T data, a read in flight
    const from = h.pdus.length;
    for (let i = 0; i < 5; i++) h.capsule(ioSqe(OPC_HOLD, 50 + i, 0, 1, SGL_TRANSPORT));
    h.capsule(ioSqe(OPC_WRITE, 60, 0, 8, SGL_TRANSPORT));
    await h.next(PduType.R2T, from);
    h.capsule(ioSqe(OPC_READ, 61, 0, 2048, SGL_TRANSPORT));
    await h.until(() => core.inits === 7, 'inits');
    expect(tcp.connections(9)).toBe(1);
    h.end();
    await h.closedP;
    const deadline = performance.now() + 3000;
    while (core.destroyed === 0 || core.released < core.inits) {
      if (performance.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(core.destroyed).toBe(1);
    expect(core.released).toBe(core.inits);
    expect(core.doubleReleases).toBe(0);
    expect(tcp.connections(9)).toBe(0);
  });

  it('core-initiated disconnect flushes and closes; removePort closes the rest', async () => {
    const { host, core, tcp } = await setup();
    const h1 = await host();
    const h2 = await host();
    expect(await writeInCapsule(h1, 1, 0, pattern(512, 1))).toBe(0);
    core.queues[0]!.transport.disconnect('keep-alive timeout');
    await h1.until(() => h1.closed, 'h1 closed');
    expect(h2.closed).toBe(false);
    await tcp.removePort(9);
    await h2.until(() => h2.closed, 'h2 closed');
    expect(core.destroyed).toBe(2);
    expect(core.released).toBe(core.inits);
    cleanups.length = 0;
  });
});
