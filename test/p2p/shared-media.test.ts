/**
 * Shared RAM media: the SharedArrayBuffer segment layout of SharedMedia, a DeviceBackend
 * whose media is shared (dense chunk table of views into the segments) still reading and
 * writing like the private media, and the point of it all — another thread handed the
 * media's handle sees the bytes the backend wrote, and the backend reads the bytes that
 * thread wrote. The written flags: zeroing skips never-written chunks (no memory
 * committed by discarding them), and every writer — the backend, a reactor's LocalNs, a
 * worker writing through the handle — sets the flags the zeroing reads. Real memory and
 * a real worker thread; no mocks.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceBackend, MEDIA_CHUNK, sharedMediaFits } from '../../target/p2p/device-backend.js';
import { P2pDataPath } from '../../target/p2p/data-path.js';
import { SEGMENT_BYTES, SHARED_MEDIA_MAX, SharedMedia, type SharedMediaHandle } from '../../target/p2p/shared-media.js';
import { LocalNs } from '../../target/reactor/reactor-queue.js';
import type { NsView } from '../../target/reactor/protocol.js';
import type { DmaRecorder } from '../../src/copy/dma-recorder.js';
import { DRAM } from '../../src/copy/region.js';
import { loadBuiltinTopology } from '../../src/pci/load.js';
import type { Logger } from '../../target/core/log.js';
import { SSD1 } from './stack.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const CHUNK = 128 * KiB;

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let dp: P2pDataPath | null = null;
let worker: Worker | null = null;

afterEach(async () => {
  const w = worker;
  worker = null;
  if (w !== null) await w.terminate();
  const d = dp;
  dp = null;
  if (d !== null) await d.close();
});

function dataPath(opts: { sharedMedia?: boolean; workers?: number } = {}): P2pDataPath {
  dp = new P2pDataPath({
    topology: loadBuiltinTopology('default'),
    logger: silent,
    workers: opts.workers ?? 1,
    inlineThreshold: 16 * KiB,
    ...(opts.sharedMedia !== undefined ? { sharedMedia: opts.sharedMedia } : {}),
  });
  return dp;
}

function ramBackend(d: P2pDataPath, size: number): DeviceBackend {
  const be = d.backendFor({ kind: 'ram', size }, { nvme: SSD1 });
  expect(be).toBeInstanceOf(DeviceBackend);
  return be as DeviceBackend;
}

function pattern(n: number, seed: number, shared = false): Uint8Array {
  const a = shared ? new Uint8Array(new SharedArrayBuffer(n)) : new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = (i * 31 + seed) & 0xff;
  return a;
}

async function read(be: DeviceBackend, offset: number, n: number, fill = 0xee): Promise<Uint8Array> {
  const dst = new Uint8Array(n).fill(fill);
  await be.read(offset, dst);
  return dst;
}

/** Byte equality (vitest's toEqual walks a typed array element by element: ~0.5 s for 256 KiB). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.length);
  const e = Buffer.from(expected.buffer, expected.byteOffset, expected.length);
  if (!a.equals(e)) {
    let i = 0;
    while (a[i] === e[i]) i++;
    expect.fail(`bytes differ first at ${i}: ${a[i]} != ${e[i]}`);
  }
}

function allZero(a: Uint8Array): boolean {
  return a.every((x) => x === 0);
}

/** allZero for large arrays (a memcmp instead of a callback per byte). */
function zeroes(a: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.alloc(a.length));
}

