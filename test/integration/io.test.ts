/**
 * I/O commands end to end: data integrity, which wire path each write takes
 * (in-capsule, forced transport SGL + R2T, multi-R2T beyond MAXH2CDATA),
 * C2HData reassembly (split PDUs, SUCCESS flag), digests, MDTS splitting, error
 * statuses, and many connections/queues at depth.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import type { Controller } from '../../initiator/index.js';
import { NvmeStatus, statusCode } from '../../src/nvme/status.js';
import { encodeRwCommand, encodeSqe, SQE_SIZE } from '../../src/nvme/sqe.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { nvmeStatusOf, startTarget, SUBNQN, pattern } from './harness.js';
import type { TargetOptions, TestTarget } from './harness.js';

let t: TestTarget | null = null;
const ctrls: Controller[] = [];
afterEach(async () => {
  for (const c of ctrls.splice(0)) await c.close();
  await t?.stop();
  t = null;
});

async function setup(o: TargetOptions = {}, c: Partial<Parameters<typeof connect>[0]> = {}): Promise<Controller> {
  t = await startTarget(o);
  const ctrl = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1, ...c });
  ctrls.push(ctrl);
  return ctrl;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('data path', () => {
  test('small writes go in-capsule, larger ones through R2T/H2CData, both read back intact', async () => {
    const c = await setup({ inlineDataSize: 8192 });
    const q = c.ioQueues[0]!;
    expect(q.inCapsuleMax).toBe(c.identity!.ioccsz * 16 - 64);
    expect(q.inCapsuleMax).toBeGreaterThanOrEqual(4096);

    const small = pattern(4096, 1);
    const s0 = { ...q.stats };
    await c.write(1, 0, small);
    expect(q.stats.inCapsuleWrites - s0.inCapsuleWrites).toBe(1);
    expect(q.stats.r2ts - s0.r2ts).toBe(0);

    const big = pattern(64 * 1024, 2);
    const s1 = { ...q.stats };
    await c.write(1, 100, big);
    expect(q.stats.inCapsuleWrites - s1.inCapsuleWrites).toBe(0);
    expect(q.stats.r2ts - s1.r2ts).toBeGreaterThanOrEqual(1);
    expect(q.stats.h2cPdus - s1.h2cPdus).toBeGreaterThanOrEqual(1);

    expect(sameBytes(await c.read(1, 0, 8), small)).toBe(true);
    expect(sameBytes(await c.read(1, 100, 128), big)).toBe(true);
  });

  test('a small write forced through a transport SGL takes the R2T path', async () => {
    const c = await setup();
    const q = c.ioQueues[0]!;
    const d = pattern(512, 3);
    const s0 = { ...q.stats };
    await c.write(1, 7, d, { forceR2T: true });
    expect(q.stats.inCapsuleWrites - s0.inCapsuleWrites).toBe(0);
    expect(q.stats.r2ts - s0.r2ts).toBe(1);
    expect(q.stats.h2cPdus - s0.h2cPdus).toBe(1);
    expect(sameBytes(await c.read(1, 7, 1), d)).toBe(true);
  });

  test('writes larger than MAXH2CDATA are carried by several R2T/H2CData rounds', async () => {
    const c = await setup({ tcp: { maxH2CData: 4096 }, namespaces: { 1: 32 << 20 } });
    const q = c.ioQueues[0]!;
    expect(q.ic.maxh2cdata).toBe(4096);
    const d = pattern(256 * 1024, 4);
    const s0 = { ...q.stats };
    await c.write(1, 2048, d);
    const h2c = q.stats.h2cPdus - s0.h2cPdus;
    expect(h2c).toBeGreaterThanOrEqual(64); // never more than MAXH2CDATA per PDU
    expect(sameBytes(await c.read(1, 2048, 512), d)).toBe(true);
  });

  test('reads split into many C2HData PDUs are reassembled in place', async () => {
    const c = await setup({ tcp: { c2hChunk: 4096 } });
    const q = c.ioQueues[0]!;
    const d = pattern(128 * 1024, 5);
    await c.write(1, 0, d);
    const into = new Uint8Array(128 * 1024 + 512);
    const s0 = { ...q.stats };
    const got = await c.read(1, 0, 256, into);
    expect(got.buffer).toBe(into.buffer); // landed in the caller's buffer, no copy
    expect(q.stats.c2hPdus - s0.c2hPdus).toBe(32);
    expect(sameBytes(got, d)).toBe(true);
  });

  test('with SQ flow control disabled, reads complete on C2HData SUCCESS without a CapsuleResp', async () => {
    const c = await setup({}, { disableSqFlow: true });
    const q = c.ioQueues[0]!;
    const d = pattern(16 * 1024, 6);
    await c.write(1, 64, d);
    const s0 = { ...q.stats };
    expect(sameBytes(await c.read(1, 64, 32), d)).toBe(true);
    expect(q.stats.c2hSuccess - s0.c2hSuccess).toBe(1);
    expect(q.stats.capsuleResps - s0.capsuleResps).toBe(0);
  });

  test('header and data digests: reads and writes verify end to end', async () => {
    const c = await setup({ tcp: { c2hChunk: 8192 } }, { hdgst: true, ddgst: true, queues: 2 });
    for (const q of c.ioQueues) {
      expect(q.ic.hdgst).toBe(true);
      expect(q.ic.ddgst).toBe(true);
    }
    const small = pattern(2048, 7);
    const big = pattern(96 * 1024, 8);
    await c.write(1, 0, small);
    await c.write(1, 1000, big);
    await c.write(1, 500, small, { forceR2T: true });
    expect(sameBytes(await c.read(1, 0, 4), small)).toBe(true);
    expect(sameBytes(await c.read(1, 1000, 192), big)).toBe(true);
    expect(sameBytes(await c.read(1, 500, 4), small)).toBe(true);
  });

  test('transfers above MDTS are split into several commands', async () => {
    const c = await setup({ maxDataTransferSize: 64 * 1024, namespaces: { 1: 16 << 20 } });
    expect(c.maxTransferBytes).toBe(64 * 1024);
    const q = c.ioQueues[0]!;
    const d = pattern(1 << 20, 9);
    const s0 = { ...q.stats };
    await c.write(1, 0, d);
    expect(q.stats.commands - s0.commands).toBe(16);
    expect(sameBytes(await c.read(1, 0, 2048), d)).toBe(true);
  });

  test('a TCP controller advertises a finite MDTS (2 MiB) and fails larger commands with Invalid Field', async () => {
    const c = await setup({ namespaces: { 1: 16 << 20 } });
    expect(c.maxTransferBytes).toBe(2 << 20);
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 8192 });
    const r = await c.submit(1, sqe, { dataIn: 4 << 20 });
    expect(statusCode(r.status)).toBe(NvmeStatus.InvalidField);
    // exactly MDTS still works
    const ok = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 4096 });
    expect((await c.submit(1, ok, { dataIn: 2 << 20 })).status).toBe(0);
  });

  test('flush, write zeroes, deallocate, FUA', async () => {
    const c = await setup();
    const d = pattern(8192, 10);
    await c.write(1, 0, d, { fua: true });
    await c.flush(1);
    await c.writeZeroes(1, 4, 8);
    const r = await c.read(1, 0, 16);
    expect(sameBytes(r.subarray(0, 2048), d.subarray(0, 2048))).toBe(true);
    expect(r.subarray(2048, 6144).every((x) => x === 0)).toBe(true);
    expect(sameBytes(r.subarray(6144, 8192), d.subarray(6144, 8192))).toBe(true);

    await c.write(1, 200, d);
    await c.deallocate(1, [{ slba: 200, nlb: 16 }]);
    const ns = await c.identifyNamespace(1);
    if ((ns.dlfeat & 7) === 1) expect((await c.read(1, 200, 16)).every((x) => x === 0)).toBe(true);
    await c.writeZeroes(1, 300, 16, { deallocate: true });
    expect((await c.read(1, 300, 16)).every((x) => x === 0)).toBe(true);
  });
});

describe('I/O errors', () => {
  test('LBA Out of Range, Invalid Namespace, Invalid Opcode, Data SGL Length Invalid', async () => {
    const c = await setup({ namespaces: { 1: 1 << 20 } });
    const nlb = (1 << 20) / 512;
    expect(await nvmeStatusOf(c.read(1, nlb - 1, 2))).toBe(NvmeStatus.LbaOutOfRange);
    expect(await nvmeStatusOf(c.write(1, nlb, pattern(512)))).toBe(NvmeStatus.LbaOutOfRange);
    expect(await nvmeStatusOf(c.writeZeroes(1, nlb - 4, 8))).toBe(NvmeStatus.LbaOutOfRange);

    // nsid 9 is not attached: raw command, geometry lookup would fail first in read()
    const rd = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Read, cid: 0, nsid: 9, slba: 0, blocks: 1 });
    expect(statusCode((await c.submit(1, rd, { dataIn: 512 })).status)).toBe(NvmeStatus.InvalidNs);
    expect(statusCode((await c.submit(1, encodeSqe(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Flush, nsid: 0 }))).status)).toBe(NvmeStatus.InvalidNs);

    const bad = await c.submit(1, encodeSqe(new Uint8Array(SQE_SIZE), { opcode: 0x7e, nsid: 1 }));
    expect(statusCode(bad.status)).toBe(NvmeStatus.InvalidOpcode);
    expect(bad.status & 0x4000).toBe(0x4000); // DNR

    // DSM announcing 4 ranges (NR=3) with only one range of data: Data SGL Length Invalid (Linux nvmet_check_data_len_lte)
    const dsm = encodeSqe(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.DatasetManagement, nsid: 1, cdw10: 3, cdw11: 4 });
    const r = await c.submit(1, dsm, { dataOut: new Uint8Array(16) });
    expect(statusCode(r.status)).toBe(NvmeStatus.SglInvalidDataLength);

    // Flush of a valid but inactive NSID is Invalid Namespace, not success.
    // (Invalid Field is covered on the admin queue: unknown FID, unknown CNS, Property Set of CAP.)
    const fl = encodeSqe(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Flush, nsid: 2 });
    expect(statusCode((await c.submit(1, fl)).status)).toBe(NvmeStatus.InvalidNs);

    // the queue stays usable after every error
    await c.write(1, 0, pattern(512, 11));
  });

  test('a read whose transport SGL length disagrees with NLB is rejected, not overrun', async () => {
    const c = await setup();
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 8 });
    // dataIn of 512 bytes → the queue advertises a 512-byte SGL for a 4 KiB read
    const r = await c.submit(1, sqe, { dataIn: 512 });
    expect(r.status).not.toBe(0);
    expect(r.dataLen).toBe(0);
  });
});

describe('concurrency', () => {
  test('many controllers × queues at depth, every write read back', async () => {
    t = await startTarget({ namespaces: { 1: 64 << 20 } });
    const N_CTRL = 4;
    const N_Q = 3;
    const QD = 16;
    const cs = await Promise.all(
      Array.from({ length: N_CTRL }, () => connect({ host: t!.host, port: t!.tcpPort, subnqn: SUBNQN, queues: N_Q, queueDepth: QD })),
    );
    ctrls.push(...cs);
    expect(t.subsys.controllers.length).toBe(N_CTRL);
    const IOS_PER_QUEUE = QD * 3; // three times the depth: exercises SQ flow control backlog
    const bs = 4096;
    const jobs: Promise<void>[] = [];
    let slot = 0;
    for (const c of cs) {
      for (const q of c.ioQueues) {
        for (let i = 0; i < IOS_PER_QUEUE; i++) {
          const lba = slot++ * 8;
          const d = pattern(bs, lba + 1);
          jobs.push(
            (async () => {
              await c.write(1, lba, d, { qid: q.qid });
              const r = await c.read(1, lba, 8, undefined, { qid: q.qid });
              if (!sameBytes(r, d)) throw new Error(`mismatch at LBA ${lba}`);
            })(),
          );
        }
      }
    }
    await Promise.all(jobs);
    for (const c of cs) {
      for (const q of c.ioQueues) {
        expect(q.outstanding).toBe(0);
        // every queue ran at full depth, and the surplus waited for CIDs (SQ flow control)
        expect(q.stats.peakOutstanding).toBe(QD);
        expect(q.stats.peakQueued).toBeGreaterThan(0);
      }
    }
  });

  test('round-robin spreads I/O over the queues', async () => {
    const c = await setup({}, { queues: 3 });
    const before = c.ioQueues.map((q) => q.stats.commands);
    await Promise.all(Array.from({ length: 30 }, (_, i) => c.read(1, i, 1)));
    const delta = c.ioQueues.map((q, i) => q.stats.commands - before[i]!);
    expect(delta).toEqual([10, 10, 10]);
  });
});
