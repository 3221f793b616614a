import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Fixture } from './setup.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import {
  Reg,
  decodeCap,
  decodeCsts,
  encodeCc,
  Shn,
  Shst,
  NVME_VS_1_4,
} from '../../src/nvme/registers.js';
import { encodePropertyGet, encodePropertySet } from '../../src/nvme/fabrics.js';
import { encodeSqe } from '../../src/nvme/sqe.js';
import { AdminOpcode } from '../../src/nvme/opcodes.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

const CC_OK = encodeCc({ en: true, iosqes: 6, iocqes: 4 });

describe('Property Get/Set', () => {
  it('reports CAP (8 bytes), VS, CC and CSTS', async () => {
    f = await setup();
    const c = await f.connect();
    const cap = decodeCap(await c.propertyGet(Reg.Cap, 8));
    expect(cap.mqes).toBe(1023);
    expect(cap.to).toBe(15);
    expect(cap.css & 1).toBe(1);
    expect(Number(await c.propertyGet(Reg.Vs, 4))).toBe(NVME_VS_1_4);
    expect(Number(await c.propertyGet(Reg.Cc, 4))).toBe(0);
    expect(Number(await c.propertyGet(Reg.Csts, 4))).toBe(0);
  });

  it('refuses CAP as a 4-byte read, unknown offsets, and writes other than CC', async () => {
    f = await setup();
    const c = await f.connect();
    const get4cap = await c.adminCmd(encodePropertyGet(new Uint8Array(64), 0, Reg.Cap, 4));
    expect(get4cap.status & ~STATUS_MORE).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    const getNssr = await c.adminCmd(encodePropertyGet(new Uint8Array(64), 0, Reg.Nssr, 4));
    expect(getNssr.status & ~STATUS_MORE).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    const setCsts = await c.adminCmd(encodePropertySet(new Uint8Array(64), 0, Reg.Csts, 4, 1));
    expect(setCsts.status & ~STATUS_MORE).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    const set8 = await c.adminCmd(encodePropertySet(new Uint8Array(64), 0, Reg.Cc, 8, 1));
    expect(set8.status & ~STATUS_MORE).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });

  it('CC.EN 0→1 sets CSTS.RDY; admin commands are refused before that', async () => {
    f = await setup();
    const c = await f.connect();
    const early = await c.identify(1);
    expect(early.status & ~STATUS_MORE).toBe(NvmeStatus.CommandSequenceError | STATUS_DNR);
    expect((await c.propertySet(Reg.Cc, CC_OK)).status).toBe(0);
    expect(Number(await c.propertyGet(Reg.Cc, 4))).toBe(CC_OK);
    expect(decodeCsts(Number(await c.propertyGet(Reg.Csts, 4))).rdy).toBe(true);
    expect(f.subsys.getController(c.cntlid)!.state).toBe('ready');
    expect((await c.identify(1)).status).toBe(0);
  });

  it('bad CC (entry sizes, page size) sets CSTS.CFS instead of RDY', async () => {
    f = await setup();
    const c = await f.connect();
    await c.propertySet(Reg.Cc, encodeCc({ en: true, iosqes: 5, iocqes: 4 }));
    let csts = decodeCsts(Number(await c.propertyGet(Reg.Csts, 4)));
    expect(csts.rdy).toBe(false);
    expect(csts.cfs).toBe(true);
    await c.propertySet(Reg.Cc, 0);
    await c.propertySet(Reg.Cc, encodeCc({ en: true, iosqes: 6, iocqes: 4, mps: 1 }));
    csts = decodeCsts(Number(await c.propertyGet(Reg.Csts, 4)));
    expect(csts.cfs).toBe(true);
    await c.propertySet(Reg.Cc, 0);
    await c.propertySet(Reg.Cc, CC_OK);
    csts = decodeCsts(Number(await c.propertyGet(Reg.Csts, 4)));
    expect(csts).toMatchObject({ rdy: true, cfs: false });
  });

  it('CC.SHN → CSTS.SHST complete; clearing SHN clears it', async () => {
    f = await setup();
    const c = await f.ready();
    await c.propertySet(Reg.Cc, encodeCc({ en: true, iosqes: 6, iocqes: 4, shn: Shn.Normal }));
    let csts = decodeCsts(Number(await c.propertyGet(Reg.Csts, 4)));
    expect(csts.shst).toBe(Shst.Complete);
    expect(csts.rdy).toBe(false);
    expect(f.subsys.getController(c.cntlid)!.state).toBe('shutdown');
    await c.propertySet(Reg.Cc, 0);
    csts = decodeCsts(Number(await c.propertyGet(Reg.Csts, 4)));
    expect(csts.shst).toBe(Shst.Normal);
    expect(f.subsys.getController(c.cntlid)!.state).toBe('disabled');
  });

  it('CC.EN 1→0 resets the controller: I/O queues are torn down, the admin queue stays', async () => {
    f = await setup();
    const c = await f.ready();
    const q1 = await c.connectIo(1);
    const q2 = await c.connectIo(2);
    const ctrl = f.subsys.getController(c.cntlid)!;
    expect(ctrl.ioQueueCount).toBe(2);
    await c.propertySet(Reg.Cc, 0);
    expect(q1.connected).toBe(false);
    expect(q2.connected).toBe(false);
    expect(ctrl.ioQueueCount).toBe(0);
    expect(c.admin.connected).toBe(true);
    expect(decodeCsts(Number(await c.propertyGet(Reg.Csts, 4))).rdy).toBe(false);
    // Re-enable and reconnect I/O queues on the same controller.
    await c.enable();
    const q = await c.connectIo(1);
    expect(q.qid).toBe(1);
  });

  it('I/O commands are refused while the controller is disabled', async () => {
    f = await setup();
    const c = await f.connect();
    const q = await c.connectIo(1);
    const r = await c.read(q, 1, 0, 1, 512);
    expect(r.status & ~STATUS_MORE).toBe(NvmeStatus.CommandSequenceError | STATUS_DNR);
  });

  it('rejects fused commands and PRP data pointers', async () => {
    f = await setup();
    const c = await f.ready();
    const fused = encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.KeepAlive, flags: 0x01 });
    expect((await c.adminCmd(fused)).status & ~STATUS_MORE).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    const prp = encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.KeepAlive });
    // submit() forces PSDT=01b; go raw to send PSDT=00b (PRP).
    prp[2] = 77;
    const r = await c.admin.submit(prp);
    expect(r.status & ~STATUS_MORE).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });
});