/** Indices of the chunks whose written flag is set. */
function flagged(m: SharedMedia): number[] {
  const out: number[] = [];
  const f = m.written;
  for (let i = 0; i < f.length; i++) if (f[i] !== 0) out.push(i);
  return out;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

describe('SharedMedia layout', () => {
  // [size, segment lengths]
  const cases: [string, number, number[]][] = [
    ['one chunk', CHUNK, [CHUNK]],
    ['not a multiple of the chunk', 3 * CHUNK + 512, [3 * CHUNK + 512]],
    ['1 GiB exactly', GiB, [GiB]],
    ['1 GiB + 128 KiB', GiB + CHUNK, [GiB, CHUNK]],
    ['1 GiB + 128 KiB + 4 KiB (not a multiple of the chunk)', GiB + CHUNK + 4 * KiB, [GiB, CHUNK + 4 * KiB]],
  ];

  it.each(cases)('%s: segments, offsets and views', (_name, size, lengths) => {
    const m = new SharedMedia(size, CHUNK);
    expect(m.size).toBe(size);
    expect(m.chunkSize).toBe(CHUNK);
    // one written flag per chunk, all 0, in a SharedArrayBuffer of their own
    expect(m.written).toBeInstanceOf(Int32Array);
    expect(m.written.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(m.written.length).toBe(Math.ceil(size / CHUNK));
    expect(SharedMedia.chunkCount(size, CHUNK)).toBe(m.written.length);
    expect(m.written.every((f) => f === 0)).toBe(true);
    expect(SharedMedia.segmentCount(size)).toBe(lengths.length);
    expect(m.segments.map((s) => s.byteLength)).toEqual(lengths);
    expect(m.segments.every((s) => s instanceof SharedArrayBuffer)).toBe(true);
    lengths.forEach((l, i) => expect(m.segmentBytes(i)).toBe(l));
    // the last byte
    const last = size - 1;
    expect(m.segmentOf(last)).toBe(lengths.length - 1);
    expect(m.offsetInSegment(last)).toBe(lengths[lengths.length - 1]! - 1);
    // zero-initialised
    expect(m.view(0, Math.min(size, CHUNK)).every((x) => x === 0)).toBe(true);
    // a view is the segment's memory, not a copy
    const tail = m.view(last, 1);
    tail[0] = 0xa5;
    expect(new Uint8Array(m.segments[lengths.length - 1]!)[lengths[lengths.length - 1]! - 1]).toBe(0xa5);
    // every chunk lies in one segment
    expect(m.inOneSegment(size - Math.min(size, CHUNK), Math.min(size, CHUNK))).toBe(true);
    // outside the media
    expect(() => m.view(size - 1, 2)).toThrow(RangeError);
    expect(() => m.view(-1, 1)).toThrow(RangeError);
    expect(m.view(size, 0).length).toBe(0);
    if (lengths.length > 1) {
      expect(m.segmentOf(SEGMENT_BYTES - 1)).toBe(0);
      expect(m.segmentOf(SEGMENT_BYTES)).toBe(1);
      expect(m.offsetInSegment(SEGMENT_BYTES + 5)).toBe(5);
      expect(m.view(SEGMENT_BYTES - CHUNK, CHUNK).buffer).toBe(m.segments[0]);
      expect(m.view(SEGMENT_BYTES, CHUNK).buffer).toBe(m.segments[1]);
      // across the boundary: refused
      expect(m.inOneSegment(SEGMENT_BYTES - 4096, 8192)).toBe(false);
      expect(() => m.view(SEGMENT_BYTES - 4096, 8192)).toThrow(RangeError);
    }
    // the handle: same buffers (flags too), and back
    const h = m.handle();
    expect(h.size).toBe(size);
    expect(h.chunkSize).toBe(CHUNK);
    expect(h.segments.length).toBe(m.segments.length);
    h.segments.forEach((s, i) => expect(s).toBe(m.segments[i]));
    expect(h.written).toBe(m.written.buffer);
    const again = SharedMedia.fromHandle(h);
    expect(again.size).toBe(size);
    expect(again.chunkSize).toBe(CHUNK);
    again.segments.forEach((s, i) => expect(s).toBe(m.segments[i]));
    expect(again.view(last, 1)[0]).toBe(0xa5);
    again.written[again.written.length - 1] = 1;
    expect(m.written[m.written.length - 1]).toBe(1);
  });

  it('fits(): positive integers up to 64 GiB', () => {
    expect(SHARED_MEDIA_MAX).toBe(64 * GiB);
    expect(SEGMENT_BYTES % MEDIA_CHUNK).toBe(0);
    expect(SharedMedia.fits(SHARED_MEDIA_MAX)).toBe(true);
    expect(SharedMedia.fits(SHARED_MEDIA_MAX - 1)).toBe(true);
    expect(SharedMedia.fits(SHARED_MEDIA_MAX + 1)).toBe(false);
    expect(SharedMedia.fits(SHARED_MEDIA_MAX + CHUNK)).toBe(false);
    expect(SharedMedia.fits(1)).toBe(true);
    expect(SharedMedia.fits(0)).toBe(false);
    expect(SharedMedia.fits(-CHUNK)).toBe(false);
    expect(SharedMedia.fits(1.5)).toBe(false);
    expect(SharedMedia.fits(Number.NaN)).toBe(false);
    expect(SharedMedia.segmentCount(SHARED_MEDIA_MAX)).toBe(64);
    expect(() => new SharedMedia(SHARED_MEDIA_MAX + 1, CHUNK)).toThrow(RangeError);
    // chunk sizes: powers of two dividing the segment
    expect(new SharedMedia(GiB, GiB).written.length).toBe(1);
    expect(new SharedMedia(CHUNK, 4096).written.length).toBe(32);
    for (const cs of [0, -CHUNK, 3 * 4096, 2 * GiB, 1.5, Number.NaN]) expect(() => new SharedMedia(CHUNK, cs)).toThrow(RangeError);
    // the backend's rule: also a dense chunk table, chunks inside one segment
    expect(sharedMediaFits(SHARED_MEDIA_MAX, MEDIA_CHUNK)).toBe(true);
    expect(sharedMediaFits(SHARED_MEDIA_MAX + 1, MEDIA_CHUNK)).toBe(false);
    expect(sharedMediaFits(SHARED_MEDIA_MAX, 4096)).toBe(false); // 16 Mi chunks: beyond DENSE_MAX
    expect(sharedMediaFits(GiB, 4096)).toBe(true);
    expect(sharedMediaFits(4 * GiB, 2 * GiB)).toBe(false); // a chunk would straddle segments
  });

  it('fromHandle() refuses a handle that does not match its size, chunk size or flags', () => {
    const m = new SharedMedia(2 * CHUNK, CHUNK);
    const h = m.handle();
    const bad = (o: object | null): (() => SharedMedia) => () => SharedMedia.fromHandle((o === null ? null : { ...h, ...o }) as SharedMediaHandle);
    expect(bad({})()).toBeInstanceOf(SharedMedia);
    expect(bad({ size: 3 * CHUNK })).toThrow(RangeError);
    expect(bad({ size: GiB + 1 })).toThrow(RangeError);
    expect(bad({ segments: [new ArrayBuffer(2 * CHUNK)] })).toThrow(TypeError);
    expect(bad({ segments: undefined })).toThrow(TypeError);
    expect(bad(null)).toThrow(TypeError);
    // the chunk size: missing, not a power of two, or not the one the flags were sized for
    expect(bad({ chunkSize: undefined })).toThrow(RangeError);
    expect(bad({ chunkSize: 3 * 4096 })).toThrow(RangeError);
    expect(bad({ chunkSize: CHUNK / 2 })).toThrow(RangeError); // 4 chunks: 16 bytes of flags, not 8
    // the flags: missing, not shared, or the wrong length
    expect(bad({ written: undefined })).toThrow(TypeError);
    expect(bad({ written: new ArrayBuffer(8) })).toThrow(TypeError);
    expect(bad({ written: new SharedArrayBuffer(4) })).toThrow(RangeError);
    expect(bad({ written: new SharedArrayBuffer(12) })).toThrow(RangeError);
  });
});

describe('DeviceBackend with shared RAM media', () => {
  it('is off by default: sparse private media', () => {
    const be = ramBackend(dataPath(), 4 * MiB);
    expect(be.sharedMedia).toBeNull();
    expect(be.chunkCount).toBe(0);
    expect(be.allocatedBytes()).toBe(0);
    expect(be.chunkBytes).toBe(MEDIA_CHUNK);
  });

  it('falls back to private media above 64 GiB', () => {
    const be = ramBackend(dataPath({ sharedMedia: true }), SHARED_MEDIA_MAX + CHUNK);
    expect(be.sharedMedia).toBeNull();
    expect(be.chunkCount).toBe(0);
  });

  it.each([1, 0])('reads back what it wrote, unwritten reads zero, zeroing keeps the chunks (copy workers: %i)', async (workers) => {
    const size = 4 * MiB + 4096; // the last chunk is 4 KiB
    const be = ramBackend(dataPath({ sharedMedia: true, workers }), size);
    const m = be.sharedMedia!;
    expect(m).toBeInstanceOf(SharedMedia);
    expect(m.size).toBe(size);
    const chunks = 33;
    expect(be.chunkCount).toBe(chunks);
    expect(be.allocatedBytes()).toBe(size);
    expect(be.chunkBytes).toBe(CHUNK);

    // never written: zeroes (also across a chunk boundary and in the short last chunk)
    expect(allZero(await read(be, 0, 4096))).toBe(true);
    expect(allZero(await read(be, CHUNK - 4096, 8192))).toBe(true);
    expect(allZero(await read(be, size - 4096, 4096))).toBe(true);

    // 4 KiB, chunk-crossing, and worker-sized (shared staging, 256 KiB) writes
    const a = pattern(4096, 1);
    await be.write(8192, a);
    expectBytes(await read(be, 8192, 4096), a);
    const cross = pattern(8192, 2);
    await be.write(2 * CHUNK - 4096, cross);
    expectBytes(await read(be, 2 * CHUNK - 4096, 8192), cross);
    const big = pattern(2 * CHUNK, 3, true);
    await be.write(4 * CHUNK, big);
    const bigBack = new Uint8Array(new SharedArrayBuffer(2 * CHUNK));
    await be.read(4 * CHUNK, bigBack);
    expectBytes(bigBack, big);
    const tail = pattern(4096, 4);
    await be.write(size - 4096, tail);
    expectBytes(await read(be, size - 4096, 4096), tail);
    // the bytes are in the shared segments
    expectBytes(m.view(8192, 4096), a);
    expectBytes(m.view(size - 4096, 4096), tail);
    expect(be.chunkCount).toBe(chunks);

    // whole-chunk deallocate: zeroes in place (the view another thread holds sees them), chunk kept
    const held = m.view(4 * CHUNK, 2 * CHUNK);
    await be.deallocate(4 * CHUNK, 2 * CHUNK);
    expect(be.chunkCount).toBe(chunks);
    expect(be.allocatedBytes()).toBe(size);
    expect(allZero(held)).toBe(true);
    expect(allZero(await read(be, 4 * CHUNK, 2 * CHUNK))).toBe(true);
    // whole-chunk write zeroes, same
    await be.write(6 * CHUNK, pattern(CHUNK, 5));
    await be.writeZeroes(6 * CHUNK, CHUNK);
    expect(allZero(await read(be, 6 * CHUNK, CHUNK))).toBe(true);

    // partial write zeroes: only its range
    const before = await read(be, 2 * CHUNK - 4096, 8192);
    await be.writeZeroes(2 * CHUNK - 4096 + 512, 1024);
    const after = await read(be, 2 * CHUNK - 4096, 8192);
    expect(allZero(after.subarray(512, 1536))).toBe(true);
    expectBytes(after.subarray(0, 512), before.subarray(0, 512));
    expectBytes(after.subarray(1536), before.subarray(1536));
    // a range covering whole chunks and partial ends
    await be.write(8 * CHUNK, pattern(3 * CHUNK, 6));
    await be.deallocate(8 * CHUNK + 4096, 2 * CHUNK);
    const r = await read(be, 8 * CHUNK, 3 * CHUNK);
    expectBytes(r.subarray(0, 4096), pattern(3 * CHUNK, 6).subarray(0, 4096));
    expect(allZero(r.subarray(4096, 4096 + 2 * CHUNK))).toBe(true);
    expectBytes(r.subarray(4096 + 2 * CHUNK), pattern(3 * CHUNK, 6).subarray(4096 + 2 * CHUNK));
    expect(be.chunkCount).toBe(chunks);
  });

  it('close() drops the media; open() gives new zeroed media', async () => {
    const be = ramBackend(dataPath({ sharedMedia: true }), MiB);
    await be.open();
    const old = be.sharedMedia!;
    await be.write(0, pattern(4096, 7));
    await be.close();
    expect(be.sharedMedia).toBeNull();
    expect(be.chunkCount).toBe(0);
    expect(be.allocatedBytes()).toBe(0);
    // a thread holding the old media still has valid memory
    expectBytes(old.view(0, 4096), pattern(4096, 7));
    await be.open();
    const fresh = be.sharedMedia!;
    expect(fresh).not.toBe(old);
    expect(fresh.segments[0]).not.toBe(old.segments[0]);
    expect(be.chunkCount).toBe(8);
    expect(allZero(await read(be, 0, 4096))).toBe(true);
    await be.write(0, pattern(4096, 8));
    expectBytes(fresh.view(0, 4096), pattern(4096, 8));
  });
});

describe('written flags: zeroing skips never-written chunks', () => {
  it.each(['deallocate', 'writeZeroes'] as const)('%s of a whole never-written 1 GiB namespace commits no memory', async (op) => {
    const be = ramBackend(dataPath({ sharedMedia: true }), GiB);
    const m = be.sharedMedia!;
    // Two written chunks, so the flagged path runs in the same sweep.
    await be.write(5 * CHUNK + 4096, pattern(4096, 31));
    await be.write(GiB - CHUNK, pattern(CHUNK, 32));
    expect(flagged(m)).toEqual([5, GiB / CHUNK - 1]);
    // Zeroing runs synchronously (the promise is the interface's): nothing else allocates
    // between the two samples. Overwriting every chunk would commit the whole 1 GiB.
    const before = process.memoryUsage().rss;
    await be[op](0, GiB);
    const growth = process.memoryUsage().rss - before;
    expect(growth).toBeLessThan(64 * MiB);
    expect(flagged(m)).toEqual([]);
    expect(allZero(await read(be, 5 * CHUNK + 4096, 4096))).toBe(true);
    expect(zeroes(m.view(GiB - CHUNK, CHUNK))).toBe(true);
  });

  it.each([1, 0])('every write sets the flags of the chunks it touches; a written chunk deallocated reads zeros (copy workers: %i)', async (workers) => {
    const size = 4 * MiB + 4096; // 33 chunks, the last one 4 KiB
    const be = ramBackend(dataPath({ sharedMedia: true, workers }), size);
    const m = be.sharedMedia!;
    expect(m.chunkSize).toBe(be.chunkBytes);
    expect(m.written.length).toBe(33);
    expect(flagged(m)).toEqual([]);

    // one chunk (the single-chunk path), chunk-crossing, worker-sized (shared staging), the short last chunk
    const a = pattern(4096, 1);
    await be.write(2 * CHUNK + 8192, a);
    expect(flagged(m)).toEqual([2]);
    const cross = pattern(8192, 2);
    await be.write(6 * CHUNK - 4096, cross);
    expect(flagged(m)).toEqual([2, 5, 6]);
    const big = pattern(2 * CHUNK, 3, true);
    await be.write(8 * CHUNK, big);
    expect(flagged(m)).toEqual([2, 5, 6, 8, 9]);
    const tail = pattern(4096, 4);
    await be.write(size - 4096, tail);
    expect(flagged(m)).toEqual([2, 5, 6, 8, 9, 32]);
    // reads set nothing
    expectBytes(await read(be, 2 * CHUNK + 8192, 4096), a);
    expect(allZero(await read(be, 20 * CHUNK, 8192))).toBe(true);
    expect(flagged(m)).toEqual([2, 5, 6, 8, 9, 32]);

    // one written chunk deallocated whole: zeros, flag cleared, the others untouched
    await be.deallocate(2 * CHUNK, CHUNK);
    expect(allZero(await read(be, 2 * CHUNK + 8192, 4096))).toBe(true);
    expect(flagged(m)).toEqual([5, 6, 8, 9, 32]);
    expectBytes(await read(be, 6 * CHUNK - 4096, 8192), cross);

    // everything: every written chunk (the short last one too) reads zeros, no flag left
    await be.deallocate(0, size);
    expect(flagged(m)).toEqual([]);
    expect(zeroes(m.view(0, size))).toBe(true);
    expect(allZero(await read(be, 6 * CHUNK - 4096, 8192))).toBe(true);
    expect(allZero(await read(be, size - 4096, 4096))).toBe(true);
    const bigBack = new Uint8Array(new SharedArrayBuffer(2 * CHUNK)).fill(0xee);
    await be.read(8 * CHUNK, bigBack);
    expect(zeroes(bigBack)).toBe(true);

    // written again after the deallocate: flagged again, reads the new data
    await be.write(2 * CHUNK + 8192, a);
    expect(flagged(m)).toEqual([2]);
    expectBytes(await read(be, 2 * CHUNK + 8192, 4096), a);
  });

  it('a partial Write Zeroes zeros only its range: of a written chunk (flag kept), of a never-written one (nothing to do)', async () => {
    const be = ramBackend(dataPath({ sharedMedia: true }), 4 * MiB);
    const m = be.sharedMedia!;
    const data = pattern(CHUNK, 9);
    await be.write(3 * CHUNK, data);
    expect(flagged(m)).toEqual([3]);

    await be.writeZeroes(3 * CHUNK + 512, 1024);
    const r = await read(be, 3 * CHUNK, CHUNK);
    expectBytes(r.subarray(0, 512), data.subarray(0, 512));
    expect(allZero(r.subarray(512, 1536))).toBe(true);
    expectBytes(r.subarray(1536), data.subarray(1536));
    expect(flagged(m)).toEqual([3]); // the rest of the chunk still holds data

    // a never-written chunk: skipped, still zero, still unflagged
    await be.writeZeroes(4 * CHUNK + 4096, 8192);
    expect(allZero(await read(be, 4 * CHUNK, 16 * KiB))).toBe(true);
    expect(flagged(m)).toEqual([3]);

    // partial ends around a whole chunk: the ends zeroed in place (flags kept), the middle cleared
    const three = pattern(3 * CHUNK, 10);
    await be.write(8 * CHUNK, three);
    expect(flagged(m)).toEqual([3, 8, 9, 10]);
    await be.deallocate(8 * CHUNK + 4096, 2 * CHUNK);
    const r3 = await read(be, 8 * CHUNK, 3 * CHUNK);
    expectBytes(r3.subarray(0, 4096), three.subarray(0, 4096));
    expect(allZero(r3.subarray(4096, 4096 + 2 * CHUNK))).toBe(true);
    expectBytes(r3.subarray(4096 + 2 * CHUNK), three.subarray(4096 + 2 * CHUNK));
    expect(flagged(m)).toEqual([3, 8, 10]);
  });

  it('a write DMA in flight across a deallocate leaves its chunks flagged once it landed', async () => {
    const be = ramBackend(dataPath({ sharedMedia: true, workers: 1 }), 4 * MiB);
    const m = be.sharedMedia!;
    const big = pattern(2 * CHUNK, 12, true);
    const p = be.write(4 * CHUNK, big);
    expect(p).toBeInstanceOf(Promise); // on the copy worker (shared staging above the inline threshold)
    expect(flagged(m)).toEqual([4, 5]);
    // The host racing its own commands: the zeroing clears the flags while the copy may still
    // be landing. Whichever finished last, the flags say the chunks may hold data...
    await be.deallocate(4 * CHUNK, 2 * CHUNK);
    await p;
    expect(flagged(m)).toEqual([4, 5]);
    // ...so a later deallocate does zero them.
    await be.deallocate(4 * CHUNK, 2 * CHUNK);
    expect(flagged(m)).toEqual([]);
    expect(zeroes(m.view(4 * CHUNK, 2 * CHUNK))).toBe(true);
  });

  it("a reactor's LocalNs.write sets the flags the backend's zeroing reads", async () => {
    const size = 4 * MiB;
    const be = ramBackend(dataPath({ sharedMedia: true }), size);
    const m = be.sharedMedia!;
    const view: NsView = { nsid: 1, key: 0, shift: 12, nsze: size / 4096, owner: DRAM, chunk: be.chunkBytes, media: m.handle() };
    const ns = new LocalNs(view, view.chunk);
    const dma = { record: () => {} } as unknown as DmaRecorder;
    const cross = pattern(8192, 41);
    ns.write(3 * CHUNK - 4096, cross, dma); // chunks 2 and 3
    ns.write(7 * CHUNK, pattern(CHUNK, 42), dma); // chunk 7, whole
    expect(flagged(m)).toEqual([2, 3, 7]);
    expectBytes(await read(be, 3 * CHUNK - 4096, 8192), cross);
    await be.deallocate(0, size);
    expect(flagged(m)).toEqual([]);
    expect(allZero(await read(be, 3 * CHUNK - 4096, 8192))).toBe(true);
    expect(zeroes(m.view(7 * CHUNK, CHUNK))).toBe(true);
    // its flags are per media chunk: a view whose chunk is not the media's is refused
    expect(() => new LocalNs(view, CHUNK / 2)).toThrow(RangeError);
  });
});

describe('shared media across threads', () => {
  // CommonJS (an eval worker): writes a pattern into, or reads, the segment bytes it was
  // handed. A write goes chunk piece by chunk piece and sets each piece's written flag
  // after its bytes, as a reactor's LocalNs.write does (unless told `flag: false`).
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const SEG = ${SEGMENT_BYTES};
    const media = workerData;
    const CS = media.chunkSize;
    const written = new Int32Array(media.written);
    function bytes(offset, length) {
      const seg = Math.floor(offset / SEG);
      return new Uint8Array(media.segments[seg], offset - seg * SEG, length);
    }
    parentPort.on('message', (m) => {
      if (m.op === 'write') {
        for (let done = 0; done < m.length; ) {
          const pos = m.offset + done;
          const l = Math.min(CS - (pos % CS), m.length - done);
          const v = bytes(pos, l);
          for (let i = 0; i < l; i++) v[i] = ((done + i) * 31 + m.seed) & 0xff;
          if (m.flag !== false) written[Math.floor(pos / CS)] = 1;
          done += l;
        }
        parentPort.postMessage({ done: true });
      } else {
        parentPort.postMessage({ bytes: bytes(m.offset, m.length).slice() });
      }
    });
  `;

  function ask<T>(w: Worker, msg: object): Promise<T> {
    return within(
      new Promise<T>((resolve, reject) => {
        const off = (): void => {
          w.off('message', onMessage);
          w.off('error', onError);
          w.off('exit', onExit);
        };
        const onMessage = (m: T): void => {
          off();
          resolve(m);
        };
        const onError = (e: Error): void => {
          off();
          reject(e);
        };
        const onExit = (c: number): void => {
          off();
          reject(new Error(`worker exited (${c})`));
        };
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
        w.postMessage(msg);
      }),
      10_000,
      `worker ${JSON.stringify(msg)}`,
    );
  }

  it('a worker handed sharedMedia.handle() writes what backend.read() returns, and reads what backend.write() stored', async () => {
    // Two segments, so the handle's second SharedArrayBuffer is exercised too.
    const size = GiB + 2 * CHUNK;
    const be = ramBackend(dataPath({ sharedMedia: true }), size);
    const m = be.sharedMedia!;
    expect(m.segments.length).toBe(2);
    worker = new Worker(code, { eval: true, workerData: m.handle() });
    const w = worker;

    for (const [offset, length, seed] of [
      [12 * KiB, 4096, 11], // segment 0, inside one chunk
      [GiB + CHUNK - 4096, 8192, 12], // segment 1, across two chunks
      [GiB - 4096, 4096, 13], // the last bytes of segment 0
    ] as const) {
      // worker writes, backend reads
      expect(await ask<{ done: boolean }>(w, { op: 'write', offset, length, seed })).toEqual({ done: true });
      expectBytes(await read(be, offset, length), pattern(length, seed));
      // backend writes, worker reads
      const src = pattern(length, seed + 100);
      await be.write(offset, src);
      const got = await ask<{ bytes: Uint8Array }>(w, { op: 'read', offset, length });
      expectBytes(new Uint8Array(got.bytes), src);
    }
    // a 256 KiB write through the copy worker (shared staging above the inline threshold)
    const big = pattern(2 * CHUNK, 21, true);
    await be.write(GiB, big);
    const got = await ask<{ bytes: Uint8Array }>(w, { op: 'read', offset: GiB, length: 2 * CHUNK });
    expectBytes(new Uint8Array(got.bytes), big);
    // a deallocate the worker sees
    await be.deallocate(GiB, CHUNK);
    const z = await ask<{ bytes: Uint8Array }>(w, { op: 'read', offset: GiB, length: CHUNK });
    expect(allZero(new Uint8Array(z.bytes))).toBe(true);
  });

  it("the flags are shared: a worker's write, flagged like LocalNs flags it, is zeroed by the main thread's deallocate", async () => {
    const size = 4 * MiB;
    const be = ramBackend(dataPath({ sharedMedia: true }), size);
    const m = be.sharedMedia!;
    worker = new Worker(code, { eval: true, workerData: m.handle() });
    const w = worker;

    // chunks 0 and 1 (across the boundary), and chunk 3 whole
    expect(await ask<{ done: boolean }>(w, { op: 'write', offset: CHUNK - 4096, length: 8192, seed: 51 })).toEqual({ done: true });
    expect(await ask<{ done: boolean }>(w, { op: 'write', offset: 3 * CHUNK, length: CHUNK, seed: 52 })).toEqual({ done: true });
    // the worker's flags are the main thread's flags
    expect(flagged(m)).toEqual([0, 1, 3]);
    expectBytes(await read(be, CHUNK - 4096, 8192), pattern(8192, 51));

    await be.deallocate(0, size);
    expect(flagged(m)).toEqual([]);
    expect(allZero(await read(be, CHUNK - 4096, 8192))).toBe(true);
    expect(zeroes(await read(be, 3 * CHUNK, CHUNK))).toBe(true);
    // and the worker reads the zeros too
    const z = await ask<{ bytes: Uint8Array }>(w, { op: 'read', offset: 3 * CHUNK, length: CHUNK });
    expect(zeroes(new Uint8Array(z.bytes))).toBe(true);

    // The flag is what the zeroing reads: a write that does not set it is skipped (the
    // contract every writer keeps; shown here so the test above cannot pass without the flags).
    expect(await ask<{ done: boolean }>(w, { op: 'write', offset: 5 * CHUNK, length: CHUNK, seed: 53, flag: false })).toEqual({ done: true });
    await be.deallocate(5 * CHUNK, CHUNK);
    expectBytes(await read(be, 5 * CHUNK, CHUNK), pattern(CHUNK, 53));
  });
});
