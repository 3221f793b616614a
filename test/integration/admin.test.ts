/**
 * Admin commands end to end through the initiator: log pages, features,
 * keep alive, and the generic error statuses on the admin queue.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, NvmeError } from '../../initiator/index.js';
import type { Controller } from '../../initiator/index.js';
import { NvmeStatus, statusCode } from '../../src/nvme/status.js';
import { FeatureId, FeatureSel, decodeNumQueues } from '../../src/nvme/features.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { encodeSqe, SQE_SIZE } from '../../src/nvme/sqe.js';
import { encodeIdentifyCommand } from '../../src/nvme/identify.js';
import { startTarget, SUBNQN, pattern } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget;
let c: Controller;

beforeAll(async () => {
  t = await startTarget({ namespaces: { 1: 16 << 20 } });
  c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 2 });
});
afterAll(async () => {
  await c?.close();
  await t?.stop();
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof NvmeError)) throw new Error(`expected an NvmeError, got ${String(e)}`);
  return e.status;
}

describe('log pages', () => {
  test('SMART / health counts host reads and writes', async () => {
    const before = await c.smartLog();
    await c.write(1, 0, pattern(8 * 512, 3));
    await c.read(1, 0, 8);
    await c.read(1, 8, 8);
    const after = await c.smartLog();
    expect(after.hostWriteCommands - before.hostWriteCommands).toBe(1n);
    expect(after.hostReadCommands - before.hostReadCommands).toBe(2n);
    expect(after.temperature).toBeGreaterThan(200); // kelvin
  });

  test('error log records a failed command', async () => {
    const sqe = encodeSqe(new Uint8Array(SQE_SIZE), { opcode: 0x02, nsid: 1 });
    sqe[40] = 0xff; // slba far beyond the namespace
    sqe[44] = 0xff;
    const r = await c.submit(1, sqe, { dataIn: 512 });
    expect(statusCode(r.status)).toBe(NvmeStatus.LbaOutOfRange);
    const log = await c.errorLog();
    expect(log.length).toBeGreaterThan(0);
    const newest = log.reduce((a, b) => (b.errorCount > a.errorCount ? b : a));
    expect(newest.errorCount).toBeGreaterThan(0n);
    expect(statusCode(newest.status)).toBe(NvmeStatus.LbaOutOfRange);
    expect(newest.sqid).toBe(1);
    expect(newest.cid).toBe(r.cid);
  });

  test('Get Log Page honours offset and length', async () => {
    const whole = await c.getLogPage(LogId.Smart, 512);
    const part = await c.getLogPage(LogId.Smart, 64, { offset: 32 });
    // No I/O runs between the two reads, so bytes 32..95 (data units read/written, host commands) are equal.
    expect(part.length).toBe(64);
    expect(Buffer.from(part).equals(Buffer.from(whole.subarray(32, 96)))).toBe(true);
    expect(part.some((x) => x !== 0)).toBe(true);
  });

  test('changed namespace list is empty without changes', async () => {
    expect(await c.changedNamespaces()).toEqual([]);
  });

  test('an unsupported log page is Invalid Log Page', async () => {
    expect(statusCode(await statusOf(c.getLogPage(0xbe, 512)))).toBe(NvmeStatus.InvalidLogPage);
  });
});

describe('features', () => {
  test('Number of Queues reports what was granted', async () => {
    const { dw0 } = await c.getFeatures(FeatureId.NumberOfQueues);
    const n = decodeNumQueues(dw0);
    expect(n.nsq + 1).toBeGreaterThanOrEqual(c.ioQueues.length);
  });

  test('Keep Alive Timer reads back the Connect KATO', async () => {
    const { dw0 } = await c.getFeatures(FeatureId.KeepAliveTimer);
    expect(dw0).toBe(c.kato);
  });

  test('Async Event Configuration round-trips', async () => {
    await c.setFeatures(FeatureId.AsyncEventConfig, 1 << 8);
    expect((await c.getFeatures(FeatureId.AsyncEventConfig)).dw0 & (1 << 8)).toBe(1 << 8);
    await c.setFeatures(FeatureId.AsyncEventConfig, 0);
    expect((await c.getFeatures(FeatureId.AsyncEventConfig)).dw0 & (1 << 8)).toBe(0);
  });

  test('Volatile Write Cache can be read', async () => {
    const { dw0 } = await c.getFeatures(FeatureId.VolatileWriteCache);
    expect(dw0 === 0 || dw0 === 1).toBe(true);
  });

  test('an unknown feature is Invalid Field', async () => {
    expect(statusCode(await statusOf(c.getFeatures(0x7d)))).toBe(NvmeStatus.InvalidField);
    expect(statusCode(await statusOf(c.setFeatures(0x7d, 1)))).toBe(NvmeStatus.InvalidField);
  });

  test('SEL=supported capabilities answers for a known feature', async () => {
    const { dw0 } = await c.getFeatures(FeatureId.AsyncEventConfig, { sel: FeatureSel.SupportedCapabilities });
    expect(dw0 & ~7).toBe(0);
  });
});

describe('admin errors and misc', () => {
  test('Keep Alive succeeds', async () => {
    await c.keepAlive();
  });

  test('an unknown admin opcode is Invalid Opcode with DNR', async () => {
    const r = await c.submit(0, encodeSqe(new Uint8Array(SQE_SIZE), { opcode: 0xc3 }));
    expect(statusCode(r.status)).toBe(NvmeStatus.InvalidOpcode);
    expect(r.status & 0x4000).toBe(0x4000);
  });

  test('an I/O opcode on the admin queue is not executed as I/O', async () => {
    // 0x01 is Create I/O SQ on the admin queue: not a fabrics admin command.
    const r = await c.submit(0, encodeSqe(new Uint8Array(SQE_SIZE), { opcode: 0x01, nsid: 1 }));
    expect(statusCode(r.status)).toBe(NvmeStatus.InvalidOpcode);
  });

  test('Identify with an unsupported CNS is Invalid Field', async () => {
    const sqe = encodeIdentifyCommand(new Uint8Array(SQE_SIZE), { cns: 0x7f });
    const r = await c.submit(0, sqe, { dataIn: 4096 });
    expect(statusCode(r.status)).toBe(NvmeStatus.InvalidField);
  });

  test('Identify Namespace of NSID FFFFFFFFh is Invalid Namespace', async () => {
    const sqe = encodeIdentifyCommand(new Uint8Array(SQE_SIZE), { cns: 0, nsid: 0xffff_ffff });
    const r = await c.submit(0, sqe, { dataIn: 4096 });
    expect(statusCode(r.status)).toBe(NvmeStatus.InvalidNs);
  });
});
