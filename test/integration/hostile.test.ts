/**
 * Hostile raw PDUs against the target (initiator's raw escape hatch): each gets a
 * C2HTermReq with the right FES/FEI and a closed connection, while a host
 * connected before keeps working and new hosts can still connect.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, RawConnection } from '../../initiator/index.js';
import type { Controller } from '../../initiator/index.js';
import { encodeICReq } from '../../src/tcp/ic.js';
import { ChOffset, Fes, Hlen, PduType, PFV_1_0 } from '../../src/tcp/constants.js';
import { writeCommonHeader } from '../../src/tcp/header.js';
import { writeHeaderDigest } from '../../src/tcp/digest.js';
import { encodeSqe, SQE_SIZE } from '../../src/nvme/sqe.js';
import { startTarget, SUBNQN, pattern } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget;
let bystander: Controller;

beforeAll(async () => {
  t = await startTarget();
  bystander = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1 });
});
afterAll(async () => {
  await bystander?.close();
  await t?.stop();
});

function icreq(hdgst = false, ddgst = false): Uint8Array {
  const b = new Uint8Array(Hlen.ICReq);
  encodeICReq(b, 0, { pfv: PFV_1_0, hpda: 0, hdgst, ddgst, maxr2t: 0 });
  return b;
}

async function openWithIc(hdgst = false): Promise<RawConnection> {
  const r = await RawConnection.open({ host: t.host, port: t.tcpPort });
  await r.send(icreq(hdgst));
  const resp = await r.readPdu(3000);
  expect(resp[0]).toBe(PduType.ICResp);
  return r;
}

interface Term {
  fes: number;
  fei: number;
}

/** Expect the next PDU to be a C2HTermReq, then the connection to close. */
async function expectTermReq(r: RawConnection): Promise<Term> {
  const pdu = await r.readPdu(3000);
  expect(pdu[0]).toBe(PduType.C2HTermReq);
  expect(pdu[2]).toBe(Hlen.TermReq);
  const dv = new DataView(pdu.buffer, pdu.byteOffset, pdu.byteLength);
  const term = { fes: dv.getUint16(8, true), fei: dv.getUint32(10, true) };
  await r.waitClosed(5000);
  return term;
}

/** The target still serves: the bystander's I/O works and a fresh association can be made. */
async function targetStillUp(): Promise<void> {
  const d = pattern(4096, Date.now() & 0xffff);
  await bystander.write(1, 0, d);
  const back = await bystander.read(1, 0, 8);
  expect(Buffer.from(back).equals(Buffer.from(d))).toBe(true);
  const fresh = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1 });
  await fresh.read(1, 0, 1);
  await fresh.close();
}

function capsuleHeader(plen: number, pdo: number, flags = 0): Uint8Array {
  const b = new Uint8Array(Hlen.CapsuleCmd + 4);
  writeCommonHeader(b, 0, PduType.CapsuleCmd, flags, Hlen.CapsuleCmd, pdo, plen);
  encodeSqe(b.subarray(8, 8 + SQE_SIZE), { opcode: 0x06, cdw10: 1 }); // Identify controller, harmless
  return b;
}

describe('hostile PDUs', () => {
  test('an undefined PDU type gets TermReq Invalid Header Field at the type byte', async () => {
    const r = await openWithIc();
    const b = new Uint8Array(24);
    writeCommonHeader(b, 0, 0x0a, 0, 24, 0, 24);
    await r.send(b);
    expect(await expectTermReq(r)).toEqual({ fes: Fes.InvalidHeaderField, fei: ChOffset.type });
    await targetStillUp();
  });

  test('a controller-to-host PDU type sent by a host is rejected the same way', async () => {
    const r = await openWithIc();
    const b = new Uint8Array(24);
    writeCommonHeader(b, 0, PduType.CapsuleResp, 0, 24, 0, 24);
    await r.send(b);
    expect(await expectTermReq(r)).toEqual({ fes: Fes.InvalidHeaderField, fei: ChOffset.type });
    await targetStillUp();
  });

  test('a command capsule before ICReq is a PDU Sequence Error', async () => {
    const r = await RawConnection.open({ host: t.host, port: t.tcpPort });
    await r.send(capsuleHeader(Hlen.CapsuleCmd, 0).subarray(0, Hlen.CapsuleCmd));
    const term = await expectTermReq(r);
    expect(term.fes).toBe(Fes.PduSequenceError);
    await targetStillUp();
  });

  test('a second ICReq is a PDU Sequence Error', async () => {
    const r = await openWithIc();
    await r.send(icreq());
    expect((await expectTermReq(r)).fes).toBe(Fes.PduSequenceError);
    await targetStillUp();
  });

  test('a 4 GiB PLEN capsule is refused from its 8-byte header, nothing allocated', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const r = await openWithIc();
    await r.send(capsuleHeader(0xffff_ffff, Hlen.CapsuleCmd).subarray(0, 8));
    const term = await expectTermReq(r);
    expect([Fes.InvalidHeaderField, Fes.DataLimitExceeded]).toContain(term.fes);
    if (term.fes === Fes.InvalidHeaderField) expect(term.fei).toBe(ChOffset.plen);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 << 20);
    await targetStillUp();
  });

  test('a 4 GiB PLEN ICReq is refused too', async () => {
    const r = await RawConnection.open({ host: t.host, port: t.tcpPort });
    const b = icreq();
    new DataView(b.buffer).setUint32(4, 0xffff_ffff, true);
    await r.send(b.subarray(0, 8));
    const term = await expectTermReq(r);
    expect(term).toEqual({ fes: Fes.InvalidHeaderField, fei: ChOffset.plen });
    await targetStillUp();
  });

  test('a bad header digest gets TermReq Header Digest Error', async () => {
    const r = await openWithIc(true);
    const b = capsuleHeader(Hlen.CapsuleCmd + 4, 0, 0x01);
    writeHeaderDigest(b, 0, Hlen.CapsuleCmd);
    b[Hlen.CapsuleCmd] ^= 0xff; // corrupt it
    await r.send(b);
    expect((await expectTermReq(r)).fes).toBe(Fes.HeaderDigestError);
    await targetStillUp();
  });

  test('a good header digest is accepted on the same kind of connection (control for the test above)', async () => {
    const r = await openWithIc(true);
    const b = capsuleHeader(Hlen.CapsuleCmd + 4, 0, 0x01);
    writeHeaderDigest(b, 0, Hlen.CapsuleCmd);
    await r.send(b);
    // Identify before Connect: the core answers with a CapsuleResp (an error status), not a TermReq.
    const pdu = await r.readPdu(3000);
    expect(pdu[0]).toBe(PduType.CapsuleResp);
    r.close();
  });

  test('garbage bytes then close do not disturb the target', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await RawConnection.open({ host: t.host, port: t.tcpPort });
      await r.send(pattern(37 + i * 101, i));
      r.close();
    }
    await targetStillUp();
  });
});
