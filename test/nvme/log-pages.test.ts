import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  LogId, getLogPageLid, getLogPageLength, getLogPageOffset, decodeGetLogPageCommand, encodeGetLogPageCommand,
  copyLogWindow, ERROR_LOG_FIELDS, ERROR_LOG_ENTRY_SIZE, encodeErrorLogEntry, decodeErrorLogEntry, encodeErrorLog,
  SMART_LOG_FIELDS, SMART_LOG_SIZE, encodeSmartLog, decodeSmartLog, bytesToDataUnits, celsiusToKelvin, CriticalWarning,
  encodeFirmwareSlotLog, decodeFirmwareSlotLog, encodeChangedNsList, decodeChangedNsList, CHANGED_NS_OVERFLOW,
  encodeCommandEffectsLog, decodeCommandEffectsLog, CmdEffects, type SmartLog,
} from '../../src/nvme/log-pages.js';
import {
  DISC_ENTRY_FIELDS, DISC_LOG_ENTRY_SIZE, DiscTrType, AdrFam, DiscSubtype, Treq, TcpSecType, tcpTsas,
  encodeDiscoveryEntry, decodeDiscoveryEntry, encodeDiscoveryLog, decodeDiscoveryLog, decodeDiscoveryLogHeader,
  type DiscoveryLogEntry,
} from '../../src/nvme/discovery-log.js';
import { checkLayout } from '../../src/nvme/layout.js';
import { rd16, rd32 } from '../../src/nvme/le.js';
import { sqeOpcode } from '../../src/nvme/sqe.js';
import { NvmeStatus, withDnr } from '../../src/nvme/status.js';
import { arbForFields, toHex } from './hex.js';

describe('Get Log Page command', () => {
  it('log ids', () => {
    expect([LogId.ErrorInfo, LogId.Smart, LogId.FirmwareSlot, LogId.ChangedNsList, LogId.CommandEffects, LogId.Ana, LogId.Discovery])
      .toEqual([0x01, 0x02, 0x03, 0x04, 0x05, 0x0c, 0x70]);
  });

  it('discovery header read like the Linux host (4 KiB, offset 0) is byte-exact', () => {
    const b = encodeGetLogPageCommand(new Uint8Array(64), { cid: 1, lid: LogId.Discovery, length: 4096, lsp: 0, rae: false });
    expect(sqeOpcode(b)).toBe(0x02);
    expect(toHex(b.subarray(40, 60))).toBe('7000ff03' + '00000000' + '00000000' + '00000000' + '00000000');
    expect(getLogPageLid(b)).toBe(0x70);
    expect(getLogPageLength(b)).toBe(4096);
    expect(getLogPageOffset(b)).toBe(0);
  });

  it('NUMDU/NUMDL split, LPOU/LPOL, RAE, LSP, LSI, CSI', () => {
    const numd = 0x12_3456; // dwords
    const b = encodeGetLogPageCommand(new Uint8Array(64), {
      lid: LogId.Smart, nsid: 0xffff_ffff, numd, offset: 0x1_0000_0010, rae: true, lsp: 0x7f, lsi: 0xbeef, csi: 2, uuidIndex: 3,
    });
    // cdw10: lid 02, lsp 7f | rae → 0xff, numdl = 0x3455
    expect(toHex(b.subarray(40, 44))).toBe('02ff5534');
    // cdw11: numdu 0x0012, lsi 0xbeef
    expect(toHex(b.subarray(44, 48))).toBe('1200efbe');
    expect(toHex(b.subarray(48, 56))).toBe('10000000' + '01000000');
    expect(toHex(b.subarray(56, 60))).toBe('03000002');
    expect(decodeGetLogPageCommand(b)).toEqual({
      cid: 0, nsid: 0xffff_ffff, lid: 2, lsp: 0x7f, rae: true, numd, lsi: 0xbeef, offset: 0x1_0000_0010,
      uuidIndex: 3, ot: false, csi: 2,
    });
  });

  it('max transfer: NUMD 2^32 dwords', () => {
    const b = encodeGetLogPageCommand(new Uint8Array(64), { lid: 1, numd: 0x1_0000_0000 });
    expect(toHex(b.subarray(40, 48))).toBe('0100ffff' + 'ffff0000');
    expect(getLogPageLength(b)).toBe(0x4_0000_0000);
  });

  it('rejects non-dword lengths/offsets', () => {
    expect(() => encodeGetLogPageCommand(new Uint8Array(64), { lid: 1, length: 6 })).toThrow(RangeError);
    expect(() => encodeGetLogPageCommand(new Uint8Array(64), { lid: 1, length: 0 })).toThrow(RangeError);
    expect(() => encodeGetLogPageCommand(new Uint8Array(64), { lid: 1, length: 4, offset: 2 })).toThrow(RangeError);
  });

  it('round trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 127 }), fc.boolean(),
        fc.integer({ min: 1, max: 0x1_0000_0000 }), fc.integer({ min: 0, max: 2 ** 40 }).map((x) => x * 4),
        (lid, lsp, rae, numd, offset) => {
          const d = decodeGetLogPageCommand(encodeGetLogPageCommand(new Uint8Array(64), { lid, lsp, rae, numd, offset }));
          return d.lid === lid && d.lsp === lsp && d.rae === rae && d.numd === numd && d.offset === offset;
        },
      ),
    );
  });

  it.each([
    ['inside', 0, 4, [1, 2, 3, 4], 4],
    ['crossing the end zero-fills', 6, 4, [7, 8, 0, 0], 2],
    ['past the end is all zeros', 20, 4, [0, 0, 0, 0], 0],
  ])('copyLogWindow %s', (_n, off, len, want, copied) => {
    const page = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const dest = new Uint8Array(len).fill(0xee);
    expect(copyLogWindow(page, off, dest)).toBe(copied);
    expect(Array.from(dest)).toEqual(want);
  });
});

