import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/pci/index.js';
import { loadBuiltinTopology } from '../../src/pci/load.js';
import { errorsOf, smallJbof } from './helpers.js';

/** The NIC kind (topology `nic`): what the NIC does with payload decides what p2pmem staging can save. */
describe('NIC kind in the topology format', () => {
  it.each(['rdma', 'tcp-ddp', 'tcp'] as const)('an rnic endpoint declares "nic": "%s"', (k) => {
    const j = smallJbof();
    j.endpoints[0].nic = k;
    const r = parseTopology(j);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.topology.get('0000:03:00.0')!.nicKind).toBe(k);
    // Only NICs have one.
    expect(r.topology.get('0000:04:00.0')!.nicKind).toBeNull();
  });

  it('an rnic without "nic" is an RDMA NIC', () => {
    const r = parseTopology(smallJbof());
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.topology.get('0000:03:00.0')!.nicKind).toBe('rdma');
  });

  it('rejects an unknown NIC kind and a NIC kind on a non-NIC, naming the JSON path', () => {
    const j = smallJbof();
    j.endpoints[0].nic = 'infiniband';
    j.endpoints[1].nic = 'tcp';
    const errs = errorsOf(j);
    expect(errs).toContain('topology.endpoints[0].nic: unknown NIC kind "infiniband" (expected rdma, tcp-ddp, tcp)');
    expect(errs).toContain('topology.endpoints[1].nic: "nic" is the kind of a NIC endpoint (this one is "nvme")');
  });

  it('the default JBOF declares a DDP-capable NIC; jbof-plain-tcp a plain TCP NIC on the same fabric', () => {
    const d = loadBuiltinTopology('default');
    const t = loadBuiltinTopology('jbof-plain-tcp');
    expect(d.get('0000:03:00.0')!.nicKind).toBe('tcp-ddp');
    expect(t.get('0000:03:00.0')!.nicKind).toBe('tcp');
    expect(t.functions.map((f) => f.bdf)).toEqual(d.functions.map((f) => f.bdf));
  });
});
