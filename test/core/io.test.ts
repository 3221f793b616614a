import { afterEach, describe, expect, it } from 'vitest';
import { setup, pattern, type Fixture } from './setup.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import { encodeRwCommand, encodeSqe } from '../../src/nvme/sqe.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { submit } from '../../target/loop/host.js';
import type { RamBackend } from '../../target/backend/ram.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

const noMore = (s: number): number => s & ~STATUS_MORE;

describe.each([512, 4096] as const)('I/O commands, %i-byte blocks', (bs) => {
  const SIZE = 8 << 20;
  const nsze = SIZE / bs;

  it('Write then Read returns the data; unwritten blocks read as zeroes', async () => {
    f = await setup({ namespaces: [{ nsid: 1, size: SIZE, blockSize: bs }] });
    const c = await f.ready();
    const q = await c.connectIo(1);
    const data = pattern(8 * bs, 3);
    expect((await c.write(q, 1, 100, data, bs)).status).toBe(0);
    const r = await c.read(q, 1, 100, 8, bs);
    expect(r.status).toBe(0);
    expect(r.data).toEqual(data);
    const z = await c.read(q, 1, 200, 2, bs);
    expect(z.data!.every((x) => x === 0)).toBe(true);
    // Last block of the namespace is addressable.
    expect((await c.write(q, 1, nsze - 1, pattern(bs, 4), bs)).status).toBe(0);
    expect((await c.read(q, 1, nsze - 1, 1, bs)).data).toEqual(pattern(bs, 4));
  });

  it('LBA Out of Range (spec status, DNR) for ranges past the end, including a 64-bit SLBA', async () => {
    f = await setup({ namespaces: [{ nsid: 1, size: SIZE, blockSize: bs }] });
    const c = await f.ready();
    const q = await c.connectIo(1);
    expect(noMore((await c.read(q, 1, nsze, 1, bs)).status)).toBe(NvmeStatus.LbaOutOfRange | STATUS_DNR);
    expect(noMore((await c.read(q, 1, nsze - 1, 2, bs)).status)).toBe(NvmeStatus.LbaOutOfRange | STATUS_DNR);
    expect(noMore((await c.write(q, 1, nsze - 1, pattern(2 * bs, 1), bs)).status)).toBe(NvmeStatus.LbaOutOfRange | STATUS_DNR);
    expect(noMore((await c.writeZeroes(q, 1, nsze, 1)).status)).toBe(NvmeStatus.LbaOutOfRange | STATUS_DNR);
    const huge = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0xffff_ffff_ffff_fff0n, blocks: 1 });
    expect(noMore((await submit(q, huge, undefined, bs)).status)).toBe(NvmeStatus.LbaOutOfRange | STATUS_DNR);
  });

  it('Write Zeroes zeroes the range only', async () => {
    f = await setup({ namespaces: [{ nsid: 1, size: SIZE, blockSize: bs }] });
    const c = await f.ready();
    const q = await c.connectIo(1);
    const data = pattern(4 * bs, 5);
    await c.write(q, 1, 10, data, bs);
    expect((await c.writeZeroes(q, 1, 11, 2)).status).toBe(0);
    const r = (await c.read(q, 1, 10, 4, bs)).data!;
    expect(r.subarray(0, bs)).toEqual(data.subarray(0, bs));
    expect(r.subarray(bs, 3 * bs).every((x) => x === 0)).toBe(true);
    expect(r.subarray(3 * bs)).toEqual(data.subarray(3 * bs));
  });
});

