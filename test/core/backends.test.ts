import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setup, pattern, type Fixture } from './setup.js';
import { RamBackend, RAM_DEFAULT_CHUNK } from '../../target/backend/ram.js';
import { FileBackend } from '../../target/backend/file.js';
import { decodeIdentifyNamespace } from '../../src/nvme/identify-ns.js';

const GiB = 1 << 30;

describe('RAM backend', () => {
  it('is sparse: a 1 GiB namespace only holds the chunks written', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const b = new RamBackend(GiB);
    await b.open();
    expect(b.allocatedBytes()).toBe(0);
    // Writes spread over the whole GiB, each touching one chunk.
    for (let i = 0; i < 16; i++) b.write(i * (GiB / 16), pattern(4096, i));
    // Reads anywhere (including never-written areas) allocate nothing.
    const dst = new Uint8Array(1 << 20);
    for (let i = 0; i < 16; i++) b.read(i * (GiB / 16) + (GiB / 32), dst);
    expect(dst.every((x) => x === 0)).toBe(true);
    expect(b.chunkCount).toBe(16);
    expect(b.allocatedBytes()).toBe(16 * RAM_DEFAULT_CHUNK);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 << 20);
    await b.close();
  });

  it('reads back writes that straddle chunk boundaries', () => {
    const b = new RamBackend(1 << 20, 4096);
    const data = pattern(3 * 4096 + 1024, 7);
    b.write(4096 - 512, data);
    const out = new Uint8Array(data.length);
    b.read(4096 - 512, out);
    expect(out).toEqual(data);
    expect(b.chunkCount).toBe(5);
  });

  it('Write Zeroes and deallocate free whole chunks and zero partial ones', () => {
    const b = new RamBackend(1 << 20, 4096);
    b.write(0, pattern(16 * 4096, 1));
    expect(b.chunkCount).toBe(16);
    b.writeZeroes(4096, 4 * 4096);
    expect(b.chunkCount).toBe(12);
    b.deallocate(8 * 4096 + 512, 4096); // partial on two chunks
    expect(b.chunkCount).toBe(12);
    const out = new Uint8Array(16 * 4096);
    b.read(0, out);
    const want = pattern(16 * 4096, 1);
    want.fill(0, 4096, 5 * 4096);
    want.fill(0, 8 * 4096 + 512, 9 * 4096 + 512);
    expect(out).toEqual(want);
    // A huge range over a sparse map visits only allocated chunks.
    b.deallocate(0, 1 << 20);
    expect(b.chunkCount).toBe(0);
  });

  it('a 1 GiB namespace through the target stays small after I/O and Write Zeroes', async () => {
    const f = await setup({ namespaces: [{ nsid: 1, size: GiB, blockSize: 4096 }] });
    try {
      const c = await f.ready();
      const q = await c.connectIo(1);
      const id = decodeIdentifyNamespace((await c.identify(0, 1)).data!);
      expect(id.nsze).toBe(BigInt(GiB / 4096));
      const backend = f.subsys.getNamespace(1)!.backend as RamBackend;
      await c.write(q, 1, 0, pattern(4096, 1), 4096);
      await c.write(q, 1, GiB / 4096 - 1, pattern(4096, 2), 4096);
      expect((await c.read(q, 1, 1000, 16, 4096)).data!.every((x) => x === 0)).toBe(true);
      expect(backend.chunkCount).toBe(2);
      await c.writeZeroes(q, 1, 0, 16);
      expect(backend.chunkCount).toBe(1);
    } finally {
      await f.close();
    }
  });
});

describe('file backend', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nvmet-ts-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing file at the given size; refuses to create without one', async () => {
    const p = join(dir, 'ns1.img');
    const b = new FileBackend(p, 4 << 20);
    await b.open();
    expect((await stat(p)).size).toBe(4 << 20);
    expect(b.size).toBe(4 << 20);
    await b.close();
    await expect(new FileBackend(join(dir, 'none.img')).open()).rejects.toThrow(/does not exist/);
  });

  it('uses an existing file as is, and grows it to a larger configured size', async () => {
    const p = join(dir, 'ns.img');
    await writeFile(p, pattern(8192, 3));
    const b = new FileBackend(p);
    await b.open();
    expect(b.size).toBe(8192);
    const out = new Uint8Array(4096);
    await b.read(4096, out);
    expect(out).toEqual(pattern(8192, 3).subarray(4096));
    await b.close();
    const g = new FileBackend(p, 1 << 20);
    await g.open();
    expect(g.size).toBe(1 << 20);
    await g.close();
  });

  it('persists data written through the target across a restart', async () => {
    const p = join(dir, 'persist.img');
    const data = pattern(16 * 512, 11);
    const run = async (fn: (f: Fixture) => Promise<void>): Promise<void> => {
      const f = await setup({ namespaces: [] });
      try {
        await f.subsys.addNamespace({ nsid: 1, backend: { kind: 'file', path: p, size: 2 << 20 } }).enable();
        await fn(f);
      } finally {
        await f.close();
      }
    };
    await run(async (f) => {
      const c = await f.ready();
      const q = await c.connectIo(1);
      expect((await c.write(q, 1, 40, data, 512)).status).toBe(0);
      expect((await c.flush(q, 1)).status).toBe(0);
      expect((await c.writeZeroes(q, 1, 42, 2)).status).toBe(0);
    });
    const expected = data.slice();
    expected.fill(0, 2 * 512, 4 * 512);
    const raw = await readFile(p);
    expect(raw.length).toBe(2 << 20);
    expect(raw.subarray(40 * 512, 56 * 512).equals(expected)).toBe(true);
    await run(async (f) => {
      const c = await f.ready();
      const q = await c.connectIo(1);
      const r = await c.read(q, 1, 40, 16, 512);
      expect(r.status).toBe(0);
      expect(r.data).toEqual(expected);
      const id = decodeIdentifyNamespace((await c.identify(0, 1)).data!);
      expect(id.nsze).toBe(BigInt((2 << 20) / 512));
      // No hole punching from Node: deallocated blocks are not promised to read as zeroes.
      expect(id.dlfeat & 7).toBe(0);
    });
  });

  it('4 KiB blocks on a file', async () => {
    const p = join(dir, 'ns4k.img');
    const f = await setup({ namespaces: [] });
    try {
      await f.subsys.addNamespace({ nsid: 1, blockSize: 4096, backend: { kind: 'file', path: p, size: 1 << 20 } }).enable();
      const c = await f.ready();
      const q = await c.connectIo(1);
      expect((await c.write(q, 1, 255, pattern(4096, 5), 4096)).status).toBe(0);
      expect((await c.read(q, 1, 255, 1, 4096)).data).toEqual(pattern(4096, 5));
      expect(((await c.read(q, 1, 256, 1, 4096)).status & 0xff)).toBe(0x80);
    } finally {
      await f.close();
    }
    expect((await readFile(p)).subarray(255 * 4096).equals(pattern(4096, 5))).toBe(true);
  });
});
