/**
 * The RDMA host runs the one bring-up the TCP host runs (initiator/host-controller.ts):
 * what only the TCP controller used to do — keep-alive, asynchronous events with the
 * Changed Namespace List, the CC.SHN shutdown at close — now happens over the
 * simulated fabric too, against the real core.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { RdmaFabric } from '../../src/rdma/fabric.js';
import { RdmaTransport } from '../../target/rdma/transport.js';
import { RdmaController } from '../../initiator/rdma/controller.js';
import type { AsyncEvent } from '../../initiator/options.js';
import { AerNotice, AerType } from '../../src/nvme/async-event.js';
import { CSTS_SHST_SHIFT, Shst } from '../../src/nvme/registers.js';

const SUBNQN = 'nqn.2024-01.io.nvmet-ts:rdma-bring-up';
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

async function target(): Promise<{ nvmet: Nvmet; fabric: RdmaFabric; trsvcid: string; sub: ReturnType<Nvmet['addSubsystem']> }> {
  const fabric = new RdmaFabric();
  const nvmet = createNvmet({ logger: silentLogger });
  nvmet.registerTransport(new RdmaTransport({ fabric, logger: silentLogger }));
  const sub = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true });
  await sub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 4 << 20 } }).enable();
  const port = nvmet.addPort({ portId: 3, trtype: TrType.RDMA, traddr: '192.0.2.30', trsvcid: '0' });
  port.addSubsystem(sub);
  await port.enable();
  cleanup.push(() => nvmet.shutdown());
  return { nvmet, fabric, trsvcid: port.addr.trsvcid, sub };
}

describe('RDMA host bring-up (shared with TCP)', () => {
  it('reads CAP and VS, keeps the controller alive, reports a namespace change with its list, and shuts down at close', async () => {
    const t = await target();
    const events: AsyncEvent[] = [];
    const host = await RdmaController.connect({
      fabric: t.fabric,
      traddr: '192.0.2.30',
      trsvcid: t.trsvcid,
      subnqn: SUBNQN,
      queues: 1,
      kato: 1500,
      onAsyncEvent: (e) => events.push(e),
    });
    let closed = false;
    cleanup.push(() => (closed ? Promise.resolve() : host.close()));
    expect(host.cap).not.toBe(0n);
    expect(host.vs).toBeGreaterThan(0);
    const ctrl = t.sub.controllers[0]!;
    expect(ctrl.cntlid).toBe(host.cntlid);

    // Keep-alive every kato/2: the controller outlives more than two KATO periods.
    await new Promise((r) => setTimeout(r, 3500));
    expect(host.error).toBeNull();
    expect(t.sub.controllers).toHaveLength(1);

    await t.sub.addNamespace({ nsid: 2, backend: { kind: 'ram', size: 1 << 20 } }).enable();
    for (let i = 0; i < 200 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events[0]).toMatchObject({ type: AerType.Notice, info: AerNotice.NsAttributeChanged, changedNamespaces: [2] });

    await host.close();
    closed = true;
    // CC.SHN reached the controller before the queues closed: CSTS.SHST says complete.
    expect((ctrl.csts >>> CSTS_SHST_SHIFT) & 3).toBe(Shst.Complete);
    for (let i = 0; i < 200 && t.sub.controllers.length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.sub.controllers).toHaveLength(0);
  });
});
