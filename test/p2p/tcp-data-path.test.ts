/**
 * NVMe/TCP over the emulated JBOF (config/topologies/default.json): a verified
 * write/read workload from a real TCP host, staged in p2pmem (allow_p2pmem) versus
 * system memory, with every DMA routed through the fabric by the copy engine.
 */
import { describe, expect, it } from 'vitest';
import { Controller } from '../../initiator/controller.js';
import { CARD, NIC, ROOT_PORT_LINK, SSD1, SSD2, linkDelta, startStack, type Stack, perTest, connectTcp } from './stack.js';
import { verifiedWorkload } from './workload.js';


const t = perTest();

async function connect(s: Stack, queues = 2): Promise<Controller> {
  const c = await connectTcp(s, queues);
  // Namespace geometry (Identify: admin data in system memory) before the counters are read.
  await c.geometry(1);
  await c.geometry(2);
  return c;
}

describe('NVMe/TCP on the default JBOF', () => {
  it('with allow_p2pmem: 0 data bytes through the root complex and system memory, data verified, p2pmem all returned', async () => {
    t.stack = await startStack({ allowP2pmem: true });
    const st = t.stack.dp.portState(1)!;
    expect(st.p2pmemInUse).toBe(true);
    // same-switch: a CMB of one of the SSDs is closest (0 for itself + 1 per other client).
    expect([SSD1, SSD2, CARD]).toContain(st.provider);
    expect(st.clients).toEqual([NIC, SSD1, SSD2]);
    expect(t.stack.logs.some((l) => l.startsWith(`info: port 1: p2pmem from ${st.provider}`))).toBe(true);
    const provider = st.provider!;
    const full = t.stack.dp.p2pdma.stats(provider).size;

    t.host = await connect(t.stack);
    const before = t.stack.dp.accounting.snapshot();
    const w = await verifiedWorkload(t.host, { count: 12 });
    const after = t.stack.dp.accounting.snapshot();

    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(0);
    expect(after.dramBytes - before.dramBytes).toBe(0);
    // Every payload byte: one NIC DMA and one SSD DMA.
    expect(after.dmaBytes - before.dmaBytes).toBe(2 * (w.bytesWritten + w.bytesRead));
    expect(linkDelta(before, after, ROOT_PORT_LINK)).toEqual({ up: 0, down: 0 });
    // The NIC's link carries the payload once each way.
    expect(linkDelta(before, after, `0000:02:00.0<->${NIC}`)).toEqual({ up: w.bytesWritten, down: w.bytesRead });

    const p = t.stack.dp.portState(1)!;
    expect(p.p2pAllocations).toBe(w.commands);
    expect(p.systemAllocations).toBe(0);
    expect(p.fallbacks).toBe(0);
    expect(t.stack.dp.providerState(provider)!.allocations).toBe(w.commands);
    // Large copies ran on the engine's worker threads.
    expect(t.stack.dp.engine.stats.workerSubmissions).toBeGreaterThan(0);

    await t.host.close();
    t.host = null;
    expect(t.stack.dp.p2pdma.stats(provider).available).toBe(full);
    expect(t.stack.dp.p2pdma.stats(provider).outstanding).toBe(0);
    expect(t.stack.dp.dram.outstandingBuffers).toBe(0);
  });

  it('with system-memory staging: each payload byte crosses the root port twice', async () => {
    t.stack = await startStack({ allowP2pmem: false });
    const st = t.stack.dp.portState(1)!;
    expect(st.p2pmemInUse).toBe(false);
    expect(st.reason).toMatch(/allow_p2pmem is off/);
    t.host = await connect(t.stack);
    const before = t.stack.dp.accounting.snapshot();
    const w = await verifiedWorkload(t.host, { count: 12 });
    const after = t.stack.dp.accounting.snapshot();
    const payload = w.bytesWritten + w.bytesRead;
    const rp = linkDelta(before, after, ROOT_PORT_LINK);
    // Write: NIC → DRAM (up), DRAM → SSD (down). Read: SSD → DRAM (up), DRAM → NIC (down).
    expect(rp).toEqual({ up: payload, down: payload });
    expect(rp.up + rp.down).toBe(2 * payload);
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(2 * payload);
    expect(after.dramBytes - before.dramBytes).toBe(2 * payload);
    expect(t.stack.dp.portState(1)!.systemAllocations).toBe(w.commands);
    await t.host.close();
    t.host = null;
    expect(t.stack.dp.dram.outstandingBuffers).toBe(0);
  });
});
