import { describe, expect, it } from 'vitest';
import {
  BUILTIN_TOPOLOGIES, parseTopology, pcieBandwidth, pciBusBandwidth, formatBdf, parseBdf, normalizeBdf,
} from '../../src/pci/index.js';
import { fn, smallJbof, topo } from './helpers.js';

describe('shipped topologies', () => {
  it.each(BUILTIN_TOPOLOGIES)('%s parses', (name) => {
    const t = topo(name);
    expect(t.rootPorts.length).toBeGreaterThan(0);
    expect(t.functions.length).toBeGreaterThan(t.rootPorts.length);
  });

  it('default is the JBOF: one switch under one root port, RNIC, two NVMe with 256M CMBs, 1G p2pmem', () => {
    const t = topo('default');
    expect(t.rootPorts.map((f) => f.bdf)).toEqual(['0000:00:01.0']);
    expect(t.switches).toHaveLength(1);
    const sw = t.switches[0]!;
    expect(sw.upstreamPort.bdf).toBe('0000:01:00.0');
    expect(sw.upstreamPort.upstream?.bdf).toBe('0000:00:01.0');
    expect(sw.downstreamPorts.map((d) => d.bdf)).toEqual(['0000:02:00.0', '0000:02:01.0', '0000:02:02.0', '0000:02:03.0']);
    expect(t.ofKind('rnic').map((f) => f.bdf)).toEqual(['0000:03:00.0']);
    const nvmes = t.ofKind('nvme');
    expect(nvmes.map((f) => f.bdf)).toEqual(['0000:04:00.0', '0000:05:00.0']);
    for (const n of nvmes) {
      expect(n.cmb).toMatchObject({ bar: 2, offset: 0, size: 256 * 2 ** 20, wds: true, rds: true });
      expect(n.bar(2)?.size).toBe(256 * 2 ** 20);
    }
    const card = fn(t, '0000:06:00.0');
    expect(card.kind).toBe('p2pmem');
    expect(card.bar(0)?.size).toBe(2 ** 30);
    expect(card.p2pmem).toEqual({ bar: 0, offset: 0, size: 0, publish: true });
    // pci_upstream_bridge chain: endpoint → DSP → USP → root port → (root bus)
    const nvme = fn(t, '04:00.0');
    expect(nvme.upstream?.bdf).toBe('0000:02:01.0');
    expect(nvme.upstream?.role).toBe('switch-downstream');
    expect(nvme.upstream?.upstream?.role).toBe('switch-upstream');
    expect(nvme.upstream?.upstream?.upstream?.role).toBe('root-port');
    expect(nvme.upstream?.upstream?.upstream?.upstream).toBeNull();
    expect(nvme.rootPort?.bdf).toBe('0000:00:01.0');
    expect(t.hostBridge.name).toBe('pci0000:00');
    expect(t.hostBridge.busOffset).toBe(0);
  });

  it('bus ranges are derived from the hierarchy', () => {
    const t = topo('two-level-switch');
    expect([fn(t, '00:01.0').secondaryBus, fn(t, '00:01.0').subordinateBus]).toEqual([1, 0x0b]);
    expect([fn(t, '02:01.0').secondaryBus, fn(t, '02:01.0').subordinateBus]).toEqual([4, 7]);
    expect([fn(t, '04:00.0').secondaryBus, fn(t, '04:00.0').subordinateBus]).toEqual([5, 7]);
  });

  it('assigns naturally aligned BAR addresses when none are given, with bus = CPU when there is no offset', () => {
    const t = topo('default');
    const bars = t.functions.flatMap((f) => f.bars);
    expect(bars.length).toBe(6);
    for (const b of bars) {
      expect(b.cpuAddr % b.size).toBe(0);
      expect(b.busAddr).toBe(b.cpuAddr);
    }
    const sorted = [...bars].sort((a, b) => a.cpuAddr - b.cpuAddr);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.cpuAddr).toBeGreaterThanOrEqual(sorted[i - 1]!.cpuAddr + sorted[i - 1]!.size);
  });

  it('host bridge offset: bus address = CPU address − offset', () => {
    const t = topo('host-bridge-offset');
    expect(t.hostBridge.busOffset).toBe(0x50_0000_0000);
    const cmbBar = fn(t, '04:00.0').bar(2)!;
    expect(cmbBar.cpuAddr).toBe(0x60_1000_0000);
    expect(cmbBar.busAddr).toBe(0x10_1000_0000);
    const card = fn(t, '05:00.0').bar(0)!;
    expect(card.busAddr).toBe(0x10_4000_0000);
    for (const f of t.functions) for (const b of f.bars) expect(b.cpuAddr - b.busAddr).toBe(0x50_0000_0000);
  });

  it('looks functions up by long and short BDF', () => {
    const t = topo('default');
    expect(t.get('03:00.0')).toBe(t.get('0000:03:00.0'));
    expect(t.get('0000:03:00.1')).toBeUndefined();
    expect(t.get('garbage')).toBeUndefined();
  });

  it('multi-function devices share one link', () => {
    const t = topo('root-ports');
    const f0 = fn(t, '05:00.0');
    const f1 = fn(t, '05:00.1');
    expect(f0.link).not.toBeNull();
    expect(f0.link).toBe(f1.link);
    expect(f0.link!.id).toBe('0000:00:05.0<->0000:05:00.0');
    expect(t.siblingsOf(f1).map((f) => f.bdf)).toEqual(['0000:05:00.0', '0000:05:00.1']);
  });

  it('parses ACS flags and virtDmaOps', () => {
    const t = topo('acs-redirect');
    expect(fn(t, '02:01.0').acsFlags).toEqual(['SV', 'RR', 'CR', 'UF']);
    expect(fn(t, '02:01.0').acsRedirect).toBe(true);
    expect(fn(t, '02:03.0').acsRedirect).toBe(false);
    const j = smallJbof();
    j.endpoints[0].virtDmaOps = true;
    const r = parseTopology(j);
    expect(r.ok && r.topology.get('03:00.0')!.virtDmaOps).toBe(true);
  });
});

