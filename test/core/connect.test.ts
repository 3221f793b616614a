import { afterEach, describe, expect, it } from 'vitest';
import { setup, SUBNQN, HOSTNQN, OTHER_HOST, PORT_ID, type Fixture } from './setup.js';
import { connectQueue, submit } from '../../target/loop/host.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE, statusCode } from '../../src/nvme/status.js';
import { decodeConnectInvalidParam, ConnectDataOff, FabricsOff, DISCOVERY_NQN } from '../../src/nvme/fabrics.js';
import { encodeSqe } from '../../src/nvme/sqe.js';
import { AdminOpcode } from '../../src/nvme/opcodes.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

describe('admin queue Connect', () => {
  it('creates a controller with a cntlid from the subsystem range', async () => {
    f = await setup({ subsys: { cntlidMin: 10, cntlidMax: 20 } });
    const c = await f.connect();
    expect(c.cntlid).toBeGreaterThanOrEqual(10);
    expect(c.cntlid).toBeLessThanOrEqual(20);
    const ctrl = f.subsys.getController(c.cntlid)!;
    expect(ctrl.hostnqn).toBe(HOSTNQN);
    expect(ctrl.state).toBe('disabled');
    expect(c.admin.qid).toBe(0);
  });

  it('reports sqhd advancing modulo the queue size and the right sqid/cid', async () => {
    f = await setup();
    const q = f.loop.connect(PORT_ID);
    const c = await connectQueue(q, SUBNQN, 0, { hostnqn: HOSTNQN, sqsize: 1 }); // 2 entries
    expect(c.status).toBe(0);
    expect(c.cqe.sqhd).toBe(1);
    expect(c.cqe.sqid).toBe(0);
    const heads: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await submit(q, encodeSqe(new Uint8Array(64), { opcode: 0x7f, cdw10: 0 }).fill(4, 4, 5));
      heads.push(r.cqe.sqhd);
    }
    expect(heads).toEqual([0, 1, 0]);
  });

  it('refuses a host not on the allowed list with Connect Invalid Host', async () => {
    f = await setup();
    const q = f.loop.connect(PORT_ID);
    const c = await connectQueue(q, SUBNQN, 0, { hostnqn: OTHER_HOST });
    expect(c.status).toBe(NvmeStatus.ConnectInvalidHost | STATUS_DNR);
    expect(decodeConnectInvalidParam(c.dw0)).toEqual({ inData: true, offset: ConnectDataOff.HostNqn });
    expect(f.subsys.controllers.length).toBe(0);
  });

  it('lets any host in when allowAnyHost is set, and follows host list changes', async () => {
    f = await setup({ subsys: { allowedHosts: [] } });
    const q1 = f.loop.connect(PORT_ID);
    expect((await connectQueue(q1, SUBNQN, 0, { hostnqn: OTHER_HOST })).status).toBe(NvmeStatus.ConnectInvalidHost | STATUS_DNR);
    f.subsys.allowHost(OTHER_HOST);
    const q2 = f.loop.connect(PORT_ID);
    expect((await connectQueue(q2, SUBNQN, 0, { hostnqn: OTHER_HOST })).status).toBe(0);
    f.subsys.setAllowAnyHost(true);
    const q3 = f.loop.connect(PORT_ID);
    expect((await connectQueue(q3, SUBNQN, 0, { hostnqn: 'nqn.2014-08.org.example:someone' })).status).toBe(0);
  });

  it('rejects an unknown subsystem NQN with IATTR/IPO pointing at SUBNQN', async () => {
    f = await setup();
    const q = f.loop.connect(PORT_ID);
    const c = await connectQueue(q, 'nqn.2024-01.io.nvmet-ts:nope', 0, { hostnqn: HOSTNQN });
    expect(c.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
    expect(decodeConnectInvalidParam(c.dw0)).toEqual({ inData: true, offset: ConnectDataOff.SubNqn });
  });

  it('does not expose a subsystem on a port it is not linked to', async () => {
    f = await setup();
    f.port.removeSubsystem(SUBNQN);
    const q = f.loop.connect(PORT_ID);
    const c = await connectQueue(q, SUBNQN, 0, { hostnqn: HOSTNQN });
    expect(statusCode(c.status)).toBe(NvmeStatus.ConnectInvalidParam);
  });

  it('rejects sqsize 0, a static cntlid and a non-zero record format', async () => {
    f = await setup();
    let c = await connectQueue(f.loop.connect(PORT_ID), SUBNQN, 0, { hostnqn: HOSTNQN, sqsize: 0 });
    expect(c.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
    expect(decodeConnectInvalidParam(c.dw0)).toEqual({ inData: false, offset: FabricsOff.Sqsize });
    c = await connectQueue(f.loop.connect(PORT_ID), SUBNQN, 0, { hostnqn: HOSTNQN, cntlid: 5 });
    expect(c.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
    expect(decodeConnectInvalidParam(c.dw0)).toEqual({ inData: true, offset: ConnectDataOff.Cntlid });
    c = await connectQueue(f.loop.connect(PORT_ID), SUBNQN, 0, { hostnqn: HOSTNQN, recfmt: 1 });
    expect(c.status).toBe(NvmeStatus.ConnectIncompatibleFormat | STATUS_DNR);
    expect(f.subsys.controllers.length).toBe(0);
  });

  it('accepts only Connect on an unconnected queue', async () => {
    f = await setup();
    const q = f.loop.connect(PORT_ID);
    const c = await submit(q, encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.Identify, cdw10: 1 }), undefined, 4096);
    expect(c.status).toBe(NvmeStatus.InvalidOpcode | STATUS_DNR);
  });

  it('rejects a Connect whose data length disagrees with the SGL', async () => {
    f = await setup();
    const q = f.loop.connect(PORT_ID);
    const sqe = new Uint8Array(64);
    sqe[0] = 0x7f;
    sqe[4] = 0x01;
    sqe[44] = 31;
    const c = await submit(q, sqe, new Uint8Array(512));
    expect(c.status).toBe(NvmeStatus.SglInvalidDataLength | STATUS_DNR);
  });

  it('returns Controller Busy once the cntlid range is exhausted, and reuses freed ids', async () => {
    f = await setup({ subsys: { cntlidMin: 7, cntlidMax: 9 } });
    const ctrls = [await f.connect(), await f.connect(), await f.connect()];
    expect(ctrls.map((c) => c.cntlid).sort()).toEqual([7, 8, 9]);
    const q = f.loop.connect(PORT_ID);
    const c = await connectQueue(q, SUBNQN, 0, { hostnqn: HOSTNQN });
    expect(c.status).toBe(NvmeStatus.ConnectControllerBusy | STATUS_DNR);
    ctrls[1]!.close();
    expect(f.subsys.controllers.length).toBe(2);
    const again = await f.connect();
    expect(again.cntlid).toBe(ctrls[1]!.cntlid);
  });

  it('connects to the discovery subsystem from any host', async () => {
    f = await setup();
    const c = await f.connect({ subnqn: DISCOVERY_NQN, hostnqn: OTHER_HOST });
    const ctrl = f.nvmet.discovery.getController(c.cntlid)!;
    expect(ctrl.isDiscovery).toBe(true);
    // Discovery controllers always get a keep-alive (Linux: 120 s when the host asks for none).
    expect(ctrl.kato).toBe(120_000);
  });
});

