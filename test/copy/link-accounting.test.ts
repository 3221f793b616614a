import { afterEach, describe, expect, it } from 'vitest';
import { DmaEngine } from '../../src/copy/dma-engine.js';
import { DmaError } from '../../src/copy/errors.js';
import { LinkAccounting } from '../../src/copy/link-accounting.js';
import { DRAM, memoryRegion, regionView } from '../../src/copy/region.js';
import { topologyRouter } from '../../src/copy/route.js';
import { route } from '../../src/pci/route.js';
import { jbof, L, NIC, P2PMEM, SSD1, SSD2 } from './topologies.js';

const KiB = 1024;

const engines: DmaEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

describe('LinkAccounting on the default JBOF topology', () => {
  it('adds a p2p DMA to exactly the links it crosses, per direction, and nothing to the root complex or DRAM', () => {
    const acc = new LinkAccounting(topologyRouter(jbof()));
    acc.record(NIC, SSD1, 4096);
    const s = acc.snapshot();
    expect(s.links[L.nic]).toEqual({ up: 4096, down: 0 });
    expect(s.links[L.ssd1]).toEqual({ up: 0, down: 4096 });
    for (const id of [L.dram, L.rootComplex, L.uplink, L.ssd2, L.p2pmem]) expect(s.links[id]).toEqual({ up: 0, down: 0 });
    expect(s).toMatchObject({ rootComplexBytes: 0, dramBytes: 0, dmaCount: 1, dmaBytes: 4096 });
  });

  it('reports every topology link, idle ones as zero', () => {
    const acc = new LinkAccounting(topologyRouter(jbof()));
    expect(Object.keys(acc.snapshot().links).sort()).toEqual(Object.values(L).sort());
  });

  it('counts a write staged in DRAM twice on the root complex and DRAM, and a p2pmem write zero times', () => {
    const router = topologyRouter(jbof());
    const viaDram = new LinkAccounting(router);
    const n = 128 * KiB;
    viaDram.record(NIC, DRAM, n); // NIC → system-memory staging
    viaDram.record(DRAM, SSD1, n); // staging → SSD
    const d = viaDram.snapshot();
    expect(d.rootComplexBytes).toBe(2 * n);
    expect(d.dramBytes).toBe(2 * n);
    expect(d.links[L.uplink]).toEqual({ up: n, down: n });
    expect(d.links[L.rootComplex]).toEqual({ up: n, down: n });
    expect(d.links[L.dram]).toEqual({ up: n, down: n }); // 'down' = into memory
    expect(d.links[L.nic]).toEqual({ up: n, down: 0 });
    expect(d.links[L.ssd1]).toEqual({ up: 0, down: n });

    const viaP2p = new LinkAccounting(router);
    viaP2p.record(NIC, P2PMEM, n); // NIC → p2pmem card
    viaP2p.record(P2PMEM, SSD1, n); // p2pmem → SSD
    const p = viaP2p.snapshot();
    expect(p.rootComplexBytes).toBe(0);
    expect(p.dramBytes).toBe(0);
    expect(p.links[L.uplink]).toEqual({ up: 0, down: 0 });
    expect(p.links[L.p2pmem]).toEqual({ up: n, down: n });
  });

  it('sums many DMAs per link and direction exactly as their routes say', () => {
    const topo = jbof();
    const acc = new LinkAccounting(topologyRouter(topo));
    const owners = [NIC, SSD1, SSD2, P2PMEM, DRAM];
    const expected = new Map<string, number>();
    let rc = 0;
    let dram = 0;
    let i = 0;
    for (const a of owners) {
      for (const b of owners) {
        const bytes = 512 * ++i;
        acc.record(a, b, bytes);
        const r = route(topo, a === DRAM ? 'dram' : topo.get(a)!, b === DRAM ? 'dram' : topo.get(b)!);
        for (const h of r.hops) expected.set(`${h.link.id} ${h.direction}`, (expected.get(`${h.link.id} ${h.direction}`) ?? 0) + bytes);
        if (r.viaRootComplex) rc += bytes;
        dram += bytes * ((a === DRAM ? 1 : 0) + (b === DRAM ? 1 : 0));
      }
    }
    const s = acc.snapshot();
    for (const [id, lb] of Object.entries(s.links)) {
      expect(lb.up).toBe(expected.get(`${id} up`) ?? 0);
      expect(lb.down).toBe(expected.get(`${id} down`) ?? 0);
    }
    expect(s.rootComplexBytes).toBe(rc);
    expect(s.dramBytes).toBe(dram);
    expect(s.dmaCount).toBe(25);
    // device-internal DMAs (CMB → own media) cross nothing but are still DMAs
    expect(rc).toBeGreaterThan(0);
  });

  it('reset() zeroes every counter', () => {
    const acc = new LinkAccounting(topologyRouter(jbof()));
    acc.record(NIC, DRAM, 1000);
    acc.reset();
    const s = acc.snapshot();
    expect(Object.values(s.links).every((l) => l.up === 0 && l.down === 0)).toBe(true);
    expect(s).toMatchObject({ rootComplexBytes: 0, dramBytes: 0, dmaCount: 0, dmaBytes: 0 });
  });

  it('check() names an unknown owner instead of throwing', () => {
    const acc = new LinkAccounting(topologyRouter(jbof()));
    expect(acc.check(NIC, SSD1)).toBeNull();
    expect(acc.check(NIC, '0000:7f:00.0')).toMatch(/0000:7f:00\.0/);
  });
});

