import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SQE_SIZE, Psdt, sqeOpcode, sqeFlags, sqeFuse, sqePsdt, sqeUsesSgl, sqeCid, sqeNsid, sqeFctype,
  sqeCdw2, sqeCdw3, sqeMptr, sqePrp1, sqePrp2, sqeDptrOffset, sqeCdw, sqeCdw10, sqeCdw11, sqeCdw12,
  sqeCdw13, sqeCdw14, sqeCdw15, sqeSlba, sqeSlbaBig, sqeNlb, sqeBlockCount, sqeFua,
  sqeWriteZeroesDeallocate, decodeSqe, encodeSqe, encodeRwCommand, RwControl, setSqeCid, setSqePsdt,
  setSqeNsid, setSqeCdw, setSqeSlba, setSqePrps, setSqeMptr, setSqeOpcode, setSqeFlags,
} from '../../src/nvme/sqe.js';
import { sglId, sglLength } from '../../src/nvme/sgl.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { bigUint, hex, toHex } from './hex.js';

// A Read as the Linux nvme-tcp host sends it: SGL (PSDT 01b), cid 0x1234, nsid 1,
// transport SGL data block of 4 KiB, slba 0x1_0000_0010, 8 blocks (nlb 7), FUA.
const READ_SQE = hex(`
  02 40 34 12 01 00 00 00  00 00 00 00 00 00 00 00
  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
  00 10 00 00 00 00 00 5a  10 00 00 00 01 00 00 00
  07 00 00 40 00 00 00 00  00 00 00 00 00 00 00 00`);

describe('SQE readers on a known Read', () => {
  it.each([
    ['opcode', () => sqeOpcode(READ_SQE), 0x02],
    ['flags', () => sqeFlags(READ_SQE), 0x40],
    ['fuse', () => sqeFuse(READ_SQE), 0],
    ['psdt', () => sqePsdt(READ_SQE), Psdt.SglMetaBuf],
    ['usesSgl', () => sqeUsesSgl(READ_SQE), true],
    ['cid', () => sqeCid(READ_SQE), 0x1234],
    ['nsid', () => sqeNsid(READ_SQE), 1],
    ['fctype byte', () => sqeFctype(READ_SQE), 1],
    ['cdw2', () => sqeCdw2(READ_SQE), 0],
    ['cdw3', () => sqeCdw3(READ_SQE), 0],
    ['mptr', () => sqeMptr(READ_SQE), 0],
    ['prp1', () => sqePrp1(READ_SQE), 0n],
    ['prp2 (sgl len + id)', () => sqePrp2(READ_SQE), 0x5a00_0000_0000_1000n],
    ['cdw10', () => sqeCdw10(READ_SQE), 0x10],
    ['cdw11', () => sqeCdw11(READ_SQE), 1],
    ['cdw12', () => sqeCdw12(READ_SQE), 0x4000_0007],
    ['cdw13', () => sqeCdw13(READ_SQE), 0],
    ['cdw14', () => sqeCdw14(READ_SQE), 0],
    ['cdw15', () => sqeCdw15(READ_SQE), 0],
    ['cdw(12)', () => sqeCdw(READ_SQE, 12), 0x4000_0007],
    ['slba', () => sqeSlba(READ_SQE), 0x1_0000_0010],
    ['slbaBig', () => sqeSlbaBig(READ_SQE), 0x1_0000_0010n],
    ['nlb (0-based)', () => sqeNlb(READ_SQE), 7],
    ['block count', () => sqeBlockCount(READ_SQE), 8],
    ['fua', () => sqeFua(READ_SQE), true],
    ['dptr sgl id', () => sglId(READ_SQE, sqeDptrOffset()), 0x5a],
    ['dptr sgl length', () => sglLength(READ_SQE, sqeDptrOffset()), 4096],
  ])('%s', (_n, f, want) => {
    expect(f()).toStrictEqual(want);
  });

  it('readers honour a base offset (SQE inside a PDU)', () => {
    const pdu = new Uint8Array(8 + 64);
    pdu.set(READ_SQE, 8);
    expect(sqeCid(pdu, 8)).toBe(0x1234);
    expect(sqeSlba(pdu, 8)).toBe(0x1_0000_0010);
    expect(sqeNlb(pdu, 8)).toBe(7);
    expect(sglId(pdu, sqeDptrOffset(8))).toBe(0x5a);
  });

  it('nlb boundary: 0xffff means 65536 blocks; upper cdw12 bits do not leak', () => {
    const b = new Uint8Array(64);
    setSqeCdw(b, 12, 0xffff_ffff);
    expect(sqeNlb(b)).toBe(0xffff);
    expect(sqeBlockCount(b)).toBe(65536);
  });

  it('slba above 2^53 is exact as bigint', () => {
    const b = new Uint8Array(64);
    setSqeSlba(b, 0xffff_ffff_ffff_fffen);
    expect(sqeSlbaBig(b)).toBe(0xffff_ffff_ffff_fffen);
  });

  it('write zeroes deallocate bit', () => {
    const b = new Uint8Array(64);
    setSqeCdw(b, 12, RwControl.Deallocate);
    expect(sqeWriteZeroesDeallocate(b)).toBe(true);
    expect(sqeFua(b)).toBe(false);
  });
});

