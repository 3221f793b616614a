import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpTransport } from '../../target/tcp/index.js';
import { Fes, PduType, encodeCapsuleCmd } from '../../src/tcp/index.js';
import { RawHost, RamCore, ioSqe, OPC_READ, OPC_WRITE, SGL_IN_CAPSULE, SGL_TRANSPORT, pattern, cqeStatus } from './raw-host.js';
import type { RxPdu } from './raw-host.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

let tcp: TcpTransport;
let core: RamCore;
let port: number;
/** The healthy connection that must survive every bad one. */
let healthy: RawHost;
let cid = 100;

beforeAll(async () => {
  tcp = new TcpTransport({ logger: silent, maxH2CData: 128 * 1024 });
  core = new RamCore();
  const r = await tcp.addPort({ portId: 1, traddr: '127.0.0.1', trsvcid: '0', inlineDataSize: 16384 }, core);
  port = Number(r.trsvcid);
  healthy = await RawHost.connect(port);
  await healthy.ic();
});

afterAll(async () => {
  healthy.end();
  await tcp.removePort(1);
});

/** Write + read back on the healthy connection. */
async function healthyRoundTrip(): Promise<void> {
  const c = cid++;
  const data = pattern(4096, c);
  const from = healthy.pdus.length;
  healthy.capsule(ioSqe(OPC_WRITE, c, 64, 8, SGL_IN_CAPSULE), data);
  const [w] = await healthy.next(PduType.CapsuleResp, from);
  expect(cqeStatus(w)).toBe(0);
  const from2 = healthy.pdus.length;
  healthy.capsule(ioSqe(OPC_READ, c + 1000, 64, 8, SGL_TRANSPORT));
  const [d] = await healthy.next(PduType.C2HData, from2);
  expect(d.data.equals(data)).toBe(true);
  await healthy.next(PduType.CapsuleResp, from2);
  expect(healthy.closed).toBe(false);
}

function ch(type: number, flags: number, hlen: number, pdo: number, plen: number, total = hlen): Buffer {
  const b = Buffer.alloc(total);
  b[0] = type;
  b[1] = flags;
  b[2] = hlen;
  b[3] = pdo;
  b.writeUInt32LE(plen >>> 0, 4);
  return b;
}

async function expectTerm(h: RawHost, fes: number, fei: number): Promise<RxPdu> {
  const t = await h.termReq();
  expect(t.header.readUInt16LE(8)).toBe(fes);
  expect(t.header.readUInt32LE(10)).toBe(fei);
  await h.until(() => h.closed, 'connection close');
  return t;
}

describe('NVMe/TCP transport: connection setup', () => {
  it('answers ICReq with ICResp (PFV 0, CPDA 0, digests mirrored, MAXH2CDATA)', async () => {
    const h = await RawHost.connect(port);
    const r = await h.ic({ hdgst: true, ddgst: false, maxr2t: 3 });
    expect(r.header.subarray(0, 8).toString('hex')).toBe('0100800080000000');
    expect(r.header.readUInt16LE(8)).toBe(0);
    expect(r.header[10]).toBe(0);
    expect(r.header[11]).toBe(0x01);
    expect(r.header.readUInt32LE(12)).toBe(128 * 1024);
    h.end();
  });

  it('PDU before ICReq → C2HTermReq PDU Sequence Error, close', async () => {
    const h = await RawHost.connect(port);
    const sqe = ioSqe(OPC_READ, 1, 0, 1, SGL_TRANSPORT);
    const b = Buffer.alloc(72);
    encodeCapsuleCmd(b, 0, sqe, 0, 0, false, false, 0);
    h.send(b);
    const t = await expectTerm(h, Fes.PduSequenceError, 0);
    expect(t.data.equals(b.subarray(0, 8))).toBe(true);
  });

  it('ICReq with PFV 1 → Unsupported Parameter at byte 8', async () => {
    const h = await RawHost.connect(port);
    h.send(Buffer.concat([Buffer.from('00008000800000000100', 'hex'), Buffer.alloc(118)]));
    await expectTerm(h, Fes.UnsupportedParameter, 8);
  });

  it('ICReq with HPDA 32 → Unsupported Parameter at byte 10', async () => {
    const h = await RawHost.connect(port);
    h.send(Buffer.concat([Buffer.from('00008000800000000000' + '20', 'hex'), Buffer.alloc(117)]));
    await expectTerm(h, Fes.UnsupportedParameter, 10);
  });

  it('healthy connection still works', healthyRoundTrip);
});

