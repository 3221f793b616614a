import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Cns, Csi, IDENTIFY_DATA_SIZE, identifyCns, decodeIdentifyCommand, encodeIdentifyCommand,
} from '../../src/nvme/identify.js';
import {
  ID_CTRL_FIELDS, POWER_STATE_FIELDS, PSD_SIZE, IdCtrlOff, CntrlType, Oaes, Oncs, Sgls, Vwc, Ofcs, Cmic, Lpa,
  encodeIdentifyController, decodeIdentifyController, mdtsBytes, type IdentifyController,
} from '../../src/nvme/identify-ctrl.js';
import {
  ID_NS_FIELDS, LBAF_OFFSET, Nsfeat, Nmic, flbasIndex, makeFlbas, activeLbaSize, encodeIdentifyNamespace,
  decodeIdentifyNamespace, FLBAS_EXTENDED_METADATA,
} from '../../src/nvme/identify-ns.js';
import {
  encodeActiveNsList, decodeNsList, Nidt, NIDT_LENGTH, encodeNsDescList, decodeNsDescList, NS_LIST_MAX,
} from '../../src/nvme/identify-lists.js';
import { checkLayout, fieldSize } from '../../src/nvme/layout.js';
import { rd16, rd32 } from '../../src/nvme/le.js';
import { NVME_VS_1_4 } from '../../src/nvme/registers.js';
import { sqeOpcode } from '../../src/nvme/sqe.js';
import { arbForFields, hex, toHex } from './hex.js';

describe('Identify command', () => {
  it.each([
    ['Namespace', Cns.Namespace, 0x00],
    ['Controller', Cns.Controller, 0x01],
    ['ActiveNsList', Cns.ActiveNsList, 0x02],
    ['NsDescList', Cns.NsDescList, 0x03],
    ['CsNamespace', Cns.CsNamespace, 0x05],
    ['CsController', Cns.CsController, 0x06],
  ])('CNS %s', (_n, got, want) => {
    expect(got).toBe(want);
  });

  it('encodes cdw10/11/14 like nvme-cli (ns-descs for nsid 1, CSI NVM)', () => {
    const b = encodeIdentifyCommand(new Uint8Array(64), { cid: 0x10, nsid: 1, cns: Cns.NsDescList, cntid: 0x1234, csi: Csi.Zoned, cnssid: 7, uuidIndex: 0x85 });
    expect(sqeOpcode(b)).toBe(0x06);
    expect(toHex(b.subarray(40, 48))).toBe('03003412' + '07000002');
    expect(b[56]).toBe(0x05);
    expect(identifyCns(b)).toBe(3);
    expect(decodeIdentifyCommand(b)).toEqual({ cid: 0x10, nsid: 1, cns: 3, cntid: 0x1234, cnssid: 7, csi: 2, uuidIndex: 5 });
  });
});

describe('layout tables are sound', () => {
  it.each([
    ['Identify Controller', ID_CTRL_FIELDS, 4096],
    ['Power state descriptor', POWER_STATE_FIELDS, 32],
    ['Identify Namespace', ID_NS_FIELDS, 4096],
  ] as const)('%s: no overlaps, inside the structure', (_n, fields, size) => {
    expect(checkLayout(fields, size)).toEqual([]);
  });

  it('Identify Controller fields avoid the power-state area; Identify NS fields avoid the LBA formats', () => {
    for (const f of ID_CTRL_FIELDS) {
      if (f.name === 'vs') continue;
      expect(f.off + fieldSize(f), f.name).toBeLessThanOrEqual(2048);
    }
    for (const f of ID_NS_FIELDS) {
      if (f.name === 'vs') continue;
      expect(f.off + fieldSize(f), f.name).toBeLessThanOrEqual(LBAF_OFFSET);
    }
  });

  it.each([
    // cross-checked with Linux struct nvme_id_ctrl
    ['vid', 0], ['sn', 4], ['mn', 24], ['fr', 64], ['rab', 72], ['ieee', 73], ['cmic', 76], ['mdts', 77],
    ['cntlid', 78], ['ver', 80], ['rtd3r', 84], ['rtd3e', 88], ['oaes', 92], ['ctratt', 96], ['cntrltype', 111],
    ['fguid', 112], ['crdt1', 128], ['oacs', 256], ['acl', 258], ['aerl', 259], ['frmw', 260], ['lpa', 261],
    ['elpe', 262], ['npss', 263], ['wctemp', 266], ['cctemp', 268], ['kas', 320], ['sqes', 512], ['cqes', 513],
    ['maxcmd', 514], ['nn', 516], ['oncs', 520], ['fuses', 522], ['fna', 524], ['vwc', 525], ['awun', 526],
    ['awupf', 528], ['acwu', 532], ['sgls', 536], ['mnan', 540], ['subnqn', 768], ['ioccsz', 1792],
    ['iorcsz', 1796], ['icdoff', 1800], ['fcatt', 1802], ['msdbd', 1803], ['ofcs', 1804], ['dctype', 1806],
  ] as const)('id-ctrl %s at %i', (name, off) => {
    expect(IdCtrlOff[name]).toBe(off);
  });
});

