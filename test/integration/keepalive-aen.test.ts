/**
 * Keep-alive (host sends them; a silent host is torn down by the target's KATO
 * timer) and Asynchronous Event Notification on namespace changes.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, TransportError, AerNotice, AerType } from '../../initiator/index.js';
import type { AsyncEvent, Controller } from '../../initiator/index.js';
import { startTarget, SUBNQN, pattern } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget | null = null;
const ctrls: Controller[] = [];
afterEach(async () => {
  for (const c of ctrls.splice(0)) await c.close();
  await t?.stop();
  t = null;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `cond()` or fail after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

describe('keep alive', () => {
  test('a host sending keep-alives outlives several KATO periods', async () => {
    t = await startTarget();
    let fatal: Error | null = null;
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, kato: 300, onFatal: (e) => (fatal = e) });
    ctrls.push(c);
    await sleep(1000);
    expect(fatal).toBeNull();
    expect(c.admin.closed).toBe(false);
    await c.write(1, 0, pattern(512));
    expect(t.subsys.controllers.length).toBe(1);
  });

  test('a silent host is torn down by the target after KATO; other hosts are unaffected', async () => {
    t = await startTarget();
    const errors: Error[] = [];
    // keepAliveIntervalMs far beyond KATO: this host never sends one in time.
    const silent = await connect({
      host: t.host,
      port: t.tcpPort,
      subnqn: SUBNQN,
      kato: 300,
      keepAliveIntervalMs: 60_000,
      queues: 2,
      onFatal: (e) => errors.push(e),
    });
    ctrls.push(silent);
    const healthy = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, kato: 300 });
    ctrls.push(healthy);
    const t0 = performance.now();
    await until(() => silent.admin.closed && silent.ioQueues.every((q) => q.closed), 5000, 'the target to drop the silent host');
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(200);
    expect(errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(TransportError);
    // I/O on the dead association fails fast with a transport error
    await expect(silent.read(1, 0, 1)).rejects.toBeInstanceOf(TransportError);
    // the healthy host still works and its controller is the only one left
    await sleep(400);
    await healthy.write(1, 0, pattern(512, 2));
    await until(() => t!.subsys.controllers.length === 1, 2000, 'the silent controller to be deleted');
  });
});

describe('asynchronous events', () => {
  test('adding and removing a namespace raises Namespace Attribute Changed with the changed list', async () => {
    t = await startTarget({ namespaces: { 1: 4 << 20 } });
    const events: AsyncEvent[] = [];
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, onAsyncEvent: (e) => events.push(e) });
    ctrls.push(c);
    expect(await c.activeNamespaces()).toEqual([1]);

    await t.subsys.addNamespace({ nsid: 5, backend: { kind: 'ram', size: 4 << 20 } }).enable();
    await until(() => events.length >= 1, 3000, 'the namespace AEN');
    expect(events[0]!.type).toBe(AerType.Notice);
    expect(events[0]!.info).toBe(AerNotice.NsAttributeChanged);
    expect(events[0]!.logPage).toBe(0x04);
    expect(events[0]!.changedNamespaces).toEqual([5]);
    expect(await c.activeNamespaces()).toEqual([1, 5]);
    await c.write(5, 0, pattern(4096, 5));

    // The initiator re-armed the AER and cleared the event (RAE=0): a second change is reported too.
    await t.subsys.removeNamespace(5);
    await until(() => events.length >= 2, 3000, 'the second namespace AEN');
    expect(events[1]!.changedNamespaces).toEqual([5]);
    expect(await c.activeNamespaces()).toEqual([1]);
  });

  test('a host without an AER outstanding gets no event but sees the change in the log', async () => {
    t = await startTarget({ namespaces: { 1: 4 << 20 } });
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN });
    ctrls.push(c);
    await t.subsys.addNamespace({ nsid: 2, backend: { kind: 'ram', size: 4 << 20 } }).enable();
    await until(() => true, 10, '');
    expect(await c.changedNamespaces()).toEqual([2]);
    // read with RAE=0 cleared it
    expect(await c.changedNamespaces()).toEqual([]);
  });
});

describe('discovery log change notices', () => {
  test('a persistent discovery controller is told when a subsystem is linked to its port', async () => {
    t = await startTarget();
    const { DISCOVERY_NQN } = await import('../../src/nvme/fabrics.js');
    const { readDiscoveryLog } = await import('../../initiator/index.js');
    const events: AsyncEvent[] = [];
    const d = await connect({ host: t.host, port: t.tcpPort, subnqn: DISCOVERY_NQN, queues: 0, kato: 2000, onAsyncEvent: (e) => events.push(e) });
    ctrls.push(d);
    const before = await readDiscoveryLog(d);
    const sub2 = t.nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.nvmet-ts:second', allowAnyHost: true });
    t.port.addSubsystem(sub2);
    await until(() => events.length >= 1, 3000, 'the discovery log change AEN');
    expect(events[0]!.type).toBe(AerType.Notice);
    expect(events[0]!.info).toBe(AerNotice.DiscoveryLogChange);
    expect(events[0]!.logPage).toBe(0x70);
    const after = await readDiscoveryLog(d);
    expect(after.genctr).not.toBe(before.genctr);
    expect(after.entries.map((e) => e.subnqn)).toContain('nqn.2024-01.io.nvmet-ts:second');
  });
});
