import { afterEach, describe, expect, it } from 'vitest';
import { DmaEngine } from '../../src/copy/dma-engine.js';
import { LinkAccounting } from '../../src/copy/link-accounting.js';
import { LinkPacer } from '../../src/copy/link-pacer.js';
import { DRAM, memoryRegion, regionView } from '../../src/copy/region.js';
import { RouteTable } from '../../src/copy/route-table.js';
import { topologyRouter } from '../../src/copy/route.js';
import { SLOW_NIC, SLOW_SSD, slowFabric } from './topologies.js';

const MiB = 1024 * 1024;
const GEN1_X1 = 250e6; // bytes/s per direction
const msFor = (bytes: number, bps: number): number => (bytes / bps) * 1000;

const engines: DmaEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe('LinkPacer reservations (virtual clocks, no real time)', () => {
  const table = new RouteTable(topologyRouter(slowFabric()));

  it('a DMA completes after bytes / slowest-link bandwidth', () => {
    const p = new LinkPacer(table);
    expect(p.reserve(SLOW_NIC, SLOW_SSD, MiB, 1000)).toBeCloseTo(1000 + msFor(MiB, GEN1_X1), 9);
  });

  it('DMAs sharing a link direction queue behind each other; opposite directions do not', () => {
    const p = new LinkPacer(table);
    const t = msFor(MiB, GEN1_X1);
    expect(p.reserve(SLOW_NIC, SLOW_SSD, MiB, 0)).toBeCloseTo(t, 9);
    expect(p.reserve(SLOW_NIC, SLOW_SSD, MiB, 0)).toBeCloseTo(2 * t, 9);
    // SSD → NIC uses every link in the other direction: free
    expect(p.reserve(SLOW_SSD, SLOW_NIC, MiB, 0)).toBeCloseTo(t, 9);
    // after the queue drained, a new DMA starts at its own time
    expect(p.reserve(SLOW_NIC, SLOW_SSD, MiB, 100)).toBeCloseTo(100 + t, 9);
  });

  it('the DRAM link is paced like any other (1 GB/s in this fabric)', () => {
    const p = new LinkPacer(table);
    // NIC → DRAM: the Gen1 x1 links (4.19 ms) dominate the DRAM link (1.05 ms)
    expect(p.reserve(SLOW_NIC, DRAM, MiB, 0)).toBeCloseTo(msFor(MiB, GEN1_X1), 9);
    // the DRAM link itself: 4 DMAs into memory from both sides queue on it only after the slow links
    p.reset();
    const ends = [p.reserve(SLOW_NIC, DRAM, MiB, 0), p.reserve(SLOW_SSD, DRAM, MiB, 0)];
    expect(ends[1]).toBeCloseTo(msFor(MiB, GEN1_X1), 9); // different root ports: in parallel
    // the DRAM link direction has been busy 2 × 1.05 ms so far, well inside 4.19 ms
    p.reset();
    // DRAM → DRAM crosses no link
    expect(p.reserve(DRAM, DRAM, MiB, 5)).toBe(5);
  });
});

describe('DmaEngine with pacing', () => {
  it('is off by default: a large DMA over a slow fabric finishes well before its modelled time', async () => {
    // Links of 1 MB/s: 8 MiB is modelled at 8.4 s, against ~1 ms for the memcpy. (The Gen1
    // x1 fabric's 33.5 ms was within reach of a memcpy on a machine shared by many test runs.)
    const slow = 1e6;
    const acc = new LinkAccounting(topologyRouter(slowFabric(slow)));
    const eng = new DmaEngine({ workers: 0, accounting: acc });
    engines.push(eng);
    const src = memoryRegion(new SharedArrayBuffer(8 * MiB), SLOW_NIC);
    const dst = memoryRegion(new SharedArrayBuffer(8 * MiB), SLOW_SSD);
    const t0 = performance.now();
    await eng.submit({ src, dst, length: 8 * MiB });
    expect(performance.now() - t0).toBeLessThan(msFor(8 * MiB, slow));
  });

  for (const workers of [0, 1]) {
    it(`makes a transfer take at least the modelled link time (${workers === 0 ? 'inline' : 'worker'})`, async () => {
      const table = new RouteTable(topologyRouter(slowFabric()));
      const eng = new DmaEngine({ workers, inlineThreshold: 0, accounting: new LinkAccounting(table), pacer: new LinkPacer(table) });
      engines.push(eng);
      const src = memoryRegion(new SharedArrayBuffer(MiB), SLOW_NIC);
      regionView(src).fill(9);
      const dst = memoryRegion(new SharedArrayBuffer(MiB), SLOW_SSD);
      const t0 = performance.now();
      await eng.submit({ src, dst, length: MiB });
      const took = performance.now() - t0;
      expect(took).toBeGreaterThanOrEqual(msFor(MiB, GEN1_X1)); // 4.19 ms
      expect(took).toBeLessThan(2000);
      expect(regionView(dst).every((x) => x === 9)).toBe(true);
    });
  }

  it('three concurrent DMAs over one link take at least three times as long; close() waits for paced completions', async () => {
    const table = new RouteTable(topologyRouter(slowFabric()));
    const eng = new DmaEngine({ workers: 1, inlineThreshold: 0, pacer: new LinkPacer(table) });
    engines.push(eng);
    const src = memoryRegion(new SharedArrayBuffer(3 * MiB), SLOW_NIC);
    const dst = memoryRegion(new SharedArrayBuffer(3 * MiB), SLOW_SSD);
    const t0 = performance.now();
    let resolved = 0;
    for (let i = 0; i < 3; i++) {
      void eng.submit({ src, dst, length: MiB, srcOffset: i * MiB, dstOffset: i * MiB }).then(() => resolved++);
    }
    await eng.close();
    expect(resolved).toBe(3);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3 * msFor(MiB, GEN1_X1));
  });
});
