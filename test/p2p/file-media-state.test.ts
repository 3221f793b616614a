/**
 * File-backed media behind an SSD (positioned file I/O straight into p2pmem staging,
 * the SSD DMA accounted), and the state/summary the data path reports.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NIC, ROOT_PORT_LINK, SSD1, linkDelta, pattern, startStack, perTest, connectTcp } from './stack.js';
import { verifiedWorkload } from './workload.js';

let dir: string | null = null;

const t = perTest({
  after: async () => {
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    dir = null;
  },
});

describe('file media behind an SSD', () => {
  it('reads and writes go file ↔ p2pmem staging; the SSD DMA is accounted on the switch only', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nvmet-p2p-'));
    const path = join(dir, 'ns1.img');
    t.stack = await startStack({ allowP2pmem: true, namespaces: [{ nsid: 1, nvme: SSD1, file: path, size: 8 << 20 }] });
    const provider = t.stack.dp.portState(1)!.provider!;
    t.host = await connectTcp(t.stack);
    await t.host.geometry(1);
    const before = t.stack.dp.accounting.snapshot();
    const w = await verifiedWorkload(t.host, { nsids: [1], count: 6 });
    const after = t.stack.dp.accounting.snapshot();
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(0);
    expect(after.dmaBytes - before.dmaBytes).toBe(2 * (w.bytesWritten + w.bytesRead));
    expect(linkDelta(before, after, ROOT_PORT_LINK)).toEqual({ up: 0, down: 0 });
    // The bytes really are in the file.
    const data = pattern(4096, 42);
    await t.host.write(1, 1000, data);
    const file = await readFile(path);
    expect(Buffer.compare(file.subarray(1000 * 512, 1000 * 512 + 4096), Buffer.from(data))).toBe(0);
    expect(t.stack.dp.providerState(provider)!.allocations).toBeGreaterThan(0);
  });
});

describe('data path state', () => {
  it('reports ports, providers and links, and prints a summary', async () => {
    t.stack = await startStack({ allowP2pmem: true });
    t.host = await connectTcp(t.stack);
    await verifiedWorkload(t.host, { count: 2 });
    const s = t.stack.dp.state();
    expect(s.topology).toBe('jbof');
    expect(s.policy).toBe('v3');
    expect(s.ports).toHaveLength(1);
    const p = s.ports[0]!;
    expect(p).toMatchObject({ portId: 1, enabled: true, nic: NIC, allowP2pmem: true, p2pmemInUse: true });
    expect(p.namespaces.map((n) => n.nsid)).toEqual([1, 2]);
    expect(s.providers.map((v) => v.bdf)).toEqual(['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']);
    for (const v of s.providers) expect(v.size).toBeGreaterThan(0);
    expect(Object.keys(s.dma.links)).toContain(ROOT_PORT_LINK);
    const text = t.stack.dp.summary();
    expect(text).toContain(`port 1: NIC ${NIC}, allow_p2pmem=1, p2pmem ${p.provider}`);
    expect(text).toMatch(/provider 0000:06:00\.0 \(p2pmem\): 1G, 1G available, 0 allocations, 0 fallbacks/);
    expect(text).toMatch(/root complex \d+ bytes; system memory \d+ bytes/);
    const hooks = t.stack.dp.serviceHooks();
    expect(hooks.portProvider(1)).toBe(p.provider);
    expect(hooks.providerAvailable('0000:06:00.0')).toBe(1 << 30);
    expect(hooks.providerAvailable(NIC)).toBeUndefined();
  });
});
