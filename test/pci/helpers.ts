import { loadBuiltinTopology, parseTopology, type BuiltinTopology, type PciFunction, type PciTopology } from '../../src/pci/index.js';

export function topo(name: BuiltinTopology): PciTopology {
  return loadBuiltinTopology(name);
}

export function fn(t: PciTopology, bdf: string): PciFunction {
  const f = t.get(bdf);
  if (!f) throw new Error(`no function ${bdf} in ${t.name}`);
  return f;
}

/** Parse and expect failure; returns "path: message" lines. */
export function errorsOf(json: unknown, prefix?: string): string[] {
  const r = parseTopology(json, prefix);
  if (r.ok) throw new Error('expected the topology to be rejected');
  return r.errors.map((e) => `${e.path}: ${e.message}`);
}

/** A small valid JBOF-like topology to mutate in tests. */
export function smallJbof(): Record<string, any> {
  return {
    rootPorts: [{ bdf: '0000:00:01.0', link: { gen: 3, width: 16 }, children: ['sw0'] }],
    switches: [
      {
        name: 'sw0',
        upstream: { bdf: '0000:01:00.0', link: { gen: 3, width: 16 } },
        downstream: [
          { bdf: '0000:02:00.0', link: { gen: 3, width: 16 }, children: ['0000:03:00.0'] },
          { bdf: '0000:02:01.0', link: { gen: 3, width: 4 }, children: ['0000:04:00.0'] },
          { bdf: '0000:02:02.0', link: { gen: 3, width: 8 }, children: ['0000:05:00.0'] },
        ],
      },
    ],
    endpoints: [
      { bdf: '0000:03:00.0', kind: 'rnic', bars: [{ index: 0, size: '32M', prefetchable: true }] },
      {
        bdf: '0000:04:00.0', kind: 'nvme',
        bars: [{ index: 0, size: '16K' }, { index: 2, size: '1M', prefetchable: true }],
        cmb: { bar: 2, size: '1M', wds: true, rds: true },
      },
      { bdf: '0000:05:00.0', kind: 'p2pmem', bars: [{ index: 0, size: '1M', prefetchable: true }] },
    ],
  };
}
