/**
 * Several instances behind one namespace (issue 12 item 2): two nvmet-ts
 * targets (two Nvmet instances: separate cores, transports and ports, sharing
 * only the backing file — what two processes share) and two ports of one
 * target export the same subsystem NQN, NSID, NGUID, UUID and EUI-64 with
 * disjoint cntlid ranges, so a host sees one namespace with two paths. I/O
 * moves to the other path when one is made inaccessible or its instance dies.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, NvmeError, type Controller } from '../../initiator/index.js';
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TcpTransport } from '../../target/tcp/index.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { NvmeStatus, statusCode } from '../../src/nvme/status.js';
import { AnaState, decodeAnaLog } from '../../src/nvme/ana.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { pattern } from './harness.js';

const SUBNQN = 'nqn.2024-01.io.nvmet-ts:shared';
const UUID = '4a9e9a2c-4c1e-4b8f-9d11-2f3a4b5c6d7e';
const NGUID = '0123456789abcdef0123456789abcdef';
const EUI64 = '0011223344556677';
const HOST = { hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:cccccccc-0000-4000-8000-00000000000c', hostid: 'cccccccc-0000-4000-8000-00000000000c' };

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Instance {
  nvmet: Nvmet;
  ports: number[];
  stop(): Promise<void>;
}

async function instance(file: string, cntlid: [number, number], ports: { id: number; state: AnaState }[]): Promise<Instance> {
  const nvmet = createNvmet({ logger: silentLogger });
  nvmet.registerTransport(new TcpTransport({}));
  const s = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true, serial: 'shared0001', cntlidMin: cntlid[0], cntlidMax: cntlid[1] });
  await s.addNamespace({ nsid: 1, uuid: UUID, nguid: NGUID, eui64: EUI64, backend: { kind: 'file', path: file, size: 4 << 20 } }).enable();
  const bound: number[] = [];
  for (const p of ports) {
    const port = nvmet.addPort({ portId: p.id, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
    port.ana.setState(1, p.state);
    port.addSubsystem(s);
    await port.enable();
    bound.push(Number(port.addr.trsvcid));
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      await nvmet.shutdown();
    }
  };
  cleanup.push(stop);
  return { nvmet, ports: bound, stop };
}

async function path(port: number): Promise<Controller> {
  const c = await connect({ host: '127.0.0.1', port, subnqn: SUBNQN, queues: 1, kato: 0, ...HOST });
  cleanup.push(() => c.close().catch(() => undefined));
  return c;
}

function tmpFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nvmet-ts-mp-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'shared.img');
}

async function status(p: Promise<unknown>): Promise<number> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (e === null) return 0;
  if (!(e instanceof NvmeError)) throw e;
  return statusCode(e.status);
}

/** What the Linux host compares to put two controllers' namespaces into one nvme_ns_head. */
async function identity(c: Controller) {
  const id = await c.identifyController();
  const ns = await c.identifyNamespace(1);
  const descs = await c.namespaceDescriptors(1);
  return {
    subnqn: id.subnqn,
    cntlid: id.cntlid,
    nguid: Buffer.from(ns.nguid).toString('hex'),
    eui64: Buffer.from(ns.eui64).toString('hex'),
    descs: descs.map((d) => [d.nidt, Buffer.from(d.nid).toString('hex')]),
    anagrpid: ns.anagrpid,
  };
}

describe('two instances, one namespace', () => {
  test('same identity, disjoint cntlids, one file; ANA steers I/O and a dead instance leaves the other path working', async () => {
    const file = tmpFile();
    const a = await instance(file, [1, 99], [{ id: 1, state: AnaState.Optimized }]);
    const b = await instance(file, [100, 199], [{ id: 1, state: AnaState.NonOptimized }]);
    const pa = await path(a.ports[0]!);
    const pb = await path(b.ports[0]!);
    const ia = await identity(pa);
    const ib = await identity(pb);
    expect(ia.cntlid).toBeGreaterThanOrEqual(1);
    expect(ia.cntlid).toBeLessThanOrEqual(99);
    expect(ib.cntlid).toBeGreaterThanOrEqual(100);
    expect(ib.cntlid).toBeLessThanOrEqual(199);
    expect({ ...ib, cntlid: 0 }).toEqual({ ...ia, cntlid: 0 });
    expect(ia.nguid).toBe(NGUID);
    expect(ia.eui64).toBe(EUI64);

    const la = decodeAnaLog(await pa.getLogPage(LogId.Ana, 4096));
    const lb = decodeAnaLog(await pb.getLogPage(LogId.Ana, 4096));
    expect(la.groups[0]).toMatchObject({ grpid: 1, state: AnaState.Optimized, nsids: [1] });
    expect(lb.groups[0]).toMatchObject({ grpid: 1, state: AnaState.NonOptimized, nsids: [1] });

    // A write through one path is read back through the other (one backing file).
    await pa.write(1, 8, pattern(4096, 7));
    expect(new Uint8Array(await pb.read(1, 8, 8))).toEqual(pattern(4096, 7));

    // ANA flip: A inaccessible, B optimized — I/O through A fails with a path error, B carries it.
    a.nvmet.getPort(1)!.ana.setState(1, AnaState.Inaccessible);
    b.nvmet.getPort(1)!.ana.setState(1, AnaState.Optimized);
    expect(await status(pa.write(1, 16, pattern(512, 1)))).toBe(NvmeStatus.AnaInaccessible);
    await pb.write(1, 16, pattern(512, 2));
    // Back again.
    a.nvmet.getPort(1)!.ana.setState(1, AnaState.Optimized);
    expect(new Uint8Array(await pa.read(1, 16, 1))).toEqual(pattern(512, 2));

    // Instance A dies; B keeps serving the same data.
    await a.stop();
    expect(new Uint8Array(await pb.read(1, 8, 8))).toEqual(pattern(4096, 7));
  });

  test('two ports of one target: one controller per path, each port with its own ANA state', async () => {
    const file = tmpFile();
    const t = await instance(file, [1, 0xffef], [{ id: 1, state: AnaState.Optimized }, { id: 2, state: AnaState.NonOptimized }]);
    const p1 = await path(t.ports[0]!);
    const p2 = await path(t.ports[1]!);
    const i1 = await identity(p1);
    const i2 = await identity(p2);
    expect(i1.cntlid).not.toBe(i2.cntlid);
    expect({ ...i2, cntlid: 0 }).toEqual({ ...i1, cntlid: 0 });
    expect(decodeAnaLog(await p2.getLogPage(LogId.Ana, 4096)).groups[0]!.state).toBe(AnaState.NonOptimized);
    t.nvmet.getPort(1)!.ana.setState(1, AnaState.PersistentLoss);
    expect(await status(p1.read(1, 0, 1))).toBe(NvmeStatus.AnaPersistentLoss);
    await p2.read(1, 0, 1);
  });
});
