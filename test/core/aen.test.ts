import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Fixture } from './setup.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import { LogId, decodeChangedNsList } from '../../src/nvme/log-pages.js';
import { decodeNsList } from '../../src/nvme/identify-lists.js';
import { Cns } from '../../src/nvme/identify.js';
import type { LoopCompletion } from '../../target/loop/loop-transport.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

/** Notice / Namespace Attribute Changed / log 04h. */
const NS_CHANGED_AEN = 2 | (0 << 8) | (0x04 << 16);

function settled(p: Promise<LoopCompletion>): { done: boolean; value?: LoopCompletion } {
  const s: { done: boolean; value?: LoopCompletion } = { done: false };
  p.then((v) => {
    s.done = true;
    s.value = v;
  }, () => {
    s.done = true;
  });
  return s;
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('asynchronous events', () => {
  it('an AER is held until a namespace is added live, then completes with the NS changed notice', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    const aer = c.asyncEventRequest();
    const s = settled(aer);
    await tick();
    expect(s.done).toBe(false);

    const ns = f.subsys.addNamespace({ nsid: 2, backend: { kind: 'ram', size: 1 << 20 } });
    await tick();
    expect(s.done).toBe(false); // added but not enabled: nothing visible yet
    await ns.enable();
    const r = await aer;
    expect(r.status).toBe(0);
    expect(r.dw0).toBe(NS_CHANGED_AEN);
    expect(decodeNsList((await c.identify(Cns.ActiveNsList)).data!)).toEqual([1, 2]);
    expect(decodeChangedNsList((await c.getLogPage(LogId.ChangedNsList, 4096)).data!).nsids).toEqual([2]);
    // The new namespace serves I/O on the existing queue.
    expect((await c.read(q, 2, 0, 1, 512)).status).toBe(0);
  });

  it('every controller of the subsystem is notified', async () => {
    f = await setup();
    const a = await f.ready();
    const b = await f.ready();
    const pa = a.asyncEventRequest();
    const pb = b.asyncEventRequest();
    await f.subsys.removeNamespace(1);
    expect((await pa).dw0).toBe(NS_CHANGED_AEN);
    expect((await pb).dw0).toBe(NS_CHANGED_AEN);
  });

  it('an event that happens first completes the next AER; repeats are masked until the log is read', async () => {
    f = await setup();
    const c = await f.ready();
    await f.subsys.addNamespace({ nsid: 2, backend: { kind: 'ram', size: 1 << 20 } }).enable();
    await f.subsys.addNamespace({ nsid: 3, backend: { kind: 'ram', size: 1 << 20 } }).enable();
    const first = await c.asyncEventRequest();
    expect(first.dw0).toBe(NS_CHANGED_AEN);
    // The second change is masked (not acknowledged yet): the next AER stays pending.
    const second = settled(c.asyncEventRequest());
    await tick();
    expect(second.done).toBe(false);
    // Reading with RAE keeps it masked; reading without RAE re-arms it.
    await c.getLogPage(LogId.ChangedNsList, 4096, { rae: true });
    await f.subsys.getNamespace(2)!.disable();
    await tick();
    expect(second.done).toBe(false);
    expect(decodeChangedNsList((await c.getLogPage(LogId.ChangedNsList, 4096)).data!).nsids).toEqual([2, 3]);
    await f.subsys.getNamespace(3)!.disable();
    await tick();
    expect(second.done).toBe(true);
    expect(second.value!.dw0).toBe(NS_CHANGED_AEN);
  });

  it('disabling the notice in Async Event Configuration suppresses the AEN but not the log', async () => {
    f = await setup();
    const c = await f.ready();
    expect((await c.setFeatures(0x0b, 0)).status).toBe(0);
    const s = settled(c.asyncEventRequest());
    await f.subsys.addNamespace({ nsid: 2, backend: { kind: 'ram', size: 1 << 20 } }).enable();
    await tick();
    expect(s.done).toBe(false);
    expect(decodeChangedNsList((await c.getLogPage(LogId.ChangedNsList, 4096)).data!).nsids).toEqual([2]);
  });

  it('holds at most AERL+1 requests', async () => {
    f = await setup();
    const c = await f.ready();
    const held = [0, 1, 2, 3].map(() => settled(c.asyncEventRequest()));
    const over = await c.asyncEventRequest();
    expect(over.status & ~STATUS_MORE).toBe(NvmeStatus.AsyncEventLimitExceeded | STATUS_DNR);
    await tick();
    expect(held.every((h) => !h.done)).toBe(true);
    expect(f.subsys.getController(c.cntlid)!.heldAers).toBe(4);
  });

  it('held AERs are dropped (not answered) when the association ends', async () => {
    f = await setup();
    const c = await f.ready();
    const p = c.asyncEventRequest();
    const ctrl = f.subsys.getController(c.cntlid)!;
    await tick();
    c.admin.close();
    await expect(p).rejects.toThrow(/disconnected/);
    expect(ctrl.heldAers).toBe(0);
    expect(ctrl.state).toBe('deleted');
  });
});
