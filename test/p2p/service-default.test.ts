/**
 * The shipped configuration end to end, as `nvmet-ts --allow-p2pmem` runs it:
 * config/default.json (JBOF, two RAM namespaces on the SSDs, TCP port on the RNIC)
 * through NvmetService, a real TCP host, and an RDMA port added to the same target.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from '../../initiator/controller.js';
import { RdmaController } from '../../initiator/rdma/controller.js';
import { loadConfigFile, defaultConfigPath } from '../../target/config/index.js';
import { NvmetService } from '../../target/service/index.js';
import { assertNoLeaks, captureLogger, ROOT_PORT_LINK } from './stack.js';
import { verifiedWorkload } from './workload.js';

const NQN = 'nqn.2014-08.org.nvmexpress:nvmet-ts';

let svc: NvmetService | null = null;
const hosts: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close().catch(() => {});
  await svc?.stop();
  if (svc?.dp) assertNoLeaks(svc.dp);
  svc = null;
});

async function start(allowP2pmem: boolean, logs: string[]): Promise<NvmetService> {
  const loaded = await loadConfigFile(defaultConfigPath());
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const ref = loaded.config.topology;
  return NvmetService.start({
    config: loaded.config,
    baseDir: loaded.baseDir,
    ...(ref?.kind === 'file' && loaded.topology ? { topologyDocument: { file: ref.path, value: loaded.topology.document } } : {}),
    logger: captureLogger(logs),
    listen: { traddr: '127.0.0.1', trsvcid: '0' },
    allowP2pmem,
  });
}

describe('config/default.json through the service', () => {
  it('--allow-p2pmem: the default port stages in p2pmem; TCP and RDMA workloads move no data through the root complex', async () => {
    const logs: string[] = [];
    svc = await start(true, logs);
    const dp = svc.dp!;
    const st = dp.portState(1)!;
    expect(st.allowP2pmem).toBe(true);
    expect(st.p2pmemInUse).toBe(true);
    expect(logs.some((l) => l.startsWith(`info: port 1: p2pmem from ${st.provider}`))).toBe(true);

    const tcp = await Controller.connect({ host: '127.0.0.1', port: Number(svc.port(1)!.addr.trsvcid), subnqn: NQN, queues: 2, kato: 0 });
    hosts.push(tcp);
    await tcp.geometry(1);
    await tcp.geometry(2);
    let before = dp.accounting.snapshot();
    const w = await verifiedWorkload(tcp);
    let after = dp.accounting.snapshot();
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(0);
    expect(after.dramBytes - before.dramBytes).toBe(0);
    expect(after.dmaBytes - before.dmaBytes).toBe(2 * (w.bytesWritten + w.bytesRead));

    // An RDMA port on the same NIC and subsystem, added live through the document.
    await svc.update((cur) => ({
      config: {
        ...cur,
        ports: [
          ...cur.ports,
          { ...cur.ports[0]!, portid: 2, addr: { ...cur.ports[0]!.addr, trtype: 'rdma', traddr: '192.0.2.10', trsvcid: '0' }, referrals: [] },
        ],
      },
    }));
    const port2 = svc.port(2)!;
    expect(port2.state).toBe('enabled');
    expect(dp.portState(2)!.p2pmemInUse).toBe(true);
    const rdma = await RdmaController.connect({ traddr: '192.0.2.10', trsvcid: port2.addr.trsvcid, subnqn: NQN, queues: 2 });
    hosts.push(rdma);
    await rdma.geometry(1);
    await rdma.geometry(2);
    before = dp.accounting.snapshot();
    const w2 = await verifiedWorkload(rdma, { alloc: (n) => rdma.allocBuffer(n), seed: 11 });
    after = dp.accounting.snapshot();
    expect(after.rootComplexBytes - before.rootComplexBytes).toBe(0);
    expect(after.dramBytes - before.dramBytes).toBe(0);
    expect(after.dmaBytes - before.dmaBytes).toBe(2 * (w2.bytesWritten + w2.bytesRead));
  });

  it('without --allow-p2pmem the default config stages in system memory: 2× payload across the root port', async () => {
    svc = await start(false, []);
    const dp = svc.dp!;
    expect(dp.portState(1)!.p2pmemInUse).toBe(false);
    const tcp = await Controller.connect({ host: '127.0.0.1', port: Number(svc.port(1)!.addr.trsvcid), subnqn: NQN, queues: 2, kato: 0 });
    hosts.push(tcp);
    await tcp.geometry(1);
    await tcp.geometry(2);
    const before = dp.accounting.snapshot();
    const w = await verifiedWorkload(tcp);
    const after = dp.accounting.snapshot();
    const payload = w.bytesWritten + w.bytesRead;
    const a = after.links[ROOT_PORT_LINK]!;
    const b = before.links[ROOT_PORT_LINK]!;
    expect(a.up - b.up + (a.down - b.down)).toBe(2 * payload);
  });
});