describe('Error Information log', () => {
  it('layout is sound', () => {
    expect(checkLayout(ERROR_LOG_FIELDS, 64)).toEqual([]);
  });

  it('byte-exact entry', () => {
    const b = encodeErrorLogEntry(
      { errorCount: 5n, sqid: 1, cid: 0x22, status: withDnr(NvmeStatus.LbaOutOfRange), paramErrorLocation: 0x28, lba: 0x1000n, nsid: 1, trtype: 3 },
      new Uint8Array(64).fill(0xff),
    );
    expect(toHex(b.subarray(0, 32))).toBe(
      '0500000000000000' + '0100' + '2200' + '0081' + '2800' + '0010000000000000' + '01000000' + '00' + '03' + '0000',
    );
    expect(b.subarray(32).every((x) => x === 0)).toBe(true);
    const d = decodeErrorLogEntry(b);
    expect(d.status).toBe(0x4080);
    expect(d.errorCount).toBe(5n);
    expect(encodeErrorLog([{ errorCount: 1n }, { errorCount: 2n }]).length).toBe(2 * ERROR_LOG_ENTRY_SIZE);
    expect(encodeErrorLog([]).length).toBe(ERROR_LOG_ENTRY_SIZE);
  });

  it('round trip', () => {
    fc.assert(
      fc.property(arbForFields(ERROR_LOG_FIELDS), fc.integer({ min: 0, max: 0x7fff }), (r, status) => {
        const e = { ...r, status };
        expect(decodeErrorLogEntry(encodeErrorLogEntry(e, new Uint8Array(64)))).toEqual(e);
      }),
      { numRuns: 100 },
    );
  });
});

describe('SMART / Health log', () => {
  it('layout is sound', () => {
    expect(checkLayout(SMART_LOG_FIELDS, SMART_LOG_SIZE)).toEqual([]);
  });

  it('byte-exact key fields', () => {
    const b = encodeSmartLog({
      criticalWarning: CriticalWarning.ReadOnly, temperature: celsiusToKelvin(35), availableSpare: 100,
      availableSpareThreshold: 10, percentageUsed: 1, dataUnitsRead: bytesToDataUnits(512_000 * 3 + 1),
      dataUnitsWritten: (1n << 64n) + 2n, hostReadCommands: 7n, hostWriteCommands: 9n, powerOnHours: 42n,
      unsafeShutdowns: 3n,
    });
    expect(b.length).toBe(512);
    expect(toHex(b.subarray(0, 6))).toBe('08' + '3401' + '64' + '0a' + '01');
    expect(toHex(b.subarray(32, 48))).toBe('04' + '00'.repeat(15));
    expect(toHex(b.subarray(48, 64))).toBe('0200000000000000' + '0100000000000000');
    expect(rd32(b, 64)).toBe(7);
    expect(rd32(b, 80)).toBe(9);
    expect(rd32(b, 128)).toBe(42);
    expect(rd32(b, 144)).toBe(3);
    expect(rd16(b, 1)).toBe(308);
  });

  it('data units round up per 1000 × 512 bytes', () => {
    expect(bytesToDataUnits(0)).toBe(0n);
    expect(bytesToDataUnits(1)).toBe(1n);
    expect(bytesToDataUnits(512_000)).toBe(1n);
    expect(bytesToDataUnits(512_001)).toBe(2n);
  });

  it('round trip', () => {
    fc.assert(
      fc.property(arbForFields(SMART_LOG_FIELDS), (r) => {
        expect(decodeSmartLog(encodeSmartLog(r as Partial<SmartLog>))).toEqual(r);
      }),
      { numRuns: 50 },
    );
  });
});

