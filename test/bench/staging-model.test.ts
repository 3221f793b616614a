import { describe, expect, it } from 'vitest';
import { DRAM } from '../../src/copy/region.js';
import type { DmaCounters } from '../../src/copy/link-accounting.js';
import { LinkAccounting } from '../../src/copy/link-accounting.js';
import { topologyRouter } from '../../src/copy/route.js';
import { bytesByClass, classifyLinks, counterDelta, perPayloadByte } from '../../bench/staging/link-classes.js';
import { expandMatrix, FULL, groupByTarget, isRatioCell, plannedSeconds, QUICK, TOPOLOGIES } from '../../bench/staging/matrix.js';
import { ioTransfers, projectExpected, projectMeasured } from '../../bench/staging/projection.js';
import { loadPlacement } from '../../bench/staging/topologies.js';

/** Account one I/O's DMAs on a fresh LinkAccounting over the real topology (what the target's engine does). */
function account(topology: (typeof TOPOLOGIES)[number], rw: 'read' | 'write', staging: string | 'dram', ios = 10, bs = 131072): { counters: DmaCounters; payload: number } {
  const pl = loadPlacement(topology);
  const acc = new LinkAccounting(topologyRouter(pl.parsed));
  const st = staging === 'dram' ? DRAM : staging;
  for (let i = 0; i < ios; i++) for (const t of ioTransfers(rw, pl.nic, pl.ssd, st, bs)) acc.record(t.src, t.dst, t.bytes);
  return { counters: acc.snapshot(), payload: ios * bs };
}

describe('matrix', () => {
  it('full = 4 topologies × 2 stagings × 2 transports × 6 workloads × 2 QD × 2 queue counts, ids unique', () => {
    const cells = expandMatrix(FULL);
    expect(cells).toHaveLength(4 * 2 * 2 * 6 * 2 * 2);
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);
  });

  it('the two stagings of a configuration are adjacent, alternating order (ABBA)', () => {
    const cells = expandMatrix(QUICK);
    for (let i = 0; i < cells.length; i += 2) {
      expect(cells[i]!.configKey).toBe(cells[i + 1]!.configKey);
      expect(cells[i]!.staging).not.toBe(cells[i + 1]!.staging);
    }
    expect(cells[0]!.staging).toBe('system');
    expect(cells[2]!.staging).toBe('p2pmem');
  });

  it('quick covers every topology and transport and the judged 128 KiB JBOF cells', () => {
    const cells = expandMatrix(QUICK);
    expect(new Set(cells.map((c) => c.topology))).toEqual(new Set(TOPOLOGIES));
    expect(new Set(cells.map((c) => c.transport))).toEqual(new Set(['tcp', 'rdma']));
    expect(cells.filter(isRatioCell).length).toBeGreaterThanOrEqual(4);
    // Budget: cells × (warm-up + measured) stays well inside the 3-minute goal.
    expect(plannedSeconds(QUICK)).toBeLessThan(150);
    expect(plannedSeconds(QUICK)).toBeCloseTo(64 * 1.25 + 8 * 14 * 0.3, 6);
  });

  it('groups share one target per topology and transport', () => {
    const groups = groupByTarget(expandMatrix(QUICK));
    expect(groups).toHaveLength(TOPOLOGIES.length * 2);
    for (const g of groups) expect(new Set(g.map((c) => `${c.topology}/${c.transport}`)).size).toBe(1);
  });
});

describe('placements', () => {
  it.each(TOPOLOGIES)('%s: NIC and SSD exist with the right kinds', (t) => {
    const p = loadPlacement(t);
    expect(p.parsed.get(p.nic)?.kind).toBe('rnic');
    expect(p.parsed.get(p.ssd)?.kind).toBe('nvme');
  });
  it('narrow-uplink really has a Gen3 x4 switch uplink and faster SSD links', () => {
    const p = loadPlacement('narrow-uplink');
    const classes = classifyLinks(p.parsed);
    const uplinks = p.parsed.links.filter((l) => classes.get(l.id) === 'uplink');
    expect(uplinks).toHaveLength(1);
    expect([uplinks[0]!.gen, uplinks[0]!.width]).toEqual([3, 4]);
    const ssd = p.parsed.links.find((l) => l.downstream === p.ssd)!;
    expect(ssd.bandwidth).toBeGreaterThan(uplinks[0]!.bandwidth);
  });
});

