/**
 * The TCP transport against the real target core (target/core + admin + io),
 * driven by hand-written PDUs from a raw socket: Connect (in-capsule and via R2T),
 * Property Set, Identify over C2HData, I/O queue with SQ flow control disabled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createNvmet } from '../../target/create-nvmet.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { TcpTransport } from '../../target/tcp/index.js';
import { PduFlags, PduType } from '../../src/tcp/index.js';
import { encodeConnectCommand, encodeConnectData, CATTR_DISABLE_SQ_FLOW, CNTLID_DYNAMIC } from '../../src/nvme/fabrics.js';
import { RawHost, ioSqe, pattern, cqeCid, cqeStatus, SGL_IN_CAPSULE, SGL_TRANSPORT } from './raw-host.js';
import type { RxPdu } from './raw-host.js';

const SUBNQN = 'nqn.2024-01.io.nvmet-ts:tcp-core-test';
const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555';
const HOSTID = new Uint8Array(16).fill(0x11);

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function target(inline = 16384): Promise<number> {
  const nvmet = createNvmet({ logger: silentLogger });
  nvmet.registerTransport(new TcpTransport({ logger: silentLogger }));
  const sub = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true });
  await sub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 16 << 20 }, blockSize: 512 }).enable();
  const port = nvmet.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0', inlineDataSize: inline });
  port.addSubsystem(sub);
  await port.enable();
  stops.push(() => nvmet.shutdown());
  return Number(port.addr.trsvcid);
}

function withSgl(sqe: Uint8Array, sglId: number, len: number): Buffer {
  const b = Buffer.from(sqe);
  b[1] = (b[1]! & 0x3f) | 0x40; // PSDT 01b
  b.fill(0, 24, 40);
  b.writeUInt32LE(len, 32);
  b[39] = sglId;
  return b;
}

async function respOf(h: RawHost, cid: number, from: number): Promise<RxPdu> {
  await h.until(() => h.pdus.slice(from).some((p) => p.type === PduType.CapsuleResp && cqeCid(p) === cid), `response to cid ${cid}`);
  return h.pdus.slice(from).find((p) => p.type === PduType.CapsuleResp && cqeCid(p) === cid)!;
}

/** Connect with the Connect data in the capsule, or (viaR2T) fetched by R2T. */
async function connect(h: RawHost, qid: number, cntlid: number, cattr = 0, viaR2T = false): Promise<RxPdu> {
  const sqe = new Uint8Array(64);
  encodeConnectCommand(sqe, { cid: 0x10 + qid, qid, sqsize: 31, cattr, kato: qid === 0 ? 30000 : 0 });
  const data = Buffer.from(encodeConnectData({ hostId: HOSTID, cntlid, subnqn: SUBNQN, hostnqn: HOSTNQN }));
  const from = h.pdus.length;
  if (!viaR2T) {
    h.capsule(withSgl(sqe, SGL_IN_CAPSULE, 1024), data);
  } else {
    h.capsule(withSgl(sqe, SGL_TRANSPORT, 1024));
    const [r2t] = await h.next(PduType.R2T, from);
    expect(r2t.header.readUInt32LE(16)).toBe(1024);
    h.h2cData(0x10 + qid, r2t.header.readUInt16LE(10), 0, data, true);
  }
  return respOf(h, 0x10 + qid, from);
}

async function enableController(h: RawHost): Promise<void> {
  const sqe = Buffer.alloc(64);
  sqe[0] = 0x7f; // fabrics
  sqe[1] = 0x40;
  sqe.writeUInt16LE(0x20, 2);
  sqe[4] = 0x00; // Property Set
  sqe[40] = 0; // 4-byte property
  sqe.writeUInt32LE(0x14, 44); // CC
  sqe.writeUInt32LE(0x00460001, 48); // IOCQES 4, IOSQES 6, EN
  const from = h.pdus.length;
  h.capsule(sqe);
  expect(cqeStatus(await respOf(h, 0x20, from))).toBe(0);
}