describe('links', () => {
  it('computes bandwidth from generation, width and encoding', () => {
    expect(pcieBandwidth(1, 1)).toBe(250e6); // 2.5 GT/s × 8/10 / 8
    expect(pcieBandwidth(2, 8)).toBe(4e9); // 5 GT/s × 8 × 8/10 / 8
    expect(pcieBandwidth(3, 16)).toBeCloseTo((8e9 * 16 * 128) / 130 / 8, 3); // ≈ 15.75 GB/s
    expect(pcieBandwidth(4, 4)).toBeCloseTo((16e9 * 4 * 128) / 130 / 8, 3);
    expect(pcieBandwidth(5, 16)).toBeCloseTo((32e9 * 16 * 128) / 130 / 8, 3);
    expect(pciBusBandwidth(33, 32)).toBe(132e6);
  });

  it('has stable ids and negotiates the lower generation / narrower width', () => {
    const j = smallJbof();
    j.endpoints[1].link = { gen: 4, width: 2 }; // port is Gen3 x4
    const r = parseTopology(j);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const t = r.topology;
    const l = t.get('04:00.0')!.link!;
    expect(l.id).toBe('0000:02:01.0<->0000:04:00.0');
    expect([l.kind, l.gen, l.width]).toEqual(['pcie', 3, 2]);
    expect(t.link('0000:00:01.0<->0000:01:00.0')?.kind).toBe('pcie');
    expect(t.link('pci0000:00<->0000:00:01.0')?.kind).toBe('root-complex');
    expect(t.link('pci0000:00<->dram')?.kind).toBe('dram');
    expect(t.get('01:00.0')!.link).toBe(t.link('0000:00:01.0<->0000:01:00.0'));
    expect(t.get('02:01.0')!.link).toBeNull(); // switch-internal
    expect(t.get('00:01.0')!.rcLink?.id).toBe('pci0000:00<->0000:00:01.0');
  });

  it('models conventional PCI bridges as shared bus links', () => {
    const j = smallJbof();
    j.switches[0].downstream[2].children = ['pcibr'];
    j.bridges = [{ name: 'pcibr', bdf: '0000:05:00.0', link: { gen: 1, width: 1 }, bus: { mhz: 66, bits: 64 }, children: ['0000:06:01.0', '0000:06:02.0'] }];
    j.endpoints[2].bdf = '0000:06:01.0';
    j.endpoints.push({ bdf: '0000:06:02.0', kind: 'other', bars: [{ index: 0, size: '4K' }] });
    const r = parseTopology(j);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const t = r.topology;
    const dev = t.get('06:01.0')!;
    expect(dev.upstream?.role).toBe('pci-bridge');
    expect(dev.link).toMatchObject({ kind: 'pci', id: '0000:05:00.0<->0000:06:01.0', bandwidth: pciBusBandwidth(66, 64) });
    expect(t.get('05:00.0')!.link).toMatchObject({ kind: 'pcie', gen: 1, width: 1 });
  });
});

describe('BDF helpers', () => {
  it('parses and formats', () => {
    expect(parseBdf('0000:03:00.0')).toEqual({ domain: 0, bus: 3, device: 0, fn: 0 });
    expect(formatBdf({ domain: 1, bus: 0x1a, device: 0x1f, fn: 7 })).toBe('0001:1a:1f.7');
    expect(normalizeBdf('3:0.1')).toBe('0000:03:00.1');
    expect(typeof parseBdf('0000:03:20.0')).toBe('string'); // device 32
    expect(typeof parseBdf('0000:03:00.8')).toBe('string');
  });
});

describe('BAR memory', () => {
  it('is a lazily created SharedArrayBuffer shared by every view', () => {
    const t = topo('default');
    const bar = fn(t, '06:00.0').bar(0)!;
    expect(bar.isBacked).toBe(false);
    const a = bar.view(4096, 16);
    expect(bar.isBacked).toBe(true);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(bar.memory().byteLength).toBe(2 ** 30);
    a.set([1, 2, 3]);
    expect([...bar.view(4096, 3)]).toEqual([1, 2, 3]);
    expect(() => bar.view(2 ** 30 - 1, 2)).toThrow(RangeError);
    // Another topology instance has its own memory.
    expect(topo('default').get('06:00.0')!.bar(0)!.view(4096, 1)[0]).toBe(0);
  });
});
