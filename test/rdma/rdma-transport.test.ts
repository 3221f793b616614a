/**
 * The RDMA transport on its own (plain core, no PCIe model) and with a port that has
 * no NIC placement: data still moves and verifies; what cannot be routed is not accounted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createNvmet } from '../../target/create-nvmet.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { RdmaFabric } from '../../src/rdma/fabric.js';
import { RdmaTransport } from '../../target/rdma/transport.js';
import { RdmaController } from '../../initiator/rdma/controller.js';
import { TransportError } from '../../initiator/errors.js';
import { SUBNQN, startStack, type Stack } from '../p2p/stack.js';
import { verifiedWorkload } from '../p2p/workload.js';

let stack: Stack | null = null;
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
  await stack?.stop();
  stack = null;
});

describe('RdmaTransport without a PCIe model', () => {
  it('serves a verified workload on the core with plain RAM backends; disabling the port disconnects hosts', async () => {
    const fabric = new RdmaFabric();
    const nvmet = createNvmet({ logger: silentLogger });
    const rdma = new RdmaTransport({ fabric, logger: silentLogger });
    nvmet.registerTransport(rdma);
    const sub = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true });
    await sub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 16 << 20 } }).enable();
    await sub.addNamespace({ nsid: 2, backend: { kind: 'ram', size: 16 << 20 } }).enable();
    const port = nvmet.addPort({ portId: 7, trtype: TrType.RDMA, traddr: '192.0.2.7', trsvcid: '0' });
    port.addSubsystem(sub);
    await port.enable();
    cleanup.push(() => nvmet.shutdown());
    const host = await RdmaController.connect({ fabric, traddr: '192.0.2.7', trsvcid: port.addr.trsvcid, subnqn: SUBNQN, queues: 3 });
    cleanup.push(() => host.close());
    expect(host.ioQueues).toHaveLength(3);
    expect(host.maxTransferBytes).toBe(1 << 20);
    expect(rdma.connections(7)).toBe(4);
    // 2 MiB commands are split by MDTS.
    await verifiedWorkload(host, { sizes: [4096, 2 << 20], count: 4 });
    expect(host.admin.pd.registered + host.ioQueues.reduce((n, q) => n + q.pd.registered, 0)).toBe(0);
    await port.disable();
    expect(rdma.connections(7)).toBe(0);
    await expect(host.read(1, 0, 8)).rejects.toBeInstanceOf(TransportError);
  });

  it('connecting to an address nobody listens on fails with a TransportError', async () => {
    await expect(RdmaController.connect({ fabric: new RdmaFabric(), traddr: '192.0.2.99', trsvcid: '4420', subnqn: SUBNQN })).rejects.toMatchObject({ kind: 'connect' });
  });
});

describe('RDMA port without a NIC placement', () => {
  it('moves the data (verified) and accounts only the SSD side', async () => {
    stack = await startStack({ trtype: 'rdma', nic: null });
    const host = await RdmaController.connect({ fabric: stack.fabric, traddr: stack.traddr, trsvcid: stack.trsvcid, subnqn: SUBNQN, queues: 1 });
    cleanup.push(() => host.close());
    await host.geometry(1);
    await host.geometry(2);
    const before = stack.dp.accounting.snapshot();
    const w = await verifiedWorkload(host, { count: 4 });
    const after = stack.dp.accounting.snapshot();
    // SSD DMAs only (staging in system memory ↔ media): one per payload byte.
    expect(after.dmaBytes - before.dmaBytes).toBe(w.bytesWritten + w.bytesRead);
  });
});
