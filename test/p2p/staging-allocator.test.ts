/**
 * The staging allocator seen from the SSD model and the RDMA mover: `regionOf(view)`
 * names the memory behind a live staging buffer's exact view (p2pmem BAR or a
 * system-memory SharedArrayBuffer), and nothing else — not a subarray, not a freed
 * buffer's view, not another data path's buffer.
 */
import { describe, expect, it } from 'vitest';
import { DataDir } from '../../target/core/fabrics-ops.js';
import type { StagingContext } from '../../target/core/staging.js';
import { DRAM } from '../../src/copy/region.js';
import { perTest, startStack, type Stack } from './stack.js';
import { DramPool } from '../../target/p2p/dram-pool.js';

const t = perTest();

function ioCtx(s: Stack, qid = 1): StagingContext {
  return { qid, nsid: 1, cntlid: 1, dataDir: DataDir.C2H, portId: 1, ns: qid === 0 ? null : s.ns(1) };
}

describe('P2pStagingAllocator.regionOf', () => {
  it('maps each live view to its own p2pmem or system-memory region, and forgets it on free', async () => {
    const s = (t.stack = await startStack({ allowP2pmem: true }));
    const provider = s.dp.portState(1)!.provider!;
    const st = s.dp.staging;

    const bufs = Array.from({ length: 32 }, () => st.alloc(4096, ioCtx(s)));
    const regions = bufs.map((b) => st.regionOf(b.bytes));
    const bar = s.dp.topology.get(provider)!.bars.find((b) => b.isBacked)!;
    for (const r of regions) {
      expect(r.owner).toBe(provider);
      expect(r.memory).toBe(bar.memory());
      expect(r.length).toBe(4096);
    }
    // one contiguous page each, lowest address first, no two alike
    const offsets = regions.map((r) => r.offset);
    expect(new Set(offsets).size).toBe(32);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(offsets[31]! - offsets[0]!).toBe(31 * 4096);

    // only the exact view: a subarray is untracked main-thread memory
    const sub = bufs[0]!.bytes.subarray(0, 512);
    expect(st.regionOf(sub)).toEqual({ memory: sub, offset: 0, length: 512, owner: DRAM });

    // admin data stages in system memory, still found by its view
    const admin = st.alloc(8192, ioCtx(s, 0));
    const ar = st.regionOf(admin.bytes);
    expect(ar.owner).toBe(DRAM);
    expect(ar.memory).toBeInstanceOf(SharedArrayBuffer);
    expect(ar.length).toBe(8192);

    // freed: the stale view no longer names the region (its memory may be reused)
    const stale = bufs[5]!.bytes;
    bufs[5]!.free();
    expect(st.regionOf(stale)).toEqual({ memory: stale, offset: 0, length: 4096, owner: DRAM });
    const again = st.alloc(4096, ioCtx(s));
    expect(st.regionOf(again.bytes).offset).toBe(offsets[5]); // the lowest hole, a new view
    expect(again.bytes).not.toBe(stale);
    expect(st.regionOf(stale).owner).toBe(DRAM);
    expect(() => bufs[5]!.free()).toThrow(/freed twice/);

    // another data path does not know this one's buffers
    const other = await startStack({ allowP2pmem: true });
    try {
      const foreign = other.dp.staging.regionOf(bufs[0]!.bytes);
      expect(foreign).toEqual({ memory: bufs[0]!.bytes, offset: 0, length: 4096, owner: DRAM });
    } finally {
      await other.stop();
    }

    for (const [i, b] of bufs.entries()) if (i !== 5) b.free();
    again.free();
    admin.free();
    expect(st.outstandingP2p + st.outstandingSystem).toBe(0);
    expect(st.regionOf(bufs[0]!.bytes).owner).toBe(DRAM);
  });
});

describe('system-memory staging from the pool', () => {
  it('hands a chunk its previous view again at the same length, still exact and still freed once', async () => {
    const s = (t.stack = await startStack({ allowP2pmem: false }));
    const st = s.dp.staging;
    const a = st.alloc(4096, ioCtx(s));
    const ra = st.regionOf(a.bytes);
    expect(ra.owner).toBe(DRAM);
    expect(ra.length).toBe(4096);
    a.bytes.fill(0xa5);
    a.free();
    // freed: untracked, and a second free is refused
    expect(st.regionOf(a.bytes)).toEqual({ memory: a.bytes, offset: 0, length: 4096, owner: DRAM });
    expect(() => a.free()).toThrow(/freed twice/);

    // the same class and length: the pooled chunk, its view and its region again
    const b = st.alloc(4096, ioCtx(s));
    expect(b.bytes).toBe(a.bytes);
    expect(st.regionOf(b.bytes)).toBe(ra);
    expect(st.bufferOf(b.bytes)).toBe(b);
    expect(st.outstandingSystem).toBe(1);
    b.free();
    expect(st.bufferOf(b.bytes)).toBeUndefined();

    // the same chunk at another length: a new view whose region has that length
    const c = st.alloc(2048, ioCtx(s));
    expect(c.bytes.length).toBe(2048);
    expect(c.bytes).not.toBe(a.bytes);
    expect(st.regionOf(c.bytes).length).toBe(2048);
    expect(st.regionOf(c.bytes).memory).toBe(ra.memory);
    // while c is live, a second allocation gets other memory
    const d = st.alloc(4096, ioCtx(s));
    expect(st.regionOf(d.bytes).memory).not.toBe(ra.memory);
    expect(d.bytes.length).toBe(4096);
    c.free();
    d.free();
    const e = st.alloc(4096, ioCtx(s));
    expect(e.bytes.length).toBe(4096);
    expect(st.regionOf(e.bytes).length).toBe(4096);
    e.free();
    expect(st.outstandingSystem).toBe(0);
    expect(s.dp.dram.outstandingBuffers).toBe(0);
  });
});

describe('DramPool size classes', () => {
  const cases: ReadonlyArray<readonly [len: number, created: number, pooled: boolean]> = [
    [1, 4096, true],
    [4096, 4096, true],
    [4097, 8192, true],
    [65535, 65536, true],
    [65536, 65536, true],
    [(1 << 22) - 1, 1 << 22, true],
    [1 << 22, 1 << 22, true],
    [(1 << 22) + 1, (1 << 22) + 1, false],
  ];
  it.each(cases)('a %i-byte buffer takes %i bytes (pooled: %s)', (len, created, pooled) => {
    const pool = new DramPool();
    const c = pool.alloc(len);
    expect(c.bytes.length).toBe(len);
    expect(c.memory.byteLength).toBe(created);
    expect(pool.createdBytes).toBe(created);
    pool.free(c);
    expect(pool.pooledBytes).toBe(pooled ? created : 0);
    const again = pool.alloc(len);
    expect(again === c).toBe(pooled);
    expect(again.bytes.length).toBe(len);
  });
  it('refuses lengths that are not positive integers', () => {
    const pool = new DramPool();
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => pool.alloc(bad)).toThrow(RangeError);
  });
});