describe('NVMe/TCP transport with the real target core', () => {
  it('admin Connect (in-capsule and via R2T), Property Set, Identify Controller over C2HData', async () => {
    const port = await target();
    const h = await RawHost.connect(port);
    await h.ic();
    const r = await connect(h, 0, CNTLID_DYNAMIC);
    expect(cqeStatus(r)).toBe(0);
    await enableController(h);
    const idf = Buffer.alloc(64);
    idf[0] = 0x06;
    idf.writeUInt16LE(0x30, 2);
    idf.writeUInt32LE(1, 40); // CNS 1: Identify Controller
    const from = h.pdus.length;
    h.capsule(withSgl(idf, SGL_TRANSPORT, 4096));
    const resp = await respOf(h, 0x30, from);
    expect(cqeStatus(resp)).toBe(0);
    const data = h.pdus.slice(from).find((p) => p.type === PduType.C2HData)!;
    expect(data.header.readUInt32LE(16)).toBe(4096);
    expect(data.flags & PduFlags.LAST_PDU).toBe(PduFlags.LAST_PDU);
    expect(data.data.subarray(24, 64).toString('ascii').trim().length).toBeGreaterThan(0); // MN
    expect(data.data.subarray(768, 768 + SUBNQN.length).toString('ascii')).toBe(SUBNQN);

    // a second admin queue whose Connect data comes through R2T (a host with no in-capsule data)
    const h2 = await RawHost.connect(port);
    await h2.ic();
    expect(cqeStatus(await connect(h2, 0, CNTLID_DYNAMIC, 0, true))).toBe(0);
    h.end();
    h2.end();
  });

  it('I/O queue with SQ flow control disabled: writes in-capsule and via R2T, reads end with SUCCESS C2HData', async () => {
    const port = await target();
    const a = await RawHost.connect(port);
    await a.ic();
    const cr = await connect(a, 0, CNTLID_DYNAMIC);
    expect(cqeStatus(cr)).toBe(0);
    const cntlid = cr.header.readUInt16LE(8);
    await enableController(a);

    const io = await RawHost.connect(port);
    await io.ic({ hdgst: true, ddgst: true });
    expect(cqeStatus(await connect(io, 1, cntlid, CATTR_DISABLE_SQ_FLOW))).toBe(0);

    const small = pattern(8192, 1);
    let from = io.pdus.length;
    io.capsule(ioSqe(0x01, 1, 0, 16, SGL_IN_CAPSULE), small);
    expect(cqeStatus(await respOf(io, 1, from))).toBe(0);

    const big = pattern(256 * 1024, 2);
    from = io.pdus.length;
    io.capsule(ioSqe(0x01, 2, 16, 512, SGL_TRANSPORT));
    const [r2t] = await io.next(PduType.R2T, from);
    const ttag = r2t.header.readUInt16LE(10);
    for (let off = 0; off < big.length; off += 64 * 1024) {
      io.h2cData(2, ttag, off, big.subarray(off, off + 64 * 1024), off + 64 * 1024 === big.length);
    }
    expect(cqeStatus(await respOf(io, 2, from))).toBe(0);

    from = io.pdus.length;
    io.capsule(ioSqe(0x02, 3, 0, 16 + 512, SGL_TRANSPORT));
    await io.until(() => io.pdus.slice(from).some((p) => p.type === PduType.C2HData && (p.flags & PduFlags.SUCCESS) !== 0), 'SUCCESS');
    const datas = io.pdus.slice(from).filter((p) => p.type === PduType.C2HData);
    expect(Buffer.concat(datas.map((d) => d.data)).equals(Buffer.concat([small, big]))).toBe(true);
    expect(datas.every((d) => d.ddgstOk)).toBe(true);
    // next command's response arrives, and none for cid 3
    from = io.pdus.length;
    io.capsule(ioSqe(0x00, 4, 0, 1, SGL_TRANSPORT).fill(0, 24, 40));
    await respOf(io, 4, from);
    expect(io.pdus.some((p) => p.type === PduType.CapsuleResp && cqeCid(p) === 3)).toBe(false);

    // losing the I/O connection leaves the admin queue working
    io.end();
    await io.closedP;
    await enableController(a);
    a.end();
  });
});