describe('DmaEngine feeding LinkAccounting', () => {
  it('accounts inline, worker and socket-chunk DMAs once their bytes landed', async () => {
    const acc = new LinkAccounting(topologyRouter(jbof()));
    const eng = new DmaEngine({ workers: 1, inlineThreshold: 64 * KiB, accounting: acc });
    engines.push(eng);
    const cmb = memoryRegion(new SharedArrayBuffer(4 * 1024 * KiB), SSD1); // SSD1's CMB (p2pmem staging)
    const media = memoryRegion(new SharedArrayBuffer(4 * 1024 * KiB), SSD1); // SSD1's media
    const dram = memoryRegion(new SharedArrayBuffer(4 * 1024 * KiB), DRAM);
    const socketChunk = memoryRegion(Buffer.alloc(256 * KiB, 7), NIC); // NIC-received payload

    // write via p2pmem: NIC → CMB (socket chunk, inline), CMB → media (same device, on a worker)
    await eng.submit({ src: socketChunk, dst: cmb, length: 256 * KiB });
    await eng.submit({ src: cmb, dst: media, length: 256 * KiB });
    // read via DRAM: media → DRAM (worker), DRAM → NIC-visible chunk (small, inline)
    await eng.submit({ src: media, dst: dram, length: 128 * KiB });
    await eng.submit({ src: dram, dst: socketChunk, length: 4 * KiB });

    expect(regionView(media).subarray(0, 256 * KiB).every((x) => x === 7)).toBe(true);
    const s = acc.snapshot();
    expect(s.links[L.nic]).toEqual({ up: 256 * KiB, down: 4 * KiB });
    expect(s.links[L.ssd1]).toEqual({ up: 128 * KiB, down: 256 * KiB });
    expect(s.rootComplexBytes).toBe(128 * KiB + 4 * KiB);
    expect(s.dramBytes).toBe(128 * KiB + 4 * KiB);
    expect(s.dmaCount).toBe(4);
    expect(eng.stats.workerSubmissions).toBe(2);
  });

  it('rejects a descriptor with an unknown owner (EINVAL) before moving or counting anything', async () => {
    const acc = new LinkAccounting(topologyRouter(jbof()));
    const eng = new DmaEngine({ workers: 0, accounting: acc });
    engines.push(eng);
    const a = memoryRegion(new SharedArrayBuffer(16), NIC);
    regionView(a).fill(1);
    const b = memoryRegion(new SharedArrayBuffer(16), 'not-a-device');
    const e = await eng.submit({ src: a, dst: b, length: 16 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DmaError);
    expect((e as DmaError).code).toBe('EINVAL');
    expect(regionView(b).every((x) => x === 0)).toBe(true);
    expect(acc.snapshot().dmaCount).toBe(0);
  });
});
