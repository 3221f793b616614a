/**
 * The command bound with the real core: a queue's slots are 2 × the queue size
 * its Connect negotiated (SQSIZE + 1), as Linux nvmet_tcp_install_queue; one
 * capsule more is a C2HTermReq PDU Sequence Error and the connection closes.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RawConnection } from '../../initiator/index.js';
import { Fes, PduType } from '../../src/tcp/constants.js';
import { startTarget, SUBNQN } from './harness.js';
import type { TestTarget } from './harness.js';
import { capsule, connectCapsule, enableCapsule, icreq } from '../fuzz/tcp-fuzz.js';

let t: TestTarget;
beforeAll(async () => {
  t = await startTarget();
});
afterAll(async () => {
  await t?.stop();
});

/** Asynchronous Event Request: the controller holds it (up to 4), so its slot stays taken. */
function aer(cid: number): Buffer {
  const sqe = Buffer.alloc(64);
  sqe[0] = 0x0c;
  sqe[1] = 0x40;
  sqe.writeUInt16LE(cid, 2);
  return capsule(sqe, null);
}

function keepAlive(cid: number): Buffer {
  const sqe = Buffer.alloc(64);
  sqe[0] = 0x18;
  sqe[1] = 0x40;
  sqe.writeUInt16LE(cid, 2);
  return capsule(sqe, null);
}

test('admin queue of SQSIZE 1: 4 commands in flight are fine, the 5th is a PDU Sequence Error', async () => {
  const r = await RawConnection.open({ host: t.host, port: t.tcpPort });
  await r.send(icreq(() => 0, true));
  expect((await r.readPdu(3000))[0]).toBe(PduType.ICResp);
  await r.send(connectCapsule(0, 1, 0xffff, 1, SUBNQN, 0));
  const resp = await r.readPdu(3000);
  expect(resp[0]).toBe(PduType.CapsuleResp);
  expect(Buffer.from(resp).readUInt16LE(8 + 14) >> 1).toBe(0);
  await r.send(enableCapsule(2));
  expect((await r.readPdu(3000))[0]).toBe(PduType.CapsuleResp);
  for (let i = 0; i < 4; i++) await r.send(aer(10 + i));
  // all four held: nothing comes back, the connection stays
  await new Promise((s) => setTimeout(s, 200));
  expect(r.closed).toBe(false);
  const extra = keepAlive(20);
  await r.send(extra);
  const term = await r.readPdu(3000);
  expect(term[0]).toBe(PduType.C2HTermReq);
  const dv = Buffer.from(term);
  expect(dv.readUInt16LE(8)).toBe(Fes.PduSequenceError);
  // the offending header follows the 24-byte TermReq header: the Keep Alive capsule (cid 20)
  expect(dv.readUInt16LE(24 + 8 + 2)).toBe(20);
  await r.waitClosed(5000);
});
