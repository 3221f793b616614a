/**
 * Edge cases a careful host can provoke on purpose: command sequencing around
 * CC.EN and Connect, property access rules, SGL/length disagreements, AER limit,
 * Abort. Each expects the status Linux nvmet returns.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import type { Controller } from '../../initiator/index.js';
import { NvmeStatus, statusCode } from '../../src/nvme/status.js';
import { encodeRwCommand, encodeSqe, SQE_SIZE } from '../../src/nvme/sqe.js';
import { IoOpcode, AdminOpcode } from '../../src/nvme/opcodes.js';
import { Reg } from '../../src/nvme/registers.js';
import { encodeIdentifyCommand } from '../../src/nvme/identify.js';
import { encodeConnectCommand, encodeConnectData, uuidToBytes, CNTLID_DYNAMIC } from '../../src/nvme/fabrics.js';
import { writeInCapsuleSgl } from '../../src/nvme/sgl.js';
import { nvmeStatusOf, startTarget, SUBNQN, HOSTNQN, HOSTID, pattern } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget | null = null;
const ctrls: Controller[] = [];
afterEach(async () => {
  for (const c of ctrls.splice(0)) await c.close();
  await t?.stop();
  t = null;
});

async function setup(o: Partial<Parameters<typeof connect>[0]> = {}): Promise<Controller> {
  t ??= await startTarget();
  const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, hostnqn: HOSTNQN, hostid: HOSTID, queues: 1, ...o });
  ctrls.push(c);
  return c;
}

describe('sequencing', () => {
  test('admin commands before CC.EN=1 are a Command Sequence Error; Property Get/Set are allowed', async () => {
    const c = await setup({ skipEnable: true, skipIdentify: true, queues: 0 });
    const r = await c.submit(0, encodeIdentifyCommand(new Uint8Array(SQE_SIZE), { cns: 1 }), { dataIn: 4096 });
    expect(statusCode(r.status)).toBe(NvmeStatus.CommandSequenceError);
    expect(Number(await c.propertyGet(Reg.Cc, 4)) & 1).toBe(0);
  });

  test('a second Connect on a connected admin queue is Invalid Opcode (Linux parses it as a fabrics admin command)', async () => {
    const c = await setup({ queues: 0 });
    const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid: 0, sqsize: 31 });
    const data = encodeConnectData({ hostId: uuidToBytes(HOSTID), cntlid: CNTLID_DYNAMIC, subnqn: SUBNQN, hostnqn: HOSTNQN });
    const r = await c.submit(0, sqe, { dataOut: data });
    expect(statusCode(r.status)).toBe(NvmeStatus.InvalidOpcode);
    expect(r.status & 0x4000).toBe(0x4000);
    // the association still works
    await c.keepAlive();
  });

  test('an admin opcode on an I/O queue: namespace checked first (Invalid Namespace), then Invalid Opcode', async () => {
    const c = await setup();
    // Linux nvmet_parse_io_cmd looks the namespace up before the opcode.
    const r0 = await c.submit(1, encodeIdentifyCommand(new Uint8Array(SQE_SIZE), { cns: 1, nsid: 0 }), { dataIn: 4096 });
    expect(statusCode(r0.status)).toBe(NvmeStatus.InvalidNs);
    const r1 = await c.submit(1, encodeIdentifyCommand(new Uint8Array(SQE_SIZE), { cns: 1, nsid: 1 }), { dataIn: 4096 });
    expect(statusCode(r1.status)).toBe(NvmeStatus.InvalidOpcode);
    expect(r1.dataLen).toBe(0);
  });
});

describe('queues', () => {
  test('SQ head in completions advances modulo SQSIZE+1', async () => {
    const c = await setup({ queueDepth: 4 });
    const q = c.ioQueues[0]!;
    expect(q.depth).toBe(4);
    const heads: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await c.submit(1, encodeSqe(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Flush, nsid: 1 }));
      expect(r.status).toBe(0);
      heads.push(r.sqhd);
    }
    // SQSIZE 4 → 5 entries: consecutive heads differ by one, modulo 5
    for (let i = 1; i < heads.length; i++) expect(heads[i]).toBe((heads[i - 1]! + 1) % 5);
  });

  test('an I/O queue Connect with SQSIZE above CAP.MQES is Connect Invalid Parameters', async () => {
    const c = await setup({ queues: 0 });
    const mqes = Number(c.cap & 0xffffn);
    const { HostQueue } = await import('../../initiator/host-queue.js');
    const q = await HostQueue.open({ host: t!.host, port: t!.tcpPort });
    try {
      q.inCapsuleMax = 8192;
      const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid: 1, sqsize: mqes + 1 });
      const data = encodeConnectData({ hostId: uuidToBytes(HOSTID), cntlid: c.cntlid, subnqn: SUBNQN, hostnqn: HOSTNQN });
      const r = await q.submit({ sqe, dataOut: data });
      expect(statusCode(r.status)).toBe(NvmeStatus.ConnectInvalidParam);
    } finally {
      q.close();
    }
  });
});

describe('Disconnect', () => {
  test('Disconnect on an I/O queue completes, then the controller closes that connection only', async () => {
    const { encodeDisconnect } = await import('../../src/nvme/fabrics.js');
    const c = await setup({ queues: 2 });
    const r = await c.submit(2, encodeDisconnect(new Uint8Array(SQE_SIZE), 0));
    expect(r.status).toBe(0);
    const q2 = c.ioQueues[1]!;
    for (let i = 0; i < 200 && !q2.closed; i++) await new Promise((res) => setTimeout(res, 10));
    expect(q2.closed).toBe(true);
    // queue 1 and the admin queue carry on
    await c.write(1, 0, pattern(512, 1), { qid: 1 });
    await c.keepAlive();
  });
});

describe('properties', () => {
  test('Property Set of a read-only property and Property Get of an unknown offset are Invalid Field', async () => {
    const c = await setup({ queues: 0 });
    expect(await nvmeStatusOf(c.propertySet(Reg.Cap, 8, 0n))).toBe(NvmeStatus.InvalidField);
    expect(await nvmeStatusOf(c.propertyGet(0x1f0, 4))).toBe(NvmeStatus.InvalidField);
    // CAP reads the same as at connect
    expect(await c.propertyGet(Reg.Cap, 8)).toBe(c.cap);
  });
});

describe('data pointer disagreements', () => {
  test('a write whose transport SGL is shorter than NLB says is Data SGL Length Invalid', async () => {
    const c = await setup();
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Write, cid: 0, nsid: 1, slba: 0, blocks: 8 });
    const r = await c.submit(1, sqe, { dataOut: pattern(512), forceR2T: true });
    expect(statusCode(r.status)).toBe(NvmeStatus.SglInvalidDataLength);
  });

  test('a read whose transport SGL is shorter than NLB says is Data SGL Length Invalid', async () => {
    const c = await setup();
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 8 });
    const r = await c.submit(1, sqe, { dataIn: 512 });
    expect(statusCode(r.status)).toBe(NvmeStatus.SglInvalidDataLength);
    expect(r.dataLen).toBe(0);
  });

  test('an in-capsule SGL on a read (controller-to-host) is rejected', async () => {
    const c = await setup();
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 1 });
    sqe[1] = 0x40;
    writeInCapsuleSgl(sqe, 512, 0, 24);
    const r = await c.submit(1, sqe, { dataIn: 512, rawDptr: true });
    expect(r.status).not.toBe(0);
    expect([NvmeStatus.InvalidField, NvmeStatus.SglInvalidType, NvmeStatus.SglInvalidOffset]).toContain(statusCode(r.status));
    expect(r.dataLen).toBe(0);
  });
});

describe('AER and Abort', () => {
  test('AERs beyond AERL+1 are Asynchronous Event Request Limit Exceeded', async () => {
    const c = await setup({ queues: 0 });
    const limit = c.identity!.aerl + 1;
    const sqe = encodeSqe(new Uint8Array(SQE_SIZE), { opcode: AdminOpcode.AsyncEventRequest });
    const outstanding = Array.from({ length: limit }, () => c.submit(0, sqe, { timeoutMs: 0 }));
    const over = await c.submit(0, sqe, { timeoutMs: 2000 });
    expect(statusCode(over.status)).toBe(NvmeStatus.AsyncEventLimitExceeded);
    // the ones within the limit stay outstanding until the association ends
    await c.close();
    const settled = await Promise.allSettled(outstanding);
    expect(settled.every((s) => s.status === 'rejected' || statusCode(s.value.status) === NvmeStatus.AbortedSqDeletion)).toBe(true);
  });

  test('Abort completes successfully and reports the command as not aborted', async () => {
    const c = await setup({ queues: 0 });
    const r = await c.submit(0, encodeSqe(new Uint8Array(SQE_SIZE), { opcode: AdminOpcode.Abort, cdw10: 0x0001_0001 }));
    expect(r.status).toBe(0);
    expect(r.dw0 & 1).toBe(1);
  });
});
