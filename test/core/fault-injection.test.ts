/**
 * The test-only faults the interop suite injects (NVMET_TS_FAULT) really reach
 * the wire path: otherwise `test:interop --fault ...` would prove nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Fixture } from './setup.js';
import { setFaults } from '../../target/fault/env.js';
import { Cns } from '../../src/nvme/identify.js';
import { decodeIdentifyController } from '../../src/nvme/identify-ctrl.js';
import { LogId } from '../../src/nvme/log-pages.js';

let f: Fixture;
afterEach(async () => {
  setFaults('');
  await f.close();
});

describe('fault injection hooks', () => {
  it('identify-bad-field changes the serial number of Identify Controller, and only when set', async () => {
    f = await setup();
    const c = await f.ready();
    const good = decodeIdentifyController((await c.identify(Cns.Controller)).data!);
    setFaults('identify-bad-field');
    const bad = decodeIdentifyController((await c.identify(Cns.Controller)).data!);
    expect(good.sn).not.toBe('FAULT-INJECTED-SN');
    expect(bad.sn).toBe('FAULT-INJECTED-SN');
  });

  it('drop-completion withholds the Error Information log completion while other commands complete', async () => {
    f = await setup();
    const c = await f.ready();
    setFaults('drop-completion');
    let settled = false;
    void c.getLogPage(LogId.ErrorInfo, 64).then(() => (settled = true), () => (settled = true));
    const smart = await c.getLogPage(LogId.Smart, 512);
    expect(smart.status).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
  });

  it('refuses an unknown fault name', () => {
    f = { close: async () => {} } as unknown as Fixture;
    expect(() => setFaults('no-such-fault')).toThrow(/unknown fault/);
  });
});