describe('link classes from counters', () => {
  it('JBOF, system memory: 2 bytes per payload byte through the root complex, 2 to/from DRAM, 2 on the uplink', () => {
    for (const rw of ['read', 'write'] as const) {
      const { counters, payload } = account('jbof', rw, 'dram');
      const per = perPayloadByte(bytesByClass(counters, classifyLinks(loadPlacement('jbof').parsed)), payload)!;
      expect(per.rootComplex).toBe(2);
      expect(per.dramBytes).toBe(2);
      expect(per.uplink).toBe(2);
      expect(per.nic).toBe(1);
      expect(per.ssd).toBe(1);
      expect(per.rootPort).toBe(2);
    }
  });

  it('JBOF, p2pmem in the SSD CMB: nothing above the switch', () => {
    const { counters, payload } = account('jbof', 'write', '0000:04:00.0');
    const per = perPayloadByte(bytesByClass(counters, classifyLinks(loadPlacement('jbof').parsed)), payload)!;
    expect(per).toMatchObject({ rootComplex: 0, dramBytes: 0, uplink: 0, rootPort: 0, dram: 0, nic: 1, ssd: 1 });
  });

  it('JBOF, p2pmem card: NIC → card → SSD, the card link carries 2', () => {
    const { counters, payload } = account('jbof', 'read', '0000:06:00.0');
    const per = perPayloadByte(bytesByClass(counters, classifyLinks(loadPlacement('jbof').parsed)), payload)!;
    expect(per).toMatchObject({ rootComplex: 0, dramBytes: 0, p2pmem: 2, nic: 1, ssd: 1 });
  });

  it('counterDelta subtracts per link and counter', () => {
    const a = account('jbof', 'write', 'dram', 3).counters;
    const b = account('jbof', 'write', 'dram', 5).counters;
    const d = counterDelta(a, b);
    const want = account('jbof', 'write', 'dram', 2).counters;
    expect(d.rootComplexBytes).toBe(want.rootComplexBytes);
    expect(d.dramBytes).toBe(want.dramBytes);
    for (const [id, v] of Object.entries(want.links)) expect(d.links[id]).toEqual(v);
  });

  it('perPayloadByte refuses a zero payload', () => {
    const { counters } = account('jbof', 'write', 'dram', 1);
    expect(perPayloadByte(bytesByClass(counters, new Map()), 0)).toBeNull();
  });
});

describe('projection', () => {
  it('narrow-uplink: system memory is limited by the x4 switch uplink, p2pmem is not', () => {
    const pl = loadPlacement('narrow-uplink');
    for (const rw of ['read', 'write'] as const) {
      const sys = account('narrow-uplink', rw, 'dram');
      const m = projectMeasured(pl.parsed, sys.counters, sys.payload)!;
      expect(m.limiting?.class).toBe('uplink');
      expect(m.limiting?.label).toMatch(/^switch uplink 0000:00:01\.0<->0000:01:00\.0 [↑↓] Gen3 x4/);
      expect(m.bytesPerSec).toBeCloseTo(m.limiting!.bandwidth, -3);
      const e = projectExpected(pl.parsed, rw, pl.nic, pl.ssd, null, 0);
      expect(e.limiting?.id).toBe(m.limiting?.id);
      expect(e.bytesPerSec).toBeCloseTo(m.bytesPerSec, -3);

      const p2p = account('narrow-uplink', rw, pl.ssd);
      const mp = projectMeasured(pl.parsed, p2p.counters, p2p.payload)!;
      expect(mp.limiting?.class).toBe('ssd');
      expect(mp.bytesPerSec).toBeGreaterThan(m.bytesPerSec * 1.9);
    }
  });

  it('JBOF with x16 uplink: system memory is limited by the SSD x4 link, not the uplink', () => {
    const pl = loadPlacement('jbof');
    const sys = account('jbof', 'write', 'dram');
    expect(projectMeasured(pl.parsed, sys.counters, sys.payload)!.limiting?.class).toBe('ssd');
  });

  it('expected projection with partial fallback mixes both routes', () => {
    const pl = loadPlacement('jbof');
    const half = projectExpected(pl.parsed, 'write', pl.nic, pl.ssd, pl.ssd, 0.5);
    expect(half.rootComplexPerByte).toBeCloseTo(1, 9);
    expect(half.dramPerByte).toBeCloseTo(1, 9);
    const full = projectExpected(pl.parsed, 'write', pl.nic, pl.ssd, pl.ssd, 1);
    expect(full.rootComplexPerByte).toBe(0);
  });

  it('no traffic → null (no payload) or Infinity with no limiting link', () => {
    const pl = loadPlacement('jbof');
    const empty = new LinkAccounting(topologyRouter(pl.parsed)).snapshot();
    expect(projectMeasured(pl.parsed, empty, 0)).toBeNull();
    expect(projectMeasured(pl.parsed, empty, 100)).toEqual({ bytesPerSec: Infinity, limiting: null });
  });
});