describe('Firmware Slot log', () => {
  it('byte-exact and round trip', () => {
    const b = encodeFirmwareSlotLog({ afi: 1, frs: ['0.1.0', ''] });
    expect(b.length).toBe(512);
    expect(b[0]).toBe(1);
    expect(new TextDecoder().decode(b.subarray(8, 16))).toBe('0.1.0   ');
    expect(b.subarray(16).every((x) => x === 0)).toBe(true);
    expect(decodeFirmwareSlotLog(b)).toEqual({ afi: 1, frs: ['0.1.0', '', '', '', '', '', ''] });
    expect(() => encodeFirmwareSlotLog({ afi: 0, frs: Array(8).fill('x') })).toThrow(RangeError);
  });
});

describe('Changed Namespace List', () => {
  it('ascending, de-duplicated, zero terminated', () => {
    const b = encodeChangedNsList([3, 1, 3, 2]);
    expect(b.length).toBe(4096);
    expect(toHex(b.subarray(0, 16))).toBe('01000000' + '02000000' + '03000000' + '00000000');
    expect(decodeChangedNsList(b)).toEqual({ overflow: false, nsids: [1, 2, 3] });
  });

  it('exactly 1024 fits; 1025 becomes the 0xffffffff marker', () => {
    const ids = Array.from({ length: 1024 }, (_, i) => i + 1);
    expect(decodeChangedNsList(encodeChangedNsList(ids)).nsids).toHaveLength(1024);
    const over = encodeChangedNsList([...ids, 1025]);
    expect(rd32(over, 0)).toBe(CHANGED_NS_OVERFLOW);
    expect(over.subarray(4).every((x) => x === 0)).toBe(true);
    expect(decodeChangedNsList(over)).toEqual({ overflow: true, nsids: [] });
  });
});

describe('Commands Supported and Effects log', () => {
  it('admin table at 0, I/O table at 1024', () => {
    const b = encodeCommandEffectsLog(
      new Map([[0x06, CmdEffects.Supported], [0x02, CmdEffects.Supported]]),
      new Map([[0x01, CmdEffects.Supported | CmdEffects.LbaContentChange], [0x02, CmdEffects.Supported]]),
    );
    expect(rd32(b, 0x06 * 4)).toBe(1);
    expect(rd32(b, 1024 + 4)).toBe(3);
    const d = decodeCommandEffectsLog(b);
    expect([...d.admin]).toEqual([[2, 1], [6, 1]]);
    expect([...d.io]).toEqual([[1, 3], [2, 1]]);
  });
});

