/**
 * The allow_p2pmem port option: provider choice at port enable, fallback to system
 * memory with the policy's reason, and refusing namespaces the provider cannot serve.
 */
import { describe, expect, it } from 'vitest';
import { P2pError } from '../../src/p2pdma/errors.js';
import { NIC, SUBNQN, linkDelta, startStack, perTest, connectTcp } from './stack.js';
import { verifiedWorkload } from './workload.js';


const t = perTest();

/** config/topologies/different-switches.json: NIC 03 and SSD 04 behind sw0 (upstream 01:00.0); SSD 07 and card 08 behind sw1 (upstream 05:00.0). */
const SW0_SSD = '0000:04:00.0';
const SW1_SSD = '0000:07:00.0';

describe('allow_p2pmem fallback', () => {
  it('an SSD under another switch: the port stages in system memory and says why (log and state); I/O crosses the root complex', async () => {
    t.stack = await startStack({
      topology: 'different-switches',
      allowP2pmem: true,
      namespaces: [{ nsid: 1, nvme: SW0_SSD }, { nsid: 2, nvme: SW1_SSD }],
    });
    const st = t.stack.dp.portState(1)!;
    expect(st.allowP2pmem).toBe(true);
    expect(st.p2pmemInUse).toBe(false);
    expect(st.provider).toBeNull();
    expect(st.reason).toMatch(/^no compatible p2pmem provider: /);
    expect(st.reason).toContain('different switch: 0000:01:00.0 vs 0000:05:00.0');
    expect(st.reason).toMatch(/staging in system memory$/);
    const line = t.stack.logs.find((l) => l.startsWith('warn: port 1: no compatible p2pmem provider'));
    expect(line).toBeDefined();
    expect(line).toContain('0000:04:00.0');
    expect(line).toContain('0000:08:00.0');

    t.host = await connectTcp(t.stack);
    await t.host.geometry(1);
    await t.host.geometry(2);
    const before = t.stack.dp.accounting.snapshot();
    const w = await verifiedWorkload(t.host, { count: 4 });
    const after = t.stack.dp.accounting.snapshot();
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(2 * (w.bytesWritten + w.bytesRead));
    expect(t.stack.dp.portState(1)!.systemAllocations).toBe(w.commands);
  });

  it('the same topology with only the SSD next to the NIC uses its CMB', async () => {
    t.stack = await startStack({ topology: 'different-switches', allowP2pmem: true, namespaces: [{ nsid: 1, nvme: SW0_SSD }] });
    const st = t.stack.dp.portState(1)!;
    expect(st.p2pmemInUse).toBe(true);
    expect(st.provider).toBe(SW0_SSD);
    expect(st.reason).toContain('same switch (upstream port 0000:01:00.0)');
  });

  it('a namespace not behind a PCI device, or a port without a NIC, means system memory with a reason', async () => {
    t.stack = await startStack({ allowP2pmem: true, namespaces: [{ nsid: 1 }, { nsid: 2, nvme: null }] });
    expect(t.stack.dp.portState(1)!.p2pmemInUse).toBe(false);
    expect(t.stack.dp.portState(1)!.reason).toContain(`nsid 2 of ${SUBNQN} is not behind a PCI device`);
    await t.stack.stop();
    t.stack = await startStack({ allowP2pmem: true, nic: null });
    expect(t.stack.dp.portState(1)!.reason).toContain('no NIC placement');
  });

  it('upstream-bridge policy: the card and CMBs all qualify; the injected random picks among equals', async () => {
    // Under 4.20's distances the two CMBs tie (0 + 4 + 4) and beat the card (4 + 4 + 4).
    t.stack = await startStack({ allowP2pmem: true, policy: 'upstream-bridge', random: () => 0.99 });
    expect(t.stack.dp.portState(1)!.provider).toBe('0000:05:00.0');
    await t.stack.stop();
    t.stack = await startStack({ allowP2pmem: true, policy: 'upstream-bridge', random: () => 0 });
    expect(t.stack.dp.portState(1)!.provider).toBe('0000:04:00.0');
  });
});

