/**
 * Per-I/O p2pmem staging: one contiguous SGL per command, per-command fallback to
 * system memory when the pool is exhausted (data stays correct), and every buffer
 * returned — on completion, on connection loss mid-I/O, on controller teardown.
 */
import { describe, expect, it } from 'vitest';
import { NIC, pattern, startStack, waitFor, perTest, connectTcp } from './stack.js';
import { verifiedWorkload } from './workload.js';


const t = perTest();

const CARD = '0000:06:00.0';

/** The JBOF with SSDs that publish nothing and a p2pmem card of only 64 KiB. */
function tinyPoolTopology(cardSize: string): object {
  const ssd = (bdf: string) => ({ bdf, kind: 'nvme', link: { gen: 3, width: 4 }, bars: [{ index: 0, size: '16K' }] });
  return {
    name: 'tiny-pool',
    rootPorts: [{ bdf: '0000:00:01.0', link: { gen: 3, width: 16 }, children: ['sw0'] }],
    switches: [
      {
        name: 'sw0',
        upstream: { bdf: '0000:01:00.0', link: { gen: 3, width: 16 } },
        downstream: [
          { bdf: '0000:02:00.0', link: { gen: 3, width: 16 }, children: [NIC] },
          { bdf: '0000:02:01.0', link: { gen: 3, width: 4 }, children: ['0000:04:00.0'] },
          { bdf: '0000:02:02.0', link: { gen: 3, width: 4 }, children: ['0000:05:00.0'] },
          { bdf: '0000:02:03.0', link: { gen: 3, width: 8 }, children: [CARD] },
        ],
      },
    ],
    endpoints: [
      { bdf: NIC, kind: 'rnic', link: { gen: 3, width: 16 }, bars: [{ index: 0, size: '32M' }] },
      ssd('0000:04:00.0'),
      ssd('0000:05:00.0'),
      { bdf: CARD, kind: 'p2pmem', link: { gen: 3, width: 8 }, bars: [{ index: 0, size: cardSize, prefetchable: true }], p2pmem: { bar: 0, publish: true } },
    ],
  };
}

describe('p2pmem pool exhaustion', () => {
  it('commands that find the pool full fall back to system memory one by one; every byte verified; counters add up', async () => {
    t.stack = await startStack({ topology: tinyPoolTopology('64K'), allowP2pmem: true });
    expect(t.stack.dp.portState(1)!.provider).toBe(CARD);
    t.host = await connectTcp(t.stack, 2);
    // 16 KiB and 32 KiB commands, 16 in flight: the 64 KiB pool holds at most four.
    const w = await verifiedWorkload(t.host, { sizes: [16384, 32768], count: 24, depth: 16 });
    const st = t.stack.dp.portState(1)!;
    expect(st.p2pAllocations).toBeGreaterThan(0);
    expect(st.fallbacks).toBeGreaterThan(0);
    expect(st.p2pAllocations + st.systemAllocations).toBe(w.commands);
    expect(st.systemAllocations).toBe(st.fallbacks);
    const pv = t.stack.dp.providerState(CARD)!;
    expect(pv.allocations).toBe(st.p2pAllocations);
    expect(pv.fallbacks).toBe(st.fallbacks);
    expect(t.stack.logs.some((l) => /p2pmem of 0000:06:00\.0 exhausted/.test(l))).toBe(true);
    await t.host.close();
    t.host = null;
    expect(t.stack.dp.p2pdma.stats(CARD).available).toBe(64 * 1024);
    expect(t.stack.dp.dram.outstandingBuffers).toBe(0);
  });

  it('a command larger than the whole pool is staged in system memory (one contiguous SGL or nothing)', async () => {
    t.stack = await startStack({ topology: tinyPoolTopology('64K'), allowP2pmem: true });
    t.host = await connectTcp(t.stack);
    const data = pattern(128 * 1024, 5);
    await t.host.write(1, 0, data);
    expect(Buffer.compare(await t.host.read(1, 0, 256), Buffer.from(data))).toBe(0);
    const st = t.stack.dp.portState(1)!;
    expect(st.fallbacks).toBe(2);
    expect(st.p2pAllocations).toBe(0);
  });
});

describe('no p2pmem leaks', () => {
  it('killing TCP connections mid-I/O returns every staging buffer', async () => {
    t.stack = await startStack({ allowP2pmem: true, namespaces: [{ nsid: 1, size: 256 << 20 }] });
    const provider = t.stack.dp.portState(1)!.provider!;
    const full = t.stack.dp.p2pdma.stats(provider).size;
    for (let round = 0; round < 4; round++) {
      const h = await connectTcp(t.stack, 2);
      const buf = pattern(1 << 20, round);
      const inflight: Promise<unknown>[] = [];
      for (let i = 0; i < 24; i++) {
        const len = ((i % 4) + 1) * 256 * 1024;
        inflight.push(i % 2 === 0 ? h.write(1, i * 2048, buf.subarray(0, len)) : h.read(1, i * 2048, len / 512));
      }
      const settled = Promise.allSettled(inflight);
      await waitFor(() => t.stack!.dp.staging.outstandingP2p > 0);
      h.abort();
      await settled;
    }
    await waitFor(() => t.stack!.dp.p2pdma.stats(provider).outstanding === 0 && t.stack!.dp.dram.outstandingBuffers === 0);
    expect(t.stack.dp.p2pdma.stats(provider).available).toBe(full);
    await waitFor(() => t.stack!.subsys.controllers.length === 0);
  });

  it('controller teardown by the target (port disabled) under load returns every staging buffer', async () => {
    t.stack = await startStack({ allowP2pmem: true, namespaces: [{ nsid: 1, size: 256 << 20 }] });
    const provider = t.stack.dp.portState(1)!.provider!;
    const full = t.stack.dp.p2pdma.stats(provider).size;
    const h = await connectTcp(t.stack, 2);
    const buf = pattern(512 * 1024, 1);
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < 32; i++) inflight.push(h.write(1, i * 1024, buf));
    const settled = Promise.allSettled(inflight);
    await waitFor(() => t.stack!.dp.staging.outstandingP2p > 0);
    await t.stack.port.disable();
    await settled;
    h.abort();
    await waitFor(() => t.stack!.dp.p2pdma.stats(provider).outstanding === 0 && t.stack!.dp.dram.outstandingBuffers === 0);
    expect(t.stack.dp.p2pdma.stats(provider).available).toBe(full);
    expect(t.stack.subsys.controllers.length).toBe(0);
    expect(t.stack.dp.portState(1)!.enabled).toBe(false);
  });

  it('admin and fabrics commands stage in system memory even on a p2pmem port', async () => {
    t.stack = await startStack({ allowP2pmem: true });
    const provider = t.stack.dp.portState(1)!.provider!;
    t.host = await connectTcp(t.stack);
    const before = t.stack.dp.accounting.snapshot();
    await t.host.identifyController();
    const after = t.stack.dp.accounting.snapshot();
    // Identify data (4 KiB): system memory → NIC, through the root complex.
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(4096);
    expect(t.stack.dp.providerState(provider)!.allocations).toBe(0);
  });
});