describe('Identify Controller', () => {
  // Roughly what Linux nvmet reports for an I/O controller on a TCP port.
  const ctrl: Partial<IdentifyController> = {
    vid: 0, ssvid: 0, sn: 'a1b2c3d4e5f6', mn: 'nvmet-ts', fr: '0.1.0', rab: 6, ieee: 0x0a_00_b1 /* bytes b1 00 0a */,
    cmic: Cmic.MultiPort | Cmic.MultiController | Cmic.Ana, mdts: 8, cntlid: 1, ver: NVME_VS_1_4,
    oaes: Oaes.NsAttributeNotices | Oaes.AnaChange, ctratt: 1, cntrltype: CntrlType.Io,
    acl: 3, aerl: 3, frmw: 3, lpa: Lpa.CommandEffects | Lpa.ExtendedData, elpe: 127, npss: 0, kas: 50,
    sqes: 0x66, cqes: 0x44, maxcmd: 128, nn: 1024, mnan: 1024,
    oncs: Oncs.DatasetManagement | Oncs.WriteZeroes | Oncs.Reservations,
    vwc: Vwc.Present | Vwc.FlushBroadcastSupported, awun: 0, awupf: 0,
    sgls: Sgls.Supported | Sgls.KeyedDataBlock | Sgls.AddressAsOffset,
    subnqn: 'nqn.2024-01.io.nvmet-ts:test', ioccsz: (8192 + 64) / 16, iorcsz: 1, icdoff: 0, msdbd: 1, ofcs: Ofcs.Disconnect,
    psd: [{ mp: 0x9c4, flags: 0, enlat: 16, exlat: 4, rrt: 0, rrl: 0, rwt: 0, rwl: 0, idlp: 0, ips: 0, actp: 0, apwAps: 0 }],
  };
  const b = encodeIdentifyController(ctrl);

  it('is 4096 bytes with byte-exact fields', () => {
    expect(b.length).toBe(IDENTIFY_DATA_SIZE);
    expect(new TextDecoder().decode(b.subarray(4, 24))).toBe('a1b2c3d4e5f6        ');
    expect(new TextDecoder().decode(b.subarray(24, 64))).toBe('nvmet-ts' + ' '.repeat(32));
    expect(new TextDecoder().decode(b.subarray(64, 72))).toBe('0.1.0   ');
    expect(toHex(b.subarray(72, 80))).toBe('06' + 'b1000a' + '0b' + '08' + '0100');
    expect(rd32(b, 80)).toBe(0x10400);
    expect(toHex(b.subarray(92, 96))).toBe('00090000');
    expect(b[111]).toBe(1);
    expect(rd16(b, 320)).toBe(50);
    expect(toHex(b.subarray(512, 520))).toBe('6644' + '8000' + '00040000');
    expect(rd16(b, 520)).toBe(0x2c);
    expect(b[525]).toBe(7);
    expect(rd32(b, 536)).toBe(0x0010_0005);
    expect(new TextDecoder().decode(b.subarray(768, 768 + 28))).toBe('nqn.2024-01.io.nvmet-ts:test');
    expect(b[768 + 28]).toBe(0);
    expect(toHex(b.subarray(1792, 1807))).toBe('04020000' + '01000000' + '0000' + '00' + '01' + '0100' + '00');
    expect(toHex(b.subarray(2048, 2060))).toBe('c409' + '0000' + '10000000' + '04000000');
    // nothing written past the first power state
    expect(b.subarray(2048 + PSD_SIZE).every((x) => x === 0)).toBe(true);
  });

  it('decodes what it encoded (with npss+1 power states)', () => {
    const d = decodeIdentifyController(b);
    for (const [k, v] of Object.entries(ctrl)) expect(d[k as keyof IdentifyController], k).toEqual(v);
    expect(d.psd.length).toBe(1);
    expect(mdtsBytes(d.mdts)).toBe(1 << 20);
    expect(mdtsBytes(0)).toBe(0);
  });

  it('over-long strings and too many power states are rejected', () => {
    expect(() => encodeIdentifyController({ sn: 'x'.repeat(21) })).toThrow(RangeError);
    expect(() => encodeIdentifyController({ subnqn: 'x'.repeat(257) })).toThrow(RangeError);
    const p = ctrl.psd![0]!;
    expect(() => encodeIdentifyController({ psd: Array.from({ length: 33 }, () => p) })).toThrow(RangeError);
    expect(() => decodeIdentifyController(new Uint8Array(4095))).toThrow(RangeError);
  });

  it('round trips arbitrary field values', () => {
    fc.assert(
      fc.property(arbForFields(ID_CTRL_FIELDS), (r) => {
        const c = { ...(r as unknown as IdentifyController), npss: 0 };
        const d = decodeIdentifyController(encodeIdentifyController(c));
        const { psd, ...rest } = d;
        expect(rest).toEqual(c);
        expect(psd).toHaveLength(1);
      }),
      { numRuns: 50 },
    );
  });
});

