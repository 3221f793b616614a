/**
 * The simulated NVMe/RDMA transport over the emulated JBOF: RDMA READ/WRITE between
 * host memory regions and staging are the RNIC's DMAs, run by the copy engine (worker
 * threads for large transfers) and routed through the fabric.
 */
import { describe, expect, it } from 'vitest';
import { RdmaController } from '../../initiator/rdma/controller.js';
import { NvmeError } from '../../initiator/errors.js';
import { encodeRwCommand, SQE_SIZE } from '../../src/nvme/sqe.js';
import { writeKeyedSgl, writeSgl } from '../../src/nvme/sgl.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { NvmeStatus } from '../../src/nvme/status.js';
import { NIC, ROOT_PORT_LINK, SUBNQN, linkDelta, pattern, perTest, startStack, waitFor, type Stack } from '../p2p/stack.js';
import { verifiedWorkload } from '../p2p/workload.js';


const t = perTest<RdmaController>();

async function connect(s: Stack, queues = 2): Promise<RdmaController> {
  const c = await RdmaController.connect({ fabric: s.fabric, traddr: s.traddr, trsvcid: s.trsvcid, subnqn: SUBNQN, queues });
  await c.geometry(1);
  await c.geometry(2);
  return c;
}

describe('NVMe over simulated RDMA on the default JBOF', () => {
  it('with allow_p2pmem: RDMA READ/WRITE go NIC ↔ p2pmem, 0 bytes through the root complex and system memory', async () => {
    t.stack = await startStack({ trtype: 'rdma', allowP2pmem: true });
    const provider = t.stack.dp.portState(1)!.provider!;
    expect(provider).not.toBeNull();
    const full = t.stack.dp.p2pdma.stats(provider).size;
    t.host = await connect(t.stack);
    const before = t.stack.dp.accounting.snapshot();
    const h = t.host;
    const w = await verifiedWorkload(h, { alloc: (n) => h.allocBuffer(n) });
    const after = t.stack.dp.accounting.snapshot();
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(0);
    expect(after.dramBytes - before.dramBytes).toBe(0);
    expect(after.dmaBytes - before.dmaBytes).toBe(2 * (w.bytesWritten + w.bytesRead));
    expect(linkDelta(before, after, `0000:02:00.0<->${NIC}`)).toEqual({ up: w.bytesWritten, down: w.bytesRead });
    expect(t.stack.dp.engine.stats.workerSubmissions).toBeGreaterThan(0);
    expect(t.stack.dp.portState(1)!.p2pAllocations).toBe(w.commands);
    await t.host.close();
    t.host = null;
    expect(t.stack.dp.p2pdma.stats(provider).available).toBe(full);
    expect(t.stack.dp.dram.outstandingBuffers).toBe(0);
  });

  it('with system-memory staging: each payload byte crosses the root port twice', async () => {
    t.stack = await startStack({ trtype: 'rdma', allowP2pmem: false });
    t.host = await connect(t.stack);
    const before = t.stack.dp.accounting.snapshot();
    const w = await verifiedWorkload(t.host);
    const after = t.stack.dp.accounting.snapshot();
    const payload = w.bytesWritten + w.bytesRead;
    expect(linkDelta(before, after, ROOT_PORT_LINK)).toEqual({ up: payload, down: payload });
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(2 * payload);
    expect(after.dramBytes - before.dramBytes).toBe(2 * payload);
  });

  it('in-capsule write data reaches staging as a NIC DMA; data verified', async () => {
    t.stack = await startStack({ trtype: 'rdma', allowP2pmem: true, inlineDataSize: 16384 });
    t.host = await connect(t.stack, 1);
    const data = pattern(8192, 3);
    const before = t.stack.dp.accounting.snapshot();
    await t.host.write(1, 100, data, { inCapsule: true });
    const after = t.stack.dp.accounting.snapshot();
    expect(linkDelta(before, after, `0000:02:00.0<->${NIC}`).up).toBe(8192);
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(0);
    expect(Buffer.compare(Buffer.from(await t.host.read(1, 100, 16)), Buffer.from(data))).toBe(0);
    // Beyond the port's inline size: SGL Offset Invalid (nvmet_rdma_map_sgl_inline).
    const big = pattern(32768, 4);
    await expect(t.host.write(1, 200, big, { inCapsule: true })).rejects.toMatchObject({ status: NvmeStatus.SglInvalidOffset | 0x4000 });
  });

  it('a keyed SGL naming no registered memory fails the command with Data Transfer Error, the queue survives', async () => {
    t.stack = await startStack({ trtype: 'rdma', allowP2pmem: true });
    t.host = await connect(t.stack, 1);
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Write, cid: 0, nsid: 1, slba: 0, blocks: 8 });
    writeKeyedSgl(sqe, 0x1234_5000, 4096, 0xdead_beef, false, 24);
    const c = await t.host.submit(1, { sqe, rawDptr: true, dataOut: new Uint8Array(4096) });
    expect(c.status & 0x7ff).toBe(NvmeStatus.DataXferError);
    // A transport data block is not an RDMA SGL.
    const sqe2 = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 8 });
    writeSgl(sqe2, 5, 0xa, 0, 4096, 24);
    const c2 = await t.host.submit(1, { sqe: sqe2, rawDptr: true });
    expect(c2.status & 0x7ff).toBe(NvmeStatus.SglInvalidType);
    await t.host.write(1, 0, pattern(4096, 9));
    expect(t.stack.dp.dram.outstandingBuffers).toBe(0);
    const p = t.stack.dp.portState(1)!.provider!;
    expect(t.stack.dp.p2pdma.stats(p).outstanding).toBe(0);
  });

  it('NVMe errors come back as NvmeError (LBA out of range)', async () => {
    t.stack = await startStack({ trtype: 'rdma' });
    t.host = await connect(t.stack, 1);
    const g = await t.host.geometry(1);
    await expect(t.host.read(1, g.nsze, 1)).rejects.toBeInstanceOf(NvmeError);
  });

  it('killing the host mid-I/O leaks no p2pmem and no system memory', async () => {
    t.stack = await startStack({ trtype: 'rdma', allowP2pmem: true, namespaces: [{ nsid: 1, size: 256 << 20 }, { nsid: 2, size: 64 << 20, nvme: '0000:05:00.0' }] });
    const provider = t.stack.dp.portState(1)!.provider!;
    const full = t.stack.dp.p2pdma.stats(provider).size;
    for (let round = 0; round < 3; round++) {
      const h = await connect(t.stack, 2);
      const buf = h.allocBuffer(1 << 20);
      pattern(buf.length, round, buf);
      const inflight: Promise<unknown>[] = [];
      for (let i = 0; i < 24; i++) {
        const view = buf.subarray(0, (i % 4 + 1) * 256 * 1024);
        inflight.push(i % 2 === 0 ? h.write(1, i * 2048, view) : h.read(1, i * 2048, view.length / 512, view));
      }
      // Let some commands reach the target and start their DMAs, then drop every connection.
      const all = Promise.allSettled(inflight);
      await waitFor(() => t.stack!.dp.staging.outstandingP2p + t.stack!.dp.staging.outstandingSystem > 0);
      h.abort();
      const settled = await all;
      expect(settled.some((r) => r.status === 'rejected')).toBe(true);
    }
    await waitFor(() => t.stack!.dp.p2pdma.stats(provider).outstanding === 0 && t.stack!.dp.dram.outstandingBuffers === 0);
    expect(t.stack.dp.p2pdma.stats(provider).available).toBe(full);
    await waitFor(() => t.stack!.nvmet.getSubsystem(SUBNQN)!.controllers.length === 0);
  });
});