describe('SQE writers', () => {
  it('encodeRwCommand produces the known Read byte for byte (plus DPTR)', () => {
    const b = new Uint8Array(64).fill(0xaa);
    encodeRwCommand(b, {
      opcode: IoOpcode.Read, cid: 0x1234, nsid: 1, slba: 0x1_0000_0010, blocks: 8,
      control: RwControl.Fua, flags: Psdt.SglMetaBuf << 6,
    });
    b.set(READ_SQE.subarray(24, 40), 24);
    expect(toHex(b)).toBe(toHex(READ_SQE));
  });

  it('encodeRwCommand rejects bad block counts', () => {
    const b = new Uint8Array(64);
    for (const blocks of [0, 65537, 1.5, -1]) {
      expect(() => encodeRwCommand(b, { opcode: 1, cid: 0, nsid: 1, slba: 0, blocks })).toThrow(RangeError);
    }
    encodeRwCommand(b, { opcode: 1, cid: 0, nsid: 1, slba: 0, blocks: 65536 });
    expect(sqeNlb(b)).toBe(0xffff);
  });

  it('field setters', () => {
    const b = new Uint8Array(64);
    setSqeOpcode(b, 0x06);
    setSqeFlags(b, 0x01);
    setSqePsdt(b, Psdt.SglMetaSeg);
    setSqeCid(b, 0xbeef);
    setSqeNsid(b, 0xffff_ffff);
    setSqeMptr(b, 0x1122n);
    setSqePrps(b, 0x1000, 0x2000n);
    setSqeCdw(b, 10, 0x01);
    expect(sqeFlags(b)).toBe(0x81);
    expect(sqeFuse(b)).toBe(1);
    expect(sqePsdt(b)).toBe(2);
    expect(toHex(b.subarray(0, 40))).toBe(
      '0681efbeffffffff' + '0000000000000000' + '2211000000000000' + '0010000000000000' + '0020000000000000',
    );
    expect(sqeCdw10(b)).toBe(1);
  });

  it('encodeSqe zero-fills and rejects a wrong DPTR size / short buffer', () => {
    const b = new Uint8Array(64).fill(0xff);
    encodeSqe(b, { opcode: 0x18 });
    expect(toHex(b)).toBe('18' + '00'.repeat(63));
    expect(() => encodeSqe(b, { opcode: 0, dptr: new Uint8Array(8) })).toThrow(RangeError);
    expect(() => encodeSqe(new Uint8Array(63), { opcode: 0 })).toThrow(RangeError);
    expect(() => decodeSqe(new Uint8Array(10))).toThrow(RangeError);
  });

  it('decode ∘ encode is identity on arbitrary SQEs', () => {
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    fc.assert(
      fc.property(
        fc.record({
          opcode: fc.integer({ min: 0, max: 255 }),
          flags: fc.integer({ min: 0, max: 255 }),
          cid: fc.integer({ min: 0, max: 0xffff }),
          nsid: u32, cdw2: u32, cdw3: u32,
          mptr: bigUint(64),
          dptr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
          cdw10: u32, cdw11: u32, cdw12: u32, cdw13: u32, cdw14: u32, cdw15: u32,
        }),
        (s) => {
          const b = new Uint8Array(SQE_SIZE);
          encodeSqe(b, s);
          const d = decodeSqe(b);
          expect(d).toEqual({ ...s });
          // and encode ∘ decode reproduces the bytes
          const b2 = new Uint8Array(SQE_SIZE);
          encodeSqe(b2, d);
          expect(b2).toStrictEqual(b);
        },
      ),
    );
  });
});
