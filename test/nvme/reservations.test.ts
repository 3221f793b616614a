import { describe, expect, it } from 'vitest';
import {
  Cptpl, RESCAP_ALL_TYPES, RESV_NOTIFY_MASK_ALL, Rescap, ResvAcquireAction, ResvLogType, ResvRegisterAction,
  ResvReleaseAction, ResvType, decodeResvAcquireCommand, decodeResvAcquireData, decodeResvNotificationLog, decodeResvRegisterCommand,
  decodeResvRegisterData, decodeResvReleaseCommand, decodeResvReleaseData, decodeResvReportCommand, decodeResvStatus,
  encodeResvAcquireCommand, encodeResvKeys, encodeResvNotificationLog, encodeResvRegisterCommand, encodeResvReleaseCommand,
  encodeResvReleaseData, encodeResvReportCommand, encodeResvStatus, isAllRegistrantsType, isRegistrantsType, isResvType,
  resvReportLength,
} from '../../src/nvme/reservations.js';
import { CNTLID_DYNAMIC } from '../../src/nvme/fabrics.js';
import { toHex, hex } from './hex.js';

const sqe = (): Uint8Array => new Uint8Array(64);

describe('reservation command dwords', () => {
  it('opcodes and the value sets of the NVMe spec', () => {
    expect(encodeResvRegisterCommand(sqe(), { nsid: 1, rrega: 0 })[0]).toBe(0x0d);
    expect(encodeResvReportCommand(sqe(), { nsid: 1, length: 64 })[0]).toBe(0x0e);
    expect(encodeResvAcquireCommand(sqe(), { nsid: 1, racqa: 0, rtype: 1 })[0]).toBe(0x11);
    expect(encodeResvReleaseCommand(sqe(), { nsid: 1, rrela: 0, rtype: 1 })[0]).toBe(0x15);
    expect(Object.values(ResvType)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([isResvType(0), isResvType(1), isResvType(6), isResvType(7)]).toEqual([false, true, true, false]);
    expect([1, 2, 3, 4, 5, 6].map(isAllRegistrantsType)).toEqual([false, false, false, false, true, true]);
    expect([1, 2, 3, 4, 5, 6].map(isRegistrantsType)).toEqual([false, false, true, true, true, true]);
    expect(RESCAP_ALL_TYPES).toBe(0xfe);
    expect(Rescap.PersistThroughPowerLoss | RESCAP_ALL_TYPES).toBe(0xff);
    expect(RESV_NOTIFY_MASK_ALL).toBe(0x0e);
  });

  const table = [
    { what: 'register, CPTPL set', enc: () => encodeResvRegisterCommand(sqe(), { cid: 7, nsid: 3, rrega: ResvRegisterAction.Register, cptpl: Cptpl.Set }), cdw10: '000000c0', dec: (b: Uint8Array) => decodeResvRegisterCommand(b), want: { cid: 7, nsid: 3, rrega: 0, iekey: false, disnsrs: false, cptpl: 3 } },
    { what: 'unregister, IEKEY', enc: () => encodeResvRegisterCommand(sqe(), { nsid: 1, rrega: ResvRegisterAction.Unregister, iekey: true }), cdw10: '09000000', dec: (b: Uint8Array) => decodeResvRegisterCommand(b), want: { cid: 0, nsid: 1, rrega: 1, iekey: true, disnsrs: false, cptpl: 0 } },
    { what: 'replace, CPTPL clear', enc: () => encodeResvRegisterCommand(sqe(), { nsid: 1, rrega: ResvRegisterAction.Replace, cptpl: Cptpl.Clear }), cdw10: '02000080', dec: (b: Uint8Array) => decodeResvRegisterCommand(b), want: { cid: 0, nsid: 1, rrega: 2, iekey: false, disnsrs: false, cptpl: 2 } },
    { what: 'preempt-and-abort EA-AR', enc: () => encodeResvAcquireCommand(sqe(), { nsid: 1, racqa: ResvAcquireAction.PreemptAndAbort, rtype: ResvType.ExclusiveAccessAllRegistrants }), cdw10: '02060000', dec: (b: Uint8Array) => decodeResvAcquireCommand(b), want: { cid: 0, nsid: 1, racqa: 2, iekey: false, disnsrs: false, rtype: 6 } },
    { what: 'clear', enc: () => encodeResvReleaseCommand(sqe(), { nsid: 2, rrela: ResvReleaseAction.Clear, rtype: 0 }), cdw10: '01000000', dec: (b: Uint8Array) => decodeResvReleaseCommand(b), want: { cid: 0, nsid: 2, rrela: 1, iekey: false, disnsrs: false, rtype: 0 } },
    { what: 'release WE-RO', enc: () => encodeResvReleaseCommand(sqe(), { nsid: 2, rrela: ResvReleaseAction.Release, rtype: 3 }), cdw10: '00030000', dec: (b: Uint8Array) => decodeResvReleaseCommand(b), want: { cid: 0, nsid: 2, rrela: 0, iekey: false, disnsrs: false, rtype: 3 } },
  ];
  for (const t of table) {
    it(t.what, () => {
      const b = t.enc();
      expect(toHex(b.subarray(40, 44))).toBe(t.cdw10);
      expect(t.dec(b)).toEqual(t.want);
    });
  }

  it('report: NUMD 0-based dwords, EDS in cdw11 bit 0', () => {
    const b = encodeResvReportCommand(sqe(), { nsid: 1, length: 4096 });
    expect(toHex(b.subarray(40, 48))).toBe('ff030000' + '01000000');
    expect(resvReportLength(b)).toBe(4096);
    expect(decodeResvReportCommand(b)).toEqual({ cid: 0, nsid: 1, numd: 1024, eds: true });
    expect(decodeResvReportCommand(encodeResvReportCommand(sqe(), { nsid: 1, length: 24, eds: false })).eds).toBe(false);
    expect(() => encodeResvReportCommand(sqe(), { nsid: 1, length: 6 })).toThrow(RangeError);
  });

  it('key data: CRKEY then NRKEY/PRKEY, little endian; release carries CRKEY only', () => {
    const k = encodeResvKeys(0x0102030405060708n, 0xfffffffffffffffen);
    expect(toHex(k)).toBe('0807060504030201' + 'feffffffffffffff');
    expect(decodeResvRegisterData(k)).toEqual({ crkey: 0x0102030405060708n, nrkey: 0xfffffffffffffffen });
    expect(decodeResvAcquireData(k)).toEqual({ crkey: 0x0102030405060708n, prkey: 0xfffffffffffffffen });
    expect(toHex(encodeResvReleaseData(0xabn))).toBe('ab00000000000000');
    expect(decodeResvReleaseData(encodeResvReleaseData(0xabn)).crkey).toBe(0xabn);
    expect(() => decodeResvRegisterData(new Uint8Array(8))).toThrow();
  });
});

describe('Reservation Status data structure', () => {
  const hid16 = hex('00112233445566778899aabbccddeeff');
  it('extended: 64-byte header, 64-byte entries with the 128-bit host id at 16', () => {
    const b = encodeResvStatus(
      { gen: 9, rtype: ResvType.WriteExclusiveAllRegistrants, ptpls: true, regctls: [{ cntlid: CNTLID_DYNAMIC, holder: true, hostid: hid16, rkey: 0xabcdn }] },
      true,
      128,
    );
    expect(toHex(b.subarray(0, 10))).toBe('09000000' + '05' + '0100' + '0000' + '01');
    expect(toHex(b.subarray(64, 96))).toBe('ffff' + '01' + '0000000000' + 'cdab000000000000' + '00112233445566778899aabbccddeeff');
    const d = decodeResvStatus(b, true);
    expect(d).toEqual({ gen: 9, rtype: 5, regctl: 1, ptpls: true, regctls: [{ cntlid: 0xffff, holder: true, hostid: hid16, rkey: 0xabcdn }] });
  });

  it('standard: 24-byte header and entries, 64-bit host id at 8', () => {
    const h8 = hex('0102030405060708');
    const b = encodeResvStatus({ gen: 1, rtype: 0, ptpls: false, regctls: [{ cntlid: 3, holder: false, hostid: h8, rkey: 1n }] }, false, 48);
    expect(toHex(b.subarray(24, 48))).toBe('0300' + '00' + '0000000000' + '0102030405060708' + '0100000000000000');
    expect(decodeResvStatus(b, false).regctls[0]!.hostid).toEqual(h8);
    expect(() => encodeResvStatus({ gen: 1, rtype: 0, ptpls: false, regctls: [{ cntlid: 3, holder: false, hostid: hid16, rkey: 1n }] }, false, 48)).toThrow(/8 bytes/);
  });

  it('a short buffer keeps REGCTL = all registrants and only the entries that fit', () => {
    const regs = [1, 2, 3].map((i) => ({ cntlid: 0xffff, holder: false, hostid: new Uint8Array(16).fill(i), rkey: BigInt(i) }));
    const b = encodeResvStatus({ gen: 0, rtype: 0, ptpls: false, regctls: regs }, true, 64 + 64 + 32);
    const d = decodeResvStatus(b, true);
    expect(d.regctl).toBe(3);
    expect(d.regctls.length).toBe(1);
    // Shorter than the header: the window of the header.
    expect(toHex(encodeResvStatus({ gen: 0x01020304, rtype: 1, ptpls: false, regctls: [] }, true, 8))).toBe('0403020101000000');
  });
});

describe('Reservation Notification log (80h)', () => {
  it('64 bytes: count u64, type, available, nsid at 12', () => {
    const b = encodeResvNotificationLog({ count: 0x1_0000_0001n, type: ResvLogType.ReservationPreempted, available: 300, nsid: 7 });
    expect(b.length).toBe(64);
    expect(toHex(b.subarray(0, 16))).toBe('0100000001000000' + '03' + 'ff' + '0000' + '07000000');
    expect(decodeResvNotificationLog(b)).toEqual({ count: 0x1_0000_0001n, type: 3, available: 255, nsid: 7 });
  });
});
