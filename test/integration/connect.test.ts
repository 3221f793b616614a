/**
 * Association bring-up through the TypeScript initiator against the in-process
 * target: Connect, properties, CC.EN/CSTS.RDY, Identify, discovery, Connect
 * failures with their fabrics status codes, orderly shutdown.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, discover, NvmeError, TransportError } from '../../initiator/index.js';
import { NvmeStatus, statusCode } from '../../src/nvme/status.js';
import { Reg, CSTS_RDY, CSTS_SHST_SHIFT, Shst, capMqes } from '../../src/nvme/registers.js';
import { DISCOVERY_NQN, encodeConnectCommand, encodeConnectData, uuidToBytes, decodeConnectInvalidParam, ConnectDataOff } from '../../src/nvme/fabrics.js';
import { Nidt } from '../../src/nvme/identify-lists.js';
import { SQE_SIZE } from '../../src/nvme/sqe.js';
import { HostQueue } from '../../initiator/host-queue.js';
import { startTarget, SUBNQN, HOSTNQN, HOSTID } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

describe('connect and identify', () => {
  test('brings the controller up and identifies it', async () => {
    t = await startTarget({ namespaces: { 1: 32 << 20, 3: 8 << 20 }, blockSize: 4096 });
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, hostnqn: HOSTNQN, hostid: HOSTID, queues: 2, queueDepth: 16 });
    try {
      expect(c.cntlid).toBeGreaterThan(0);
      expect(c.ioQueues.map((q) => q.qid)).toEqual([1, 2]);
      expect(c.ioQueueDepth).toBeLessThanOrEqual(16);
      expect(c.ioQueueDepth).toBeLessThanOrEqual(capMqes(c.cap));
      // CC.EN=1 took effect
      const csts = Number(await c.propertyGet(Reg.Csts, 4));
      expect(csts & CSTS_RDY).toBe(CSTS_RDY);
      const cc = Number(await c.propertyGet(Reg.Cc, 4));
      expect(cc & 1).toBe(1);
      expect(c.vs).toBeGreaterThanOrEqual(0x10300);

      const id = c.identity!;
      expect(id.subnqn).toBe(SUBNQN);
      expect(id.mn).toBe('nvmet-ts test');
      expect(id.sn).toBe('NVMETTS0001');
      expect(id.cntlid).toBe(c.cntlid);
      expect(id.ioccsz * 16).toBeGreaterThanOrEqual(64);
      expect(id.nn).toBeGreaterThanOrEqual(3);

      expect(await c.activeNamespaces()).toEqual([1, 3]);
      expect(await c.activeNamespaces(1)).toEqual([3]);
      const ns = await c.identifyNamespace(3);
      expect(ns.nsze).toBe(BigInt((8 << 20) / 4096));
      expect(2 ** ns.lbaf[ns.flbas & 0xf]!.lbads).toBe(4096);
      const descs = await c.namespaceDescriptors(1);
      expect(descs.some((d) => d.nidt === Nidt.Uuid || d.nidt === Nidt.Nguid)).toBe(true);
      expect((await c.geometry(1)).lbaSize).toBe(4096);
    } finally {
      await c.close();
    }
  });

  test('close shuts the controller down (CC.SHN → CSTS.SHST complete) and frees it on the target', async () => {
    t = await startTarget();
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1 });
    expect(t.subsys.controllers.length).toBe(1);
    // Do the shutdown handshake by hand first to observe SHST, then close.
    const cc = Number(await c.propertyGet(Reg.Cc, 4));
    await c.propertySet(Reg.Cc, 4, (cc & ~(3 << 14)) | (1 << 14));
    let shst = -1;
    for (let i = 0; i < 100 && shst !== Shst.Complete; i++) {
      shst = (Number(await c.propertyGet(Reg.Csts, 4)) >>> CSTS_SHST_SHIFT) & 3;
      if (shst !== Shst.Complete) await new Promise((r) => setTimeout(r, 10));
    }
    expect(shst).toBe(Shst.Complete);
    await c.close();
    expect(c.admin.closed).toBe(true);
    for (let i = 0; i < 100 && t.subsys.controllers.length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.subsys.controllers.length).toBe(0);
  });

  test('discover lists the subsystem on the bound port', async () => {
    t = await startTarget();
    const log = await discover({ host: t.host, port: t.tcpPort, hostnqn: HOSTNQN });
    const e = log.entries.find((x) => x.subnqn === SUBNQN);
    expect(e).toBeDefined();
    expect(e!.trtype).toBe(3);
    expect(e!.traddr).toBe('127.0.0.1');
    expect(e!.trsvcid).toBe(String(t.tcpPort));
    expect(e!.subtype).toBe(2);
    expect(log.numrec).toBe(log.entries.length);
    // Entry 0 is the discovery subsystem itself, on the address the host reached (TP8014, Linux >= 5.19).
    expect(log.numrec).toBe(2);
    expect(log.entries[0]).toMatchObject({
      trtype: 3,
      adrfam: 1,
      subtype: 3,
      portid: e!.portid,
      cntlid: 0xffff,
      asqsz: 32,
      eflags: 0,
      trsvcid: String(t.tcpPort),
      subnqn: 'nqn.2014-08.org.nvmexpress.discovery',
      traddr: '127.0.0.1',
    });
  });

  test('Connect to an unknown subsystem fails with Connect Invalid Parameters pointing at SUBNQN', async () => {
    t = await startTarget();
    const err = await connect({ host: t.host, port: t.tcpPort, subnqn: 'nqn.2024-01.io.nvmet-ts:nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeError);
    const ne = err as NvmeError;
    expect(statusCode(ne.status)).toBe(NvmeStatus.ConnectInvalidParam);
    expect(ne.dnr).toBe(true);
    const ipo = decodeConnectInvalidParam(ne.dw0);
    expect(ipo).toEqual({ inData: true, offset: ConnectDataOff.SubNqn });
  });

  test('Connect from a host not allowed fails with Connect Invalid Host', async () => {
    t = await startTarget({ allowAnyHost: false, allowedHosts: ['nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001'] });
    const err = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, hostnqn: HOSTNQN }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeError);
    expect(statusCode((err as NvmeError).status)).toBe(NvmeStatus.ConnectInvalidHost);
    // The allowed host gets in.
    const ok = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001', queues: 0 });
    await ok.close();
  });

  test('I/O queue Connect with a wrong CNTLID or QID fails with Connect Invalid Parameters', async () => {
    t = await startTarget();
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, hostnqn: HOSTNQN, hostid: HOSTID, queues: 1 });
    try {
      const tryIo = async (cntlid: number, qid: number, sqsize: number): Promise<number> => {
        const q = await HostQueue.open({ host: t!.host, port: t!.tcpPort });
        try {
          q.inCapsuleMax = 8192;
          const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid, sqsize });
          const data = encodeConnectData({ hostId: uuidToBytes(HOSTID), cntlid, subnqn: SUBNQN, hostnqn: HOSTNQN });
          const r = await q.submit({ sqe, dataOut: data });
          return r.status;
        } finally {
          q.close();
        }
      };
      expect(statusCode(await tryIo(c.cntlid + 100, 2, 31))).toBe(NvmeStatus.ConnectInvalidParam);
      // qid beyond what Set Features Number of Queues granted / the subsystem allows
      expect(statusCode(await tryIo(c.cntlid, 0xfff0, 31))).toBe(NvmeStatus.ConnectInvalidParam);
      // sqsize 0 is invalid (a queue needs at least two entries)
      expect(statusCode(await tryIo(c.cntlid, 2, 0))).toBe(NvmeStatus.ConnectInvalidParam);
      // mismatched hostnqn vs the controller's
    } finally {
      await c.close();
    }
  });

  test('connect to a closed port fails with a typed transport error', async () => {
    t = await startTarget();
    const port = t.tcpPort;
    await t.stop();
    t = null;
    const err = await connect({ host: '127.0.0.1', port, subnqn: SUBNQN, connectTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
  });

  test('the discovery controller can be connected and identified like any controller', async () => {
    t = await startTarget();
    const d = await connect({ host: t.host, port: t.tcpPort, subnqn: DISCOVERY_NQN, queues: 0, kato: 0 });
    try {
      expect(d.identity!.subnqn).toBe(DISCOVERY_NQN);
      expect(d.ioQueues.length).toBe(0);
    } finally {
      await d.close();
    }
  });
});