describe('I/O commands', () => {
  it('Flush succeeds; Dataset Management deallocate zeroes (DLFEAT) and validates every range first', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    expect((await c.flush(q, 1)).status).toBe(0);
    await c.write(q, 1, 0, pattern(64 * 512, 1), 512);
    // A bad second range: nothing is deallocated.
    const bad = await c.dsm(q, 1, [{ slba: 0, nlb: 8 }, { slba: (64 << 20) / 512, nlb: 1 }]);
    expect(noMore(bad.status)).toBe(NvmeStatus.LbaOutOfRange | STATUS_DNR);
    expect((await c.read(q, 1, 0, 8, 512)).data).toEqual(pattern(64 * 512, 1).subarray(0, 8 * 512));
    expect((await c.dsm(q, 1, [{ slba: 0, nlb: 8 }, { slba: 32, nlb: 4 }])).status).toBe(0);
    const r = (await c.read(q, 1, 0, 64, 512)).data!;
    const want = pattern(64 * 512, 1);
    want.fill(0, 0, 8 * 512);
    want.fill(0, 32 * 512, 36 * 512);
    expect(r).toEqual(want);
    // Without the AD attribute DSM is a no-op.
    await c.write(q, 1, 0, pattern(512, 9), 512);
    expect((await c.dsm(q, 1, [{ slba: 0, nlb: 1 }], false)).status).toBe(0);
    expect((await c.read(q, 1, 0, 1, 512)).data).toEqual(pattern(512, 9));
  });

  it('Invalid Namespace for unknown, disabled and broadcast nsids', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    expect(noMore((await c.read(q, 2, 0, 1, 512)).status)).toBe(NvmeStatus.InvalidNs | STATUS_DNR);
    expect(noMore((await c.flush(q, 0xffffffff)).status)).toBe(NvmeStatus.InvalidNs | STATUS_DNR);
    await f.subsys.getNamespace(1)!.disable();
    expect(noMore((await c.read(q, 1, 0, 1, 512)).status)).toBe(NvmeStatus.InvalidNs | STATUS_DNR);
  });

  it('MDTS: a transfer larger than the limit is Invalid Field; at the limit it works', async () => {
    f = await setup({ loop: { maxTransferSize: 64 * 1024 } });
    const c = await f.ready();
    const q = await c.connectIo(1);
    expect((await c.write(q, 1, 0, pattern(64 * 1024, 1), 512)).status).toBe(0);
    expect(noMore((await c.write(q, 1, 0, pattern(64 * 1024 + 512, 1), 512)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect(noMore((await c.read(q, 1, 0, 129, 512)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    // The target option can lower it further.
    await f.close();
    f = await setup({ maxDataTransferSize: 16 * 1024 });
    const c2 = await f.ready();
    const q2 = await c2.connectIo(1);
    expect(noMore((await c2.read(q2, 1, 0, 33, 512)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect((await c2.read(q2, 1, 0, 32, 512)).status).toBe(0);
  });

  it('the SGL length must match the command: Data SGL Length Invalid otherwise', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const rd = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba: 0, blocks: 2 });
    expect(noMore((await submit(q, rd, undefined, 512)).status)).toBe(NvmeStatus.SglInvalidDataLength | STATUS_DNR);
    const wr = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Write, cid: 0, nsid: 1, slba: 0, blocks: 1 });
    expect(noMore((await submit(q, wr, pattern(1024, 1))).status)).toBe(NvmeStatus.SglInvalidDataLength | STATUS_DNR);
    const fl = encodeSqe(new Uint8Array(64), { opcode: IoOpcode.Flush, nsid: 1 });
    expect(noMore((await submit(q, fl, undefined, 512)).status)).toBe(NvmeStatus.SglInvalidDataLength | STATUS_DNR);
  });

  it('unknown I/O opcodes and admin-only fabrics commands are refused', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const cmp = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Compare, cid: 0, nsid: 1, slba: 0, blocks: 1 });
    expect(noMore((await submit(q, cmp, pattern(512, 1))).status)).toBe(NvmeStatus.InvalidOpcode | STATUS_DNR);
    const pg = new Uint8Array(64);
    pg[0] = 0x7f;
    pg[4] = 0x04;
    expect(noMore((await submit(q, pg)).status)).toBe(0x185 | STATUS_DNR);
  });

  it('FUA and a disabled write cache make writes durable (flush after write)', async () => {
    f = await setup();
    const backend = f.subsys.getNamespace(1)!.backend as RamBackend;
    let flushes = 0;
    const orig = backend.flush.bind(backend);
    backend.flush = () => {
      flushes++;
      return orig();
    };
    const c = await f.ready();
    const q = await c.connectIo(1);
    await c.write(q, 1, 0, pattern(512, 1), 512);
    expect(flushes).toBe(0);
    await c.write(q, 1, 0, pattern(512, 1), 512, 0x4000_0000);
    expect(flushes).toBe(1);
    await c.setFeatures(0x06, 0);
    await c.write(q, 1, 0, pattern(512, 1), 512);
    expect(flushes).toBe(2);
  });

  it('many concurrent commands on several queues keep their data apart and staging does not leak', async () => {
    f = await setup();
    const c = await f.ready();
    const qs = [await c.connectIo(1), await c.connectIo(2), await c.connectIo(3)];
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 96; i++) writes.push(c.write(qs[i % 3]!, 1, i * 16, pattern(16 * 512, i + 1), 512));
    await Promise.all(writes);
    const reads = await Promise.all(Array.from({ length: 96 }, (_, i) => c.read(qs[(i + 1) % 3]!, 1, i * 16, 16, 512)));
    // Buffer.equals: vitest's deep equality is slow on large typed arrays.
    reads.forEach((r, i) => expect(Buffer.from(r.data!).equals(pattern(16 * 512, i + 1)), `read ${i}`).toBe(true));
    await new Promise((r) => setImmediate(r));
    const staging = f.nvmet.staging as unknown as { outstandingBuffers: number };
    expect(staging.outstandingBuffers).toBe(0);
  });

  it('a namespace disabled under load waits for in-flight commands', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const ns = f.subsys.getNamespace(1)!;
    const inflight = Array.from({ length: 20 }, (_, i) => c.write(q, 1, i, pattern(512, i), 512));
    const disabled = ns.disable();
    const results = await Promise.all(inflight);
    await disabled;
    expect(ns.state).toBe('disabled');
    expect(ns.inflightCommands).toBe(0);
    // Each command either ran or was refused cleanly.
    for (const r of results) expect([0, NvmeStatus.InvalidNs | STATUS_DNR]).toContain(r.status & ~STATUS_MORE);
  });
});