describe('NVMe/TCP transport: fatal PDU errors', () => {
  const cases: Array<[string, () => Buffer, number, number]> = [
    ['unknown PDU type 0x0a', () => ch(0x0a, 0, 24, 0, 24), Fes.InvalidHeaderField, 0],
    ['controller-to-host type (R2T) from the host', () => ch(0x09, 0, 24, 0, 24), Fes.InvalidHeaderField, 0],
    ['CapsuleCmd with HLEN 64', () => ch(0x04, 0, 64, 0, 64), Fes.InvalidHeaderField, 2],
    ['CapsuleCmd PDO inside the header', () => ch(0x04, 0, 72, 40, 72 + 512, 72 + 512), Fes.InvalidHeaderField, 3],
    ['CapsuleCmd PDO 0 but PLEN says data', () => ch(0x04, 0, 72, 0, 72 + 512, 72 + 512), Fes.InvalidHeaderField, 3],
    ['CapsuleResp-sized PLEN mismatch on R2T-less type (H2CData PDO past PLEN)', () => ch(0x06, 0, 24, 32, 28, 28), Fes.InvalidHeaderField, 3],
    ['second ICReq', () => ch(0x00, 0, 128, 0, 128, 128), Fes.PduSequenceError, 0],
    ['H2CData DATA over MAXH2CDATA', () => ch(0x06, 0x04, 24, 24, 24 + 128 * 1024 + 1), Fes.DataLimitExceeded, 0],
    ['CapsuleCmd in-capsule data over 16 KiB', () => ch(0x04, 0, 72, 72, 72 + 16384 + 4), Fes.DataLimitExceeded, 0],
  ];
  it.each(cases)('%s', async (_n, make, fes, fei) => {
    const h = await RawHost.connect(port);
    await h.ic();
    const pdu = make();
    h.send(pdu);
    const t = await expectTerm(h, fes, fei);
    // the TermReq carries the offending header (at least its common header)
    expect(t.data.subarray(0, 8).equals(pdu.subarray(0, 8))).toBe(true);
  });

  it('a 4 GiB PLEN is rejected from the 8-byte header, nothing else sent', async () => {
    const h = await RawHost.connect(port);
    await h.ic();
    const before = process.memoryUsage().arrayBuffers;
    h.send(ch(0x04, 0, 72, 72, 0xffff_ffff, 8));
    await expectTerm(h, Fes.DataLimitExceeded, 0);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('bad header digest → Header Digest Error', async () => {
    const h = await RawHost.connect(port);
    await h.ic({ hdgst: true });
    const b = Buffer.alloc(76);
    encodeCapsuleCmd(b, 0, ioSqe(OPC_READ, 1, 0, 1, SGL_TRANSPORT), 0, 0, true, false, 0);
    b[74] ^= 0x55;
    h.send(b);
    await expectTerm(h, Fes.HeaderDigestError, 0);
  });

  it('HDGSTF missing when header digests were negotiated → Invalid Header Field (flags)', async () => {
    const h = await RawHost.connect(port);
    await h.ic({ hdgst: true });
    const b = Buffer.alloc(72);
    encodeCapsuleCmd(b, 0, ioSqe(OPC_READ, 1, 0, 1, SGL_TRANSPORT), 0, 0, false, false, 0);
    h.send(b);
    await expectTerm(h, Fes.InvalidHeaderField, 1);
  });

  it('H2CData with an unknown TTAG → Invalid Header Field at TTAG (10)', async () => {
    const h = await RawHost.connect(port);
    await h.ic();
    h.h2cData(1, 0x4242, 0, pattern(512, 1), true);
    await expectTerm(h, Fes.InvalidHeaderField, 10);
  });

  it('H2CData with the wrong offset → Data Transfer Out of Range', async () => {
    const h = await RawHost.connect(port);
    await h.ic();
    h.capsule(ioSqe(OPC_WRITE, 7, 0, 8, SGL_TRANSPORT));
    const [r2t] = await h.next(PduType.R2T, 0);
    const ttag = r2t.header.readUInt16LE(10);
    h.h2cData(7, ttag, 512, pattern(512, 1), false);
    await expectTerm(h, Fes.DataOutOfRange, 0);
  });

  it('H2CData past the R2T → Data Transfer Out of Range; CCCID mismatch → Invalid Header Field (8)', async () => {
    const h = await RawHost.connect(port);
    await h.ic();
    h.capsule(ioSqe(OPC_WRITE, 7, 0, 1, SGL_TRANSPORT));
    const [r2t] = await h.next(PduType.R2T, 0);
    h.h2cData(7, r2t.header.readUInt16LE(10), 0, pattern(1024, 1), true);
    await expectTerm(h, Fes.DataOutOfRange, 0);

    const h2 = await RawHost.connect(port);
    await h2.ic();
    h2.capsule(ioSqe(OPC_WRITE, 7, 0, 1, SGL_TRANSPORT));
    const [r2] = await h2.next(PduType.R2T, 0);
    h2.h2cData(8, r2.header.readUInt16LE(10), 0, pattern(512, 1), true);
    await expectTerm(h2, Fes.InvalidHeaderField, 8);
  });

  it('an H2CTermReq from the host closes without a reply', async () => {
    const h = await RawHost.connect(port);
    await h.ic();
    const b = ch(0x02, 0, 24, 0, 32, 32);
    b.writeUInt16LE(1, 8);
    h.send(b);
    await h.until(() => h.closed, 'close');
    expect(h.pdus.filter((p) => p.type === PduType.C2HTermReq)).toHaveLength(0);
  });

  it('an invalid H2CTermReq length closes silently', async () => {
    const h = await RawHost.connect(port);
    await h.ic();
    h.send(ch(0x02, 0, 24, 0, 4000, 24));
    await h.until(() => h.closed, 'close');
    expect(h.pdus.filter((p) => p.type === PduType.C2HTermReq)).toHaveLength(0);
  });

  it('random garbage after ICReq never crashes the target', async () => {
    for (let i = 0; i < 20; i++) {
      const h = await RawHost.connect(port);
      await h.ic();
      h.send(pattern(300 + i * 17, i));
      await h.until(() => h.closed || h.pdus.some((p) => p.type === PduType.C2HTermReq), 'reaction');
      h.end();
    }
  });

  it('the healthy connection survived all of the above', async () => {
    await healthyRoundTrip();
    expect(core.doubleReleases).toBe(0);
  });
});
