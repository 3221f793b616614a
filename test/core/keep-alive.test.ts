import { afterEach, describe, expect, it } from 'vitest';
import { setup, waitFor, type Fixture } from './setup.js';
import { Reg } from '../../src/nvme/registers.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

describe('keep-alive', () => {
  it('an expired KATO tears the controller down and disconnects all its queues', async () => {
    f = await setup();
    const c = await f.ready({ kato: 150 });
    const q = await c.connectIo(1);
    const cntlid = c.cntlid;
    const t0 = performance.now();
    await waitFor(() => !c.admin.connected, 2000, 'keep-alive expiry');
    const elapsed = performance.now() - t0;
    // Traffic-based: the I/O Connect counted as traffic, so expiry takes one or two periods.
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(1500);
    expect(q.connected).toBe(false);
    expect(c.admin.disconnectReason).toMatch(/keep-alive/);
    expect(f.subsys.getController(cntlid)).toBeUndefined();
  });

  it('Keep Alive commands keep the controller alive', async () => {
    f = await setup();
    const c = await f.ready({ kato: 150 });
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 60));
      expect((await c.keepAlive()).status).toBe(0);
    }
    expect(c.admin.connected).toBe(true);
    expect(f.subsys.getController(c.cntlid)!.state).toBe('ready');
  });

  it('any command counts as traffic (TBKAS), not only Keep Alive', async () => {
    f = await setup();
    const c = await f.ready({ kato: 150 });
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 60));
      await c.propertyGet(Reg.Csts, 4);
    }
    expect(c.admin.connected).toBe(true);
  });

  it('a controller that is never enabled still times out', async () => {
    f = await setup();
    const c = await f.connect({ kato: 100 });
    await waitFor(() => !c.admin.connected, 2000, 'keep-alive expiry');
    expect(f.subsys.controllers.length).toBe(0);
  });

  it('no KATO means no timeout', async () => {
    f = await setup();
    const c = await f.ready({ kato: 0 });
    await new Promise((r) => setTimeout(r, 250));
    expect(c.admin.connected).toBe(true);
  });
});
