/**
 * The namespace attribute p2pmem (mainline Linux: false | true | provider BDF), its
 * configfs rules (EBUSY while enabled, ENODEV for a BDF without published p2pmem,
 * enable fails without a usable provider), placement errors, and how it combines with
 * the port's allow_p2pmem.
 */
import { describe, expect, it } from 'vitest';
import { P2pError } from '../../src/p2pdma/errors.js';
import { CARD, NIC, SSD1, SSD2, startStack, perTest, connectTcp } from './stack.js';
import { verifiedWorkload } from './workload.js';


const t = perTest();

async function failure(p: Promise<unknown>): Promise<P2pError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(P2pError);
  return e as P2pError;
}

function thrown(f: () => unknown): P2pError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(P2pError);
    return e as P2pError;
  }
  throw new Error('expected a P2pError');
}

describe('namespace attribute p2pmem', () => {
  it('changing it on an enabled namespace is EBUSY; a BDF without published p2pmem is ENODEV; disabled it changes', async () => {
    t.stack = await startStack();
    const ns = t.stack.ns(1);
    expect(thrown(() => t.stack!.dp.setNamespaceP2pmem(ns, true)).code).toBe('EBUSY');
    await ns.disable();
    expect(thrown(() => t.stack!.dp.setNamespaceP2pmem(ns, NIC)).code).toBe('ENODEV');
    expect(thrown(() => t.stack!.dp.setNamespaceP2pmem(ns, '0000:3f:00.0')).code).toBe('ENODEV');
    expect(t.stack.dp.placementOf(ns).p2pmem).toBe(false);
    t.stack.dp.setNamespaceP2pmem(ns, '06:00.0');
    expect(t.stack.dp.placementOf(ns).p2pmem).toBe(CARD);
    expect(thrown(() => t.stack!.dp.backendFor({ kind: 'ram', size: 1 << 20 }, { nvme: SSD1, p2pmem: NIC })).code).toBe('ENODEV');
  });

  it('auto with nothing compatible fails enabling (EINVAL, as nvmet_p2pmem_ns_enable) and the namespace stays disabled', async () => {
    // Every device under its own root port: the same-switch policy accepts no provider.
    t.stack = await startStack({ topology: 'root-ports', nic: '0000:01:00.0', namespaces: [{ nsid: 1, nvme: '0000:03:00.0', p2pmem: true, enable: false }] });
    const e = await failure(t.stack.ns(1).enable());
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('no peer-to-peer memory is available for 0000:03:00.0');
    expect(t.stack.ns(1).state).toBe('disabled');
    // Not behind a PCI device at all.
    const ns2 = t.stack.subsys.addNamespace({ nsid: 2, backend: t.stack.dp.backendFor({ kind: 'ram', size: 1 << 20 }, { p2pmem: true }) });
    expect((await failure(ns2.enable())).message).toContain('not behind a PCI device');
  });

  it('a provider BDF stages that namespace in it on a port without allow_p2pmem; others stay in system memory', async () => {
    t.stack = await startStack({ namespaces: [{ nsid: 1, nvme: SSD1, p2pmem: CARD }, { nsid: 2, nvme: SSD2 }] });
    const st = t.stack.dp.portState(1)!;
    expect(st.p2pmemInUse).toBe(false);
    t.host = await connectTcp(t.stack);
    await t.host.geometry(1);
    await t.host.geometry(2);
    const b1 = t.stack.dp.accounting.snapshot();
    const w1 = await verifiedWorkload(t.host, { nsids: [1], count: 6 });
    const a1 = t.stack.dp.accounting.snapshot();
    expect(a1.rootComplexBytes - b1.rootComplexBytes).toBe(0);
    expect(t.stack.dp.providerState(CARD)!.allocations).toBe(w1.commands);
    const w2 = await verifiedWorkload(t.host, { nsids: [2], count: 6 });
    const a2 = t.stack.dp.accounting.snapshot();
    expect(a2.rootComplexBytes - a1.rootComplexBytes).toBe(2 * (w2.bytesWritten + w2.bytesRead));
    const ns = t.stack.dp.portState(1)!.namespaces;
    expect(ns.find((n) => n.nsid === 1)).toMatchObject({ provider: CARD, p2pmem: CARD });
    expect(ns.find((n) => n.nsid === 2)).toMatchObject({ provider: null, p2pmem: false });
  });

  it('auto picks the provider closest to [NIC, its SSD] (its own CMB under same-switch)', async () => {
    t.stack = await startStack({ namespaces: [{ nsid: 1, nvme: SSD2, p2pmem: true }] });
    expect(t.stack.dp.portState(1)!.namespaces[0]!.provider).toBe(SSD2);
  });

  it('combined with allow_p2pmem: the attribute wins for its namespace, which leaves the port client list', async () => {
    t.stack = await startStack({ allowP2pmem: true, namespaces: [{ nsid: 1, nvme: SSD1 }, { nsid: 2, nvme: SSD2, p2pmem: CARD }] });
    const st = t.stack.dp.portState(1)!;
    expect(st.clients).toEqual([NIC, SSD1]);
    expect(st.provider).toBe(SSD1);
    expect(st.namespaces.map((n) => [n.nsid, n.provider])).toEqual([
      [1, SSD1],
      [2, CARD],
    ]);
  });
});

describe('placement errors', () => {
  it('a NIC or SSD BDF that is missing or of the wrong kind is ENODEV', async () => {
    t.stack = await startStack();
    expect(thrown(() => t.stack!.dp.configurePort(2, { nic: SSD1 })).message).toContain('not an RDMA NIC');
    expect(thrown(() => t.stack!.dp.configurePort(2, { nic: '0000:7f:00.0' })).code).toBe('ENODEV');
    expect(thrown(() => t.stack!.dp.backendFor({ kind: 'ram', size: 1 << 20 }, { nvme: NIC })).message).toContain('not an NVMe SSD');
    // Changing an enabled port's placement is refused.
    expect(thrown(() => t.stack!.dp.configurePort(1, { nic: NIC, allowP2pmem: true })).code).toBe('EBUSY');
  });
});
