import { describe, expect, it } from 'vitest';
import { projectFlow } from '../../src/copy/link-model.js';
import { DRAM } from '../../src/copy/region.js';
import { topologyRouter } from '../../src/copy/route.js';
import { loadBuiltinTopology } from '../../src/pci/load.js';
import { pcieBandwidth } from '../../src/pci/link.js';
import { jbof, L, NIC, P2PMEM, SSD1 } from './topologies.js';

const IO = 128 * 1024;
const GEN3_X4 = pcieBandwidth(3, 4); // 3.938 GB/s
const GEN3_X8 = pcieBandwidth(3, 8);
const GEN3_X16 = pcieBandwidth(3, 16);

describe('projectFlow', () => {
  const router = topologyRouter(jbof());

  it('write staged in the SSD\'s own CMB: limited by the SSD link, nothing through the root complex', () => {
    const p = projectFlow(router, IO, [
      { src: NIC, dst: SSD1, bytes: IO }, // NIC → CMB
      { src: SSD1, dst: SSD1, bytes: IO }, // CMB → media, inside the device
    ]);
    expect(p.limitingLink).toBe(L.ssd1);
    expect(p.limitingDirection).toBe('down');
    expect(p.bytesPerSec).toBeCloseTo(GEN3_X4, 0);
    expect(p.rootComplexBytes).toBe(0);
    expect(p.dramBytes).toBe(0);
  });

  it('write staged in the p2pmem card: the card\'s x8 link carries the payload twice (in and out)', () => {
    const p = projectFlow(router, IO, [
      { src: NIC, dst: P2PMEM, bytes: IO },
      { src: P2PMEM, dst: SSD1, bytes: IO },
    ]);
    const card = p.links.filter((l) => l.link === L.p2pmem);
    expect(card.map((l) => [l.direction, l.bytes]).sort()).toEqual([['down', IO], ['up', IO]]);
    // x4 SSD link (one pass) is still slower than the x8 card link (one pass per direction)
    expect(p.limitingLink).toBe(L.ssd1);
    expect(p.bytesPerSec).toBeCloseTo(GEN3_X4, 0);
  });

  it('write staged in DRAM: root complex and DRAM carry 2× the payload', () => {
    const p = projectFlow(router, IO, [
      { src: NIC, dst: DRAM, bytes: IO },
      { src: DRAM, dst: SSD1, bytes: IO },
    ]);
    expect(p.rootComplexBytes).toBe(2 * IO);
    expect(p.dramBytes).toBe(2 * IO);
    const uplink = p.links.filter((l) => l.link === L.uplink);
    expect(uplink.map((l) => l.bytes)).toEqual([IO, IO]);
    expect(p.bytesPerSec).toBeCloseTo(GEN3_X4, 0);
  });

  it('a shared link limits when the flow fans out: DRAM → both SSDs and the p2pmem card share the x16 uplink', () => {
    const p = projectFlow(router, 4 * IO, [
      { src: DRAM, dst: SSD1, bytes: IO },
      { src: DRAM, dst: '0000:05:00.0', bytes: IO },
      { src: DRAM, dst: P2PMEM, bytes: 2 * IO },
    ]);
    // per flow unit: uplink down 4 IO at x16 = 33.3 µs; each SSD link IO at x4 = 33.3 µs; card 2 IO at x8 = 33.3 µs.
    // All equal: any of them may be named; the rate is the same.
    expect(p.bytesPerSec).toBeCloseTo((4 * IO) / ((4 * IO) / GEN3_X16), -3);
    expect(p.links[0]!.seconds).toBeCloseTo((2 * IO) / GEN3_X8, 9);
  });

  it('p2p between root ports goes through the root complex but not DRAM', () => {
    const rp = topologyRouter(loadBuiltinTopology('root-ports'));
    const p = projectFlow(rp, IO, [{ src: '0000:01:00.0', dst: '0000:02:00.0', bytes: IO }]);
    expect(p.rootComplexBytes).toBe(IO);
    expect(p.dramBytes).toBe(0);
  });

  it('applies a protocol efficiency factor and rejects nonsense factors', () => {
    const flow = [{ src: NIC, dst: SSD1, bytes: IO }];
    expect(projectFlow(router, IO, flow, { efficiency: 0.5 }).bytesPerSec).toBeCloseTo(GEN3_X4 / 2, 0);
    expect(() => projectFlow(router, IO, flow, { efficiency: 0 })).toThrow(RangeError);
    expect(() => projectFlow(router, IO, flow, { efficiency: 1.5 })).toThrow(RangeError);
  });

  it('a flow that crosses no link is unbounded by the model', () => {
    const p = projectFlow(router, IO, [{ src: SSD1, dst: SSD1, bytes: IO }]);
    expect(p.bytesPerSec).toBe(Infinity);
    expect(p.limitingLink).toBeNull();
  });
});
