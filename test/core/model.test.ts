import { afterEach, describe, expect, it } from 'vitest';
import { createNvmet } from '../../target/create-nvmet.js';
import { silentLogger } from '../../target/core/log.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import type { FabricsOps, PortInfo, CoreQueueFactory } from '../../target/core/fabrics-ops.js';
import { LoopTransport } from '../../target/loop/loop-transport.js';
import { connectQueue } from '../../target/loop/host.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { setup, SUBNQN, HOSTNQN, OTHER_HOST, PORT_ID, type Fixture } from './setup.js';

let f: Fixture | null = null;
afterEach(async () => {
  await f?.close();
  f = null;
});

describe('object model', () => {
  it('validates configuration', () => {
    const n = createNvmet({ logger: silentLogger });
    expect(() => n.addSubsystem({ nqn: '' })).toThrow(RangeError);
    expect(() => n.addSubsystem({ nqn: 'x'.repeat(224) })).toThrow(RangeError);
    expect(() => n.addSubsystem({ nqn: 'nqn.2014-08.org.nvmexpress.discovery' })).toThrow(/reserved/);
    expect(() => n.addSubsystem({ nqn: 'nqn.a', cntlidMin: 10, cntlidMax: 5 })).toThrow(RangeError);
    expect(() => n.addSubsystem({ nqn: 'nqn.a', serial: 'x'.repeat(21) })).toThrow(RangeError);
    const s = n.addSubsystem({ nqn: 'nqn.a' });
    expect(() => n.addSubsystem({ nqn: 'nqn.a' })).toThrow(/exists/);
    expect(() => s.addNamespace({ nsid: 0, backend: { kind: 'ram', size: 4096 } })).toThrow(RangeError);
    expect(() => s.addNamespace({ nsid: 1025, backend: { kind: 'ram', size: 4096 } })).toThrow(RangeError);
    expect(() => s.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 4096 }, blockSize: 1024 as 512 })).toThrow(RangeError);
    s.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 4096 } });
    expect(() => s.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 4096 } })).toThrow(/exists/);
    expect(() => n.addPort({ portId: 70000, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' })).toThrow(RangeError);
    n.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
    expect(() => n.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' })).toThrow(/exists/);
    expect(() => n.registerTransport(new LoopTransport())).not.toThrow();
    expect(() => n.registerTransport(new LoopTransport())).toThrow(/already/);
  });

  it('a port needs a transport for its TRTYPE; the bound trsvcid is reported back', async () => {
    const n = createNvmet({ logger: silentLogger });
    const p = n.addPort({ portId: 2, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
    await expect(p.enable()).rejects.toThrow(/no transport/);
    expect(p.state).toBe('disabled');
    const seen: PortInfo[] = [];
    const fake: FabricsOps = {
      trtype: TrType.TCP,
      async addPort(info: PortInfo, _core: CoreQueueFactory) {
        seen.push(info);
        return { trsvcid: '45678' };
      },
      async removePort() {},
      maxTransferSize: () => 0,
    };
    n.registerTransport(fake);
    await p.enable();
    expect(p.enabled).toBe(true);
    expect(p.addr.trsvcid).toBe('45678');
    expect(seen[0]).toEqual({ portId: 2, traddr: '127.0.0.1', trsvcid: '0', inlineDataSize: 16384 });
    expect(() => n.unregisterTransport(TrType.TCP)).toThrow(/still uses/);
    await n.shutdown();
    expect(p.state).toBe('disabled');
  });

  it('a namespace whose backend cannot open stays disabled', async () => {
    const n = createNvmet({ logger: silentLogger });
    const s = n.addSubsystem({ nqn: 'nqn.a' });
    const ns = s.addNamespace({ nsid: 1, backend: { kind: 'file', path: '/nonexistent/dir/x.img', size: 4096 } });
    await expect(ns.enable()).rejects.toThrow();
    expect(ns.state).toBe('disabled');
    expect(s.enabledNamespaces()).toEqual([]);
  });

  it('removing a subsystem tears down its controllers and closes its namespaces', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const ns = f.subsys.getNamespace(1)!;
    await f.nvmet.removeSubsystem(SUBNQN);
    expect(c.admin.connected).toBe(false);
    expect(q.connected).toBe(false);
    expect(ns.state).toBe('disabled');
    expect(f.nvmet.getSubsystem(SUBNQN)).toBeUndefined();
    expect(f.port.subsystems).toEqual([]);
  });

  it('disabling a port disconnects everything on it; re-enabling accepts connections again', async () => {
    f = await setup();
    const c = await f.ready();
    const d = await f.connect({ subnqn: 'nqn.2014-08.org.nvmexpress.discovery' });
    await f.port.disable();
    expect(c.admin.connected).toBe(false);
    expect(d.admin.connected).toBe(false);
    expect(f.subsys.controllers).toEqual([]);
    expect(f.nvmet.discovery.controllers).toEqual([]);
    expect(() => f!.loop.connect(PORT_ID)).toThrow(/not enabled/);
    await f.port.enable();
    const again = await f.ready();
    expect(again.cntlid).toBeGreaterThan(0);
  });

  it('hosts: disallowing keeps existing controllers but refuses new Connects; removeHost applies everywhere', async () => {
    f = await setup();
    const c = await f.ready();
    f.subsys.disallowHost(HOSTNQN);
    expect(c.admin.connected).toBe(true);
    const r = await connectQueue(f.loop.connect(PORT_ID), SUBNQN, 0, { hostnqn: HOSTNQN });
    expect(r.status).toBe(NvmeStatus.ConnectInvalidHost | STATUS_DNR);
    f.subsys.allowHost(OTHER_HOST);
    expect(f.nvmet.hosts).toContain(OTHER_HOST);
    f.nvmet.removeHost(OTHER_HOST);
    expect(f.subsys.allowedHosts).not.toContain(OTHER_HOST);
  });

  it('shutdown leaves no controllers and no open backends', async () => {
    f = await setup();
    const c = await f.ready();
    await c.connectIo(1);
    await f.nvmet.shutdown();
    expect(f.subsys.controllers).toEqual([]);
    expect(f.subsys.getNamespace(1)!.state).toBe('disabled');
    expect(() => f!.nvmet.addSubsystem({ nqn: 'nqn.late' })).toThrow(/shutting down/);
  });
});