describe('I/O queue Connect', () => {
  it('binds to the controller by cntlid and hostnqn', async () => {
    f = await setup();
    const c = await f.ready();
    const q = await c.connectIo(1);
    expect(q.qid).toBe(1);
    const ctrl = f.subsys.getController(c.cntlid)!;
    expect(ctrl.ioQueueCount).toBe(1);
    expect(ctrl.queues[1]).toBeDefined();
  });

  it('rejects an unknown cntlid, a hostnqn mismatch, a qid above the granted count and a duplicate qid', async () => {
    f = await setup({ subsys: { maxQid: 4 } });
    const c = await f.ready();
    let r = await c.connectIoRaw(f.loop.connect(PORT_ID), 1, { cntlid: c.cntlid + 1 });
    expect(r.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
    expect(decodeConnectInvalidParam(r.dw0)).toEqual({ inData: true, offset: ConnectDataOff.Cntlid });

    f.subsys.allowHost(OTHER_HOST);
    r = await c.connectIoRaw(f.loop.connect(PORT_ID), 1, { hostnqn: OTHER_HOST });
    expect(r.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
    expect(decodeConnectInvalidParam(r.dw0)).toEqual({ inData: true, offset: ConnectDataOff.Cntlid });

    r = await c.connectIoRaw(f.loop.connect(PORT_ID), 5);
    expect(r.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
    expect(decodeConnectInvalidParam(r.dw0)).toEqual({ inData: false, offset: FabricsOff.Qid });

    // Number of Queues grants fewer than the subsystem maximum: qid 3 is then out of range.
    const nq = await c.setFeatures(0x07, (1 << 16) | 1);
    expect(nq.status).toBe(0);
    expect(nq.dw0).toBe((1 << 16) | 1);
    r = await c.connectIoRaw(f.loop.connect(PORT_ID), 3);
    expect(decodeConnectInvalidParam(r.dw0)).toEqual({ inData: false, offset: FabricsOff.Qid });

    await c.connectIo(2);
    r = await c.connectIoRaw(f.loop.connect(PORT_ID), 2);
    expect(r.status).toBe(NvmeStatus.CommandSequenceError | STATUS_DNR);

    r = await c.connectIoRaw(f.loop.connect(PORT_ID), 1, { sqsize: 0 });
    expect(decodeConnectInvalidParam(r.dw0)).toEqual({ inData: false, offset: FabricsOff.Sqsize });
    r = await c.connectIoRaw(f.loop.connect(PORT_ID), 1, { sqsize: 1024 });
    expect(r.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
    expect(decodeConnectInvalidParam(r.dw0)).toEqual({ inData: false, offset: FabricsOff.Sqsize });
  });

  it('tears the whole association down when the admin queue goes away', async () => {
    f = await setup();
    const c = await f.ready();
    const q1 = await c.connectIo(1);
    const q2 = await c.connectIo(2);
    c.admin.close();
    expect(q1.connected).toBe(false);
    expect(q2.connected).toBe(false);
    expect(f.subsys.controllers.length).toBe(0);
  });

  it('keeps the controller when only an I/O queue disconnects, and Disconnect deletes an I/O queue', async () => {
    f = await setup();
    const c = await f.ready();
    const q1 = await c.connectIo(1);
    const q2 = await c.connectIo(2);
    q1.close();
    const ctrl = f.subsys.getController(c.cntlid)!;
    expect(ctrl.ioQueueCount).toBe(1);
    const r = await c.disconnectIo(q2);
    expect(r.status).toBe(0);
    await new Promise((res) => setImmediate(res));
    expect(q2.connected).toBe(false);
    expect(ctrl.ioQueueCount).toBe(0);
    expect(ctrl.state).toBe('ready');
    // qid 1 can be connected again.
    await c.connectIo(1);
    // Disconnect is not for the admin queue.
    const sqe = new Uint8Array(64);
    sqe[0] = 0x7f;
    sqe[4] = 0x08;
    const bad = await c.adminCmd(sqe);
    // Errors on a live controller are logged in the Error Information log, hence MORE.
    expect(bad.status).toBe(0x185 | STATUS_DNR | STATUS_MORE);
  });
});
