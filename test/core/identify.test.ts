import { afterEach, describe, expect, it } from 'vitest';
import { setup, SUBNQN, type Fixture } from './setup.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import { Cns, Csi } from '../../src/nvme/identify.js';
import { decodeIdentifyController, CntrlType, Ctratt, Oncs, Sgls, Oaes } from '../../src/nvme/identify-ctrl.js';
import { decodeIdentifyNamespace } from '../../src/nvme/identify-ns.js';
import { decodeNsList, decodeNsDescList, Nidt } from '../../src/nvme/identify-lists.js';
import { uuidToBytes } from '../../src/nvme/fabrics.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

const noMore = (s: number): number => s & ~STATUS_MORE;

describe('Identify', () => {
  it('CNS 01h: controller with fabrics fields', async () => {
    f = await setup({ subsys: { model: 'nvmet-ts test model', firmwareRev: '1.2.3' }, loop: { maxTransferSize: 128 * 1024 } });
    const c = await f.ready();
    const r = await c.identify(Cns.Controller);
    expect(r.status).toBe(0);
    const id = decodeIdentifyController(r.data!);
    expect(id.sn).toBe('SN-TEST-0001');
    expect(id.mn).toBe('nvmet-ts test model');
    expect(id.fr).toBe('1.2.3');
    expect(id.cntlid).toBe(c.cntlid);
    expect(id.subnqn).toBe(SUBNQN);
    expect(id.cntrltype).toBe(CntrlType.Io);
    expect(id.ioccsz).toBe((64 + 16384) / 16);
    expect(id.iorcsz).toBe(1);
    expect(id.icdoff).toBe(0);
    expect(id.msdbd).toBe(1);
    expect(id.sgls & Sgls.Supported).toBe(Sgls.Supported);
    expect(id.sgls & Sgls.AddressAsOffset).toBe(Sgls.AddressAsOffset);
    expect(id.sgls & Sgls.KeyedDataBlock).toBe(0);
    // 128 KiB = 2^5 × 4 KiB.
    expect(id.mdts).toBe(5);
    expect(id.kas).toBeGreaterThan(0);
    expect(id.oaes & Oaes.NsAttributeNotices).toBe(Oaes.NsAttributeNotices);
    expect(id.aerl).toBe(3);
    expect(id.maxcmd).toBe(1024);
    expect(id.nn).toBe(1024);
    expect(id.oncs & (Oncs.WriteZeroes | Oncs.DatasetManagement)).toBe(Oncs.WriteZeroes | Oncs.DatasetManagement);
    expect(id.vwc & 1).toBe(1);
    expect(id.ctratt & Ctratt.TrafficBasedKeepAlive).toBe(Ctratt.TrafficBasedKeepAlive);
    expect(id.sqes).toBe(0x66);
    expect(id.cqes).toBe(0x44);
    expect(id.elpe).toBe(127);
  });

  it('CNS 01h: MDTS 0 when the transport has no limit; ioccsz follows the port inline size', async () => {
    f = await setup();
    const c = await f.ready();
    const id = decodeIdentifyController((await c.identify(Cns.Controller)).data!);
    expect(id.mdts).toBe(0);
  });

  it('CNS 00h: namespace size and LBA format for 512 B and 4 KiB blocks', async () => {
    f = await setup({
      namespaces: [
        { nsid: 1, size: 8 << 20 },
        { nsid: 3, size: 16 << 20, blockSize: 4096 },
      ],
    });
    const c = await f.ready();
    const a = decodeIdentifyNamespace((await c.identify(Cns.Namespace, 1)).data!);
    expect(a.nsze).toBe(BigInt((8 << 20) / 512));
    expect(a.ncap).toBe(a.nsze);
    expect(a.lbaf[0]!.lbads).toBe(9);
    expect(a.flbas).toBe(0);
    expect(a.nmic & 1).toBe(1);
    expect(a.dlfeat & 7).toBe(1);
    const b = decodeIdentifyNamespace((await c.identify(Cns.Namespace, 3)).data!);
    expect(b.nsze).toBe(BigInt((16 << 20) / 4096));
    expect(b.lbaf[0]!.lbads).toBe(12);
  });

  it('CNS 00h: inactive nsid returns zeroes, the broadcast nsid is Invalid Namespace', async () => {
    f = await setup();
    const c = await f.ready();
    const r = await c.identify(Cns.Namespace, 2);
    expect(r.status).toBe(0);
    expect(r.data!.every((x) => x === 0)).toBe(true);
    const all = await c.identify(Cns.Namespace, 0xffffffff);
    expect(noMore(all.status)).toBe(NvmeStatus.InvalidNs | STATUS_DNR);
  });

  it('CNS 02h: active namespace list above the given nsid', async () => {
    f = await setup({
      namespaces: [
        { nsid: 1, size: 1 << 20 },
        { nsid: 5, size: 1 << 20 },
        { nsid: 9, size: 1 << 20 },
      ],
    });
    const c = await f.ready();
    expect(decodeNsList((await c.identify(Cns.ActiveNsList, 0)).data!)).toEqual([1, 5, 9]);
    expect(decodeNsList((await c.identify(Cns.ActiveNsList, 1)).data!)).toEqual([5, 9]);
    expect(decodeNsList((await c.identify(Cns.ActiveNsList, 9)).data!)).toEqual([]);
    await f.subsys.getNamespace(5)!.disable();
    expect(decodeNsList((await c.identify(Cns.ActiveNsList, 0)).data!)).toEqual([1, 9]);
    expect(noMore((await c.identify(Cns.ActiveNsList, 0xfffffffe)).status)).toBe(NvmeStatus.InvalidNs | STATUS_DNR);
  });

  it('CNS 03h: descriptor list with EUI-64, NGUID, UUID and CSI', async () => {
    f = await setup({ namespaces: [] });
    const uuid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    await f.subsys
      .addNamespace({
        nsid: 2,
        backend: { kind: 'ram', size: 1 << 20 },
        uuid,
        nguid: '00112233445566778899aabbccddeeff',
        eui64: '0123456789abcdef',
      })
      .enable();
    const c = await f.ready();
    const d = decodeNsDescList((await c.identify(Cns.NsDescList, 2)).data!);
    const by = new Map(d.map((x) => [x.nidt, x.nid]));
    expect([...by.keys()].sort()).toEqual([Nidt.Eui64, Nidt.Nguid, Nidt.Uuid, Nidt.Csi]);
    expect(by.get(Nidt.Uuid)).toEqual(uuidToBytes(uuid));
    expect(Buffer.from(by.get(Nidt.Nguid)!).toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect(Buffer.from(by.get(Nidt.Eui64)!).toString('hex')).toBe('0123456789abcdef');
    expect(by.get(Nidt.Csi)).toEqual(new Uint8Array([Csi.Nvm]));
    const id = decodeIdentifyNamespace((await c.identify(Cns.Namespace, 2)).data!);
    expect(Buffer.from(id.nguid).toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect(noMore((await c.identify(Cns.NsDescList, 7)).status)).toBe(NvmeStatus.InvalidNs | STATUS_DNR);
  });

  it('CNS 05h/06h/08h (NVM command set) and unsupported CNS values', async () => {
    f = await setup();
    const c = await f.ready();
    expect((await c.identify(Cns.CsController, 0, Csi.Nvm)).status).toBe(0);
    expect((await c.identify(Cns.CsNamespace, 1, Csi.Nvm)).status).toBe(0);
    const indep = await c.identify(Cns.CsIndependentNamespace, 1);
    expect(indep.status).toBe(0);
    expect(indep.data![14]! & 1).toBe(1);
    expect(noMore((await c.identify(Cns.CsController, 0, Csi.Zoned)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect(noMore((await c.identify(0x13)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });

  it('refuses an Identify whose SGL length is not 4096', async () => {
    f = await setup();
    const c = await f.ready();
    const { encodeIdentifyCommand } = await import('../../src/nvme/identify.js');
    const r = await c.adminCmd(encodeIdentifyCommand(new Uint8Array(64), { cns: 1 }), undefined, 512);
    expect(noMore(r.status)).toBe(NvmeStatus.SglInvalidDataLength | STATUS_DNR);
  });
});