describe('Identify Namespace', () => {
  it('byte-exact key fields and LBA formats', () => {
    const nguid = hex('00112233445566778899aabbccddeeff');
    const eui64 = hex('0102030405060708');
    const b = encodeIdentifyNamespace({
      nsze: 0x20_0000n, ncap: 0x20_0000n, nuse: 0x10_0000n, nsfeat: Nsfeat.ThinProvisioning | Nsfeat.UidReuse,
      nlbaf: 1, flbas: makeFlbas(1), nmic: Nmic.Shared, dlfeat: 1, anagrpid: 1, nguid, eui64,
      lbaf: [{ ms: 0, lbads: 9, rp: 0 }, { ms: 8, lbads: 12, rp: 2 }],
    });
    expect(toHex(b.subarray(0, 24))).toBe('0000200000000000' + '0000200000000000' + '0000100000000000');
    expect(toHex(b.subarray(24, 34))).toBe('09' + '01' + '01' + '000000' + '01' + '00' + '00' + '01');
    expect(rd32(b, 92)).toBe(1);
    expect(toHex(b.subarray(104, 128))).toBe(toHex(nguid) + toHex(eui64));
    expect(toHex(b.subarray(128, 136))).toBe('00000900' + '08000c02');
    expect(b.subarray(136).every((x) => x === 0)).toBe(true);
    const d = decodeIdentifyNamespace(b);
    expect(d.nsze).toBe(0x20_0000n);
    expect(d.lbaf).toEqual([{ ms: 0, lbads: 9, rp: 0 }, { ms: 8, lbads: 12, rp: 2 }]);
    expect(d.nguid).toEqual(nguid);
    expect(d.eui64).toEqual(eui64);
    expect(activeLbaSize(d)).toBe(4096);
  });

  it('FLBAS index uses bits 3:0 and 6:5', () => {
    for (let i = 0; i < 64; i++) {
      expect(flbasIndex(makeFlbas(i))).toBe(i);
      expect(flbasIndex(makeFlbas(i, true))).toBe(i);
      expect(makeFlbas(i, true) & FLBAS_EXTENDED_METADATA).toBe(FLBAS_EXTENDED_METADATA);
    }
    expect(makeFlbas(17)).toBe(0x21);
    expect(() => activeLbaSize({ flbas: 3, lbaf: [{ ms: 0, lbads: 9, rp: 0 }] })).toThrow(RangeError);
  });

  it('round trips arbitrary field values', () => {
    fc.assert(
      fc.property(arbForFields(ID_NS_FIELDS), (r) => {
        const ns = { ...(r as Record<string, unknown>), nlbaf: 0, lbaf: [{ ms: 0, lbads: 9, rp: 0 }] };
        expect(decodeIdentifyNamespace(encodeIdentifyNamespace(ns))).toEqual(ns);
      }),
      { numRuns: 50 },
    );
  });
});

