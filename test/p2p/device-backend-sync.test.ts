/**
 * The RAM media hot path completes without a promise: a read or write whose DMA runs
 * inline (below the copy engine's threshold, or memory the workers cannot see) has
 * landed when DeviceBackend returns, so the command completes in the same turn; an
 * unwritten range reads as zeroes; larger shared transfers still go to a worker.
 */
import { describe, expect, it } from 'vitest';
import { DeviceBackend } from '../../target/p2p/device-backend.js';
import { DataDir } from '../../target/core/fabrics-ops.js';
import { perTest, startStack } from './stack.js';

const t = perTest();

describe('DeviceBackend RAM media: synchronous inline DMA', () => {
  it('4 KiB and chunk-crossing reads/writes return undefined (landed), unwritten blocks read as zeroes, worker-sized ones a promise', async () => {
    t.stack = await startStack({ workers: 1, inlineThreshold: 64 * 1024 });
    const be = t.stack.ns(1).backend;
    expect(be).toBeInstanceOf(DeviceBackend);
    const d = be as DeviceBackend;
    const src = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
    expect(d.write(8192, src)).toBeUndefined();
    const dst = new Uint8Array(4096).fill(0xee);
    expect(d.read(8192, dst)).toBeUndefined();
    expect(Buffer.from(dst).equals(Buffer.from(src))).toBe(true);
    // never written: zeroes, also across a media-chunk boundary (two descriptors, one of them the zero source)
    const z = new Uint8Array(8192).fill(0xee);
    expect(d.read(128 * 1024 - 4096, z)).toBeUndefined();
    expect(z.every((x) => x === 0)).toBe(true);
    const cross = new Uint8Array(8192).fill(0x5a);
    expect(d.write(256 * 1024 - 4096, cross)).toBeUndefined();
    const back = new Uint8Array(8192);
    expect(d.read(256 * 1024 - 4096, back)).toBeUndefined();
    expect(back.every((x) => x === 0x5a)).toBe(true);
    // worker-sized and in shared memory: a promise, the data there once it resolves
    const big = new Uint8Array(new SharedArrayBuffer(128 * 1024)).fill(0x11);
    const p = d.write(0, big);
    expect(p).toBeInstanceOf(Promise);
    await p;
    const bigBack = new Uint8Array(new SharedArrayBuffer(128 * 1024));
    await d.read(0, bigBack);
    expect(bigBack.every((x) => x === 0x11)).toBe(true);
  });

  it('without copy workers, media and system-memory staging are plain memory, and reads, writes, partial zeroing and the zero source still hold', async () => {
    t.stack = await startStack({ workers: 0 });
    const dp = t.stack.dp;
    expect(dp.engine.sharedMemory).toBe(false);
    const d = t.stack.ns(1).backend as DeviceBackend;
    const staged = dp.staging.alloc(4096, { qid: 1, nsid: 1, cntlid: 1, dataDir: DataDir.H2C, portId: 1, ns: t.stack.ns(1) });
    const region = dp.staging.regionOf(staged.bytes);
    expect(region.memory).toBeInstanceOf(Uint8Array);
    expect((region.memory as Uint8Array).buffer).not.toBeInstanceOf(SharedArrayBuffer);
    staged.bytes.set(new Uint8Array(4096).map((_, i) => (i * 13 + 1) & 0xff));
    expect(d.write(4096, staged.bytes)).toBeUndefined();
    const back = new Uint8Array(8192).fill(0xee);
    expect(d.read(0, back)).toBeUndefined();
    expect(back.subarray(0, 4096).every((x) => x === 0)).toBe(true); // never written: the zero source
    expect(Buffer.from(back.subarray(4096)).equals(Buffer.from(staged.bytes))).toBe(true);
    // write zeroes over part of a written chunk fills plain memory in place
    expect(d.writeZeroes(4096 + 512, 1024)).toBeUndefined();
    const z = new Uint8Array(4096);
    expect(d.read(4096, z)).toBeUndefined();
    expect(z.subarray(512, 1536).every((x) => x === 0)).toBe(true);
    expect(z[0]).toBe(staged.bytes[0]);
    expect(z[1536]).toBe(staged.bytes[1536]);
    // a 256 KiB transfer crosses media chunks: still inline, still landed on return
    const big = new Uint8Array(256 * 1024).fill(0x77);
    expect(d.write(1 << 20, big)).toBeUndefined();
    const bigBack = new Uint8Array(256 * 1024);
    expect(d.read(1 << 20, bigBack)).toBeUndefined();
    expect(bigBack.every((x) => x === 0x77)).toBe(true);
    staged.free();
    expect(dp.engine.stats.workerSubmissions).toBe(0);
  });

  it('with copy workers the memory they may copy is shared', async () => {
    t.stack = await startStack({ workers: 1 });
    expect(t.stack.dp.engine.sharedMemory).toBe(true);
    const staged = t.stack.dp.staging.alloc(4096, { qid: 1, nsid: 1, cntlid: 1, dataDir: DataDir.H2C, portId: 1, ns: t.stack.ns(1) });
    expect(t.stack.dp.staging.regionOf(staged.bytes).memory).toBeInstanceOf(SharedArrayBuffer);
    staged.free();
  });
});