describe('enabling a namespace on a p2pmem port', () => {
  it('an SSD incompatible with the provider fails with EXDEV and stays disabled; a device-less one with ENODEV', async () => {
    t.stack = await startStack({
      topology: 'different-switches',
      allowP2pmem: true,
      namespaces: [{ nsid: 1, nvme: SW0_SSD }, { nsid: 2, nvme: SW1_SSD, enable: false }, { nsid: 3, nvme: null, enable: false }],
    });
    expect(t.stack.dp.portState(1)!.provider).toBe(SW0_SSD);
    const ns2 = t.stack.ns(2);
    const e = await ns2.enable().then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(P2pError);
    expect((e as P2pError).code).toBe('EXDEV');
    expect((e as P2pError).errno).toBe(-18);
    expect((e as P2pError).message).toContain('0000:07:00.0 cannot use 0000:04:00.0: different switch');
    expect(ns2.state).toBe('disabled');
    expect(t.stack.subsys.enabledNamespaces().map((n) => n.nsid)).toEqual([1]);
    // The refused namespace never joined the port's client list.
    expect(t.stack.dp.portState(1)!.clients).toEqual([NIC, SW0_SSD]);

    const e3 = await t.stack.ns(3).enable().then(
      () => null,
      (x: unknown) => x,
    );
    expect((e3 as P2pError).code).toBe('ENODEV');
    expect(t.stack.ns(3).state).toBe('disabled');

    // Without p2pmem in use on the port, the same namespace enables fine.
    await t.stack.port.disable();
    await ns2.enable();
    expect(ns2.state).toBe('enabled');
    // ... and re-enabling the port now finds nothing for NIC + both SSDs.
    await t.stack.port.enable();
    expect(t.stack.dp.portState(1)!.p2pmemInUse).toBe(false);
  });

  it('a compatible SSD joins the client list; disabling it leaves the provider and rebuilds the list', async () => {
    t.stack = await startStack({ allowP2pmem: true, namespaces: [{ nsid: 1 }, { nsid: 2, nvme: '0000:05:00.0', enable: false }] });
    const p = t.stack.dp.portState(1)!.provider;
    expect(t.stack.dp.portState(1)!.clients).toEqual([NIC, '0000:04:00.0']);
    await t.stack.ns(2).enable();
    expect(t.stack.dp.portState(1)!.clients).toEqual([NIC, '0000:04:00.0', '0000:05:00.0']);
    await t.stack.ns(2).disable();
    expect(t.stack.dp.portState(1)!.clients).toEqual([NIC, '0000:04:00.0']);
    expect(t.stack.dp.portState(1)!.provider).toBe(p);
  });

  it('namespaces of a subsystem the port does not export are not checked', async () => {
    t.stack = await startStack({ topology: 'different-switches', allowP2pmem: true, namespaces: [{ nsid: 1, nvme: SW0_SSD }] });
    const other = t.stack.nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.nvmet-ts:other', allowAnyHost: true });
    const ns = other.addNamespace({ nsid: 1, backend: t.stack.dp.backendFor({ kind: 'ram', size: 1 << 20 }, { nvme: SW1_SSD }) });
    await ns.enable();
    expect(ns.state).toBe('enabled');
  });
});

describe('link accounting on the fallback path', () => {
  it('the SSD behind the other switch sees its bytes come down through root port 00:02.0', async () => {
    t.stack = await startStack({ topology: 'different-switches', allowP2pmem: false, namespaces: [{ nsid: 1, nvme: SW1_SSD }] });
    t.host = await connectTcp(t.stack);
    await t.host.geometry(1);
    const before = t.stack.dp.accounting.snapshot();
    const w = await verifiedWorkload(t.host, { nsids: [1], count: 4 });
    const after = t.stack.dp.accounting.snapshot();
    expect(linkDelta(before, after, '0000:00:02.0<->0000:05:00.0')).toEqual({ up: w.bytesRead, down: w.bytesWritten });
    expect(linkDelta(before, after, '0000:00:01.0<->0000:01:00.0')).toEqual({ up: w.bytesWritten, down: w.bytesRead });
  });
});