describe('Active namespace list (CNS 02h)', () => {
  it.each([
    ['all above 0', [3, 1, 2], 0, [1, 2, 3]],
    ['strictly greater than nsid', [1, 2, 3, 10], 2, [3, 10]],
    ['nothing above', [1, 2], 2, []],
    ['dedup, drop 0 and broadcast', [5, 5, 0, 0xffff_ffff, 0xffff_fffe, 4], 0, [4, 5]],
  ])('%s', (_n, nsids, after, want) => {
    const b = encodeActiveNsList(nsids, after);
    expect(b.length).toBe(4096);
    expect(decodeNsList(b)).toEqual(want);
    // terminator after the last entry
    expect(rd32(b, want.length * 4)).toBe(0);
  });

  it('caps at 1024 entries, smallest first', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => 2000 - i);
    const got = decodeNsList(encodeActiveNsList(ids, 0));
    expect(got.length).toBe(NS_LIST_MAX);
    expect(got[0]).toBe(1);
    expect(got[1023]).toBe(1024);
    expect(decodeNsList(encodeActiveNsList(ids, 1500))).toEqual(Array.from({ length: 500 }, (_, i) => 1501 + i));
  });

  it('byte-exact', () => {
    expect(toHex(encodeActiveNsList([1, 0x100], 0).subarray(0, 12))).toBe('01000000' + '00010000' + '00000000');
  });
});

describe('Namespace identification descriptor list (CNS 03h)', () => {
  it('NIDT lengths', () => {
    expect(NIDT_LENGTH).toEqual({ 1: 8, 2: 16, 3: 16, 4: 1 });
  });

  it('byte-exact list with EUI64, NGUID, UUID, CSI', () => {
    const eui = hex('0102030405060708');
    const nguid = hex('11'.repeat(16));
    const uuid = hex('22'.repeat(16));
    const b = encodeNsDescList([
      { nidt: Nidt.Eui64, nid: eui },
      { nidt: Nidt.Nguid, nid: nguid },
      { nidt: Nidt.Uuid, nid: uuid },
      { nidt: Nidt.Csi, nid: hex('00') },
    ]);
    expect(toHex(b.subarray(0, 12))).toBe('01080000' + '0102030405060708');
    expect(toHex(b.subarray(12, 32))).toBe('02100000' + '11'.repeat(16));
    expect(toHex(b.subarray(32, 52))).toBe('03100000' + '22'.repeat(16));
    expect(toHex(b.subarray(52, 57))).toBe('04010000' + '00');
    expect(b.subarray(57).every((x) => x === 0)).toBe(true);
    expect(decodeNsDescList(b)).toEqual([
      { nidt: 1, nid: eui }, { nidt: 2, nid: nguid }, { nidt: 3, nid: uuid }, { nidt: 4, nid: hex('00') },
    ]);
  });

  it('rejects wrong lengths; decoder stops at truncated descriptors', () => {
    expect(() => encodeNsDescList([{ nidt: Nidt.Uuid, nid: new Uint8Array(8) }])).toThrow(RangeError);
    expect(() => encodeNsDescList([{ nidt: 0, nid: new Uint8Array(8) }])).toThrow(RangeError);
    const b = new Uint8Array(4096);
    b[4092] = 3; // UUID descriptor header with no room for the NID
    b[4093] = 16;
    b.set([1, 8, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], 0);
    // an entry at 12 that is 0 ends the list before reaching 4092
    expect(decodeNsDescList(b)).toHaveLength(1);
  });
});