describe('Discovery log page', () => {
  it('entry layout is sound and matches struct nvmf_disc_rsp_page_entry', () => {
    expect(checkLayout(DISC_ENTRY_FIELDS, DISC_LOG_ENTRY_SIZE)).toEqual([]);
    const offs = Object.fromEntries(DISC_ENTRY_FIELDS.map((f) => [f.name, f.off]));
    expect(offs).toEqual({
      trtype: 0, adrfam: 1, subtype: 2, treq: 3, portid: 4, cntlid: 6, asqsz: 8, eflags: 10,
      trsvcid: 32, subnqn: 256, traddr: 512, tsas: 768,
    });
  });

  const entry: DiscoveryLogEntry = {
    trtype: DiscTrType.Tcp, adrfam: AdrFam.Ipv4, subtype: DiscSubtype.Nvme,
    treq: Treq.SecureChannelNotRequired | Treq.DisableSqFlowControl, portid: 1, cntlid: 0xffff, asqsz: 32,
    eflags: 0, trsvcid: '4420', subnqn: 'nqn.2024-01.io.nvmet-ts:sub1', traddr: '127.0.0.1', tsas: tcpTsas(TcpSecType.None),
  };

  it('byte-exact entry: space-padded TRSVCID/TRADDR, NUL-padded SUBNQN', () => {
    const b = encodeDiscoveryEntry(entry, new Uint8Array(1024).fill(0xee));
    expect(toHex(b.subarray(0, 12))).toBe('03' + '01' + '02' + '06' + '0100' + 'ffff' + '2000' + '0000');
    expect(b.subarray(12, 32).every((x) => x === 0)).toBe(true);
    expect(new TextDecoder().decode(b.subarray(32, 64))).toBe('4420' + ' '.repeat(28));
    expect(new TextDecoder().decode(b.subarray(256, 284))).toBe('nqn.2024-01.io.nvmet-ts:sub1');
    expect(b.subarray(284, 512).every((x) => x === 0)).toBe(true);
    expect(new TextDecoder().decode(b.subarray(512, 768))).toBe('127.0.0.1' + ' '.repeat(247));
    expect(b.subarray(768).every((x) => x === 0)).toBe(true);
    expect(decodeDiscoveryEntry(b)).toEqual(entry);
  });

  it('reads NUL-padded producers (Linux nvmet) the same', () => {
    const b = encodeDiscoveryEntry(entry, new Uint8Array(1024));
    b.fill(0, 32 + 4, 64);
    b.fill(0, 512 + 9, 768);
    expect(decodeDiscoveryEntry(b).trsvcid).toBe('4420');
    expect(decodeDiscoveryEntry(b).traddr).toBe('127.0.0.1');
  });

  it('page = header + entries; header alone decodes; partial reads give whole entries only', () => {
    const cur = { ...entry, subtype: DiscSubtype.CurrentDiscovery, subnqn: 'nqn.2014-08.org.nvmexpress.discovery' };
    const page = encodeDiscoveryLog(7n, [cur, entry]);
    expect(page.length).toBe(3 * 1024);
    expect(toHex(page.subarray(0, 18))).toBe('0700000000000000' + '0200000000000000' + '0000');
    expect(page.subarray(18, 1024).every((x) => x === 0)).toBe(true);
    expect(decodeDiscoveryLogHeader(page)).toEqual({ genctr: 7n, numrec: 2, recfmt: 0 });
    const all = decodeDiscoveryLog(page);
    expect(all.entries).toEqual([cur, entry]);
    expect(decodeDiscoveryLog(page.subarray(0, 1024)).entries).toEqual([]);
    expect(decodeDiscoveryLog(page.subarray(0, 2047)).entries).toEqual([]);
    expect(decodeDiscoveryLog(page.subarray(0, 2048)).entries).toEqual([cur]);
    // genctr past 2^53 stays exact
    expect(decodeDiscoveryLogHeader(encodeDiscoveryLog(0xffff_ffff_ffff_fff0n, [])).genctr).toBe(0xffff_ffff_ffff_fff0n);
  });

  it('entry round trip', () => {
    fc.assert(
      fc.property(arbForFields(DISC_ENTRY_FIELDS), (r) => {
        expect(decodeDiscoveryEntry(encodeDiscoveryEntry(r, new Uint8Array(1024)))).toEqual(r);
      }),
      { numRuns: 100 },
    );
  });
});

describe('Supported Log Pages (00h)', () => {
  it('one LID Supported and Effects dword per LID; decode keeps the non-zero ones', async () => {
    const { encodeSupportedLogPages, decodeSupportedLogPages, LidEffects, SUPPORTED_LOG_PAGES_SIZE } = await import('../../src/nvme/log-pages.js');
    const m = new Map([[0x00, LidEffects.Supported], [0x05, LidEffects.Supported], [0x80, LidEffects.Supported | LidEffects.IndexOffset]]);
    const b = encodeSupportedLogPages(m);
    expect(b.length).toBe(SUPPORTED_LOG_PAGES_SIZE);
    expect(toHex(b.subarray(0, 8))).toBe('01000000' + '00000000');
    expect(toHex(b.subarray(0x05 * 4, 0x05 * 4 + 4))).toBe('01000000');
    expect(toHex(b.subarray(0x80 * 4, 0x80 * 4 + 4))).toBe('03000000');
    expect(decodeSupportedLogPages(b)).toEqual(m);
    expect(() => encodeSupportedLogPages(new Map([[256, 1]]))).toThrow(RangeError);
  });
});
