/**
 * The RAM media hot path completes without a promise: a read or write whose DMA runs
 * inline (below the copy engine's threshold, or memory the workers cannot see) has
 * landed when DeviceBackend returns, so the command completes in the same turn; an
 * unwritten range reads as zeroes; larger shared transfers still go to a worker.
 */
import { describe, expect, it } from 'vitest';
import { DeviceBackend } from '../../target/p2p/device-backend.js';
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
});
