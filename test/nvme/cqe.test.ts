import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CQE_SIZE, cqeDw0, cqeDw1, cqeResult64, cqeSqhd, cqeSqid, cqeCid, cqeStatus, cqePhase, writeCqe,
  setCqeDw0, setCqeDw1, setCqeResult64, setCqeSqhd, setCqeSqid, setCqeCid, setCqeStatus, setCqePhase,
  decodeCqe, encodeCqe,
} from '../../src/nvme/cqe.js';
import { withDnr, NvmeStatus } from '../../src/nvme/status.js';
import { bigUint, hex, toHex } from './hex.js';

// Connect failure: dw0 = IATTR 1 | IPO 256 (subnqn in data), sqhd 1, sqid 0, cid 7,
// status 0x4182 (Connect Invalid Parameters, DNR) → last word 0x4182 << 1 = 0x8304.
const CONNECT_FAIL = hex('00 01 01 00 00 00 00 00 01 00 00 00 07 00 04 83');

describe('CQE', () => {
  it.each([
    ['dw0', () => cqeDw0(CONNECT_FAIL), 0x0001_0100],
    ['dw1', () => cqeDw1(CONNECT_FAIL), 0],
    ['result64', () => cqeResult64(CONNECT_FAIL), 0x0001_0100n],
    ['sqhd', () => cqeSqhd(CONNECT_FAIL), 1],
    ['sqid', () => cqeSqid(CONNECT_FAIL), 0],
    ['cid', () => cqeCid(CONNECT_FAIL), 7],
    ['status', () => cqeStatus(CONNECT_FAIL), 0x4182],
    ['phase', () => cqePhase(CONNECT_FAIL), 0],
  ])('%s of a known CQE', (_n, f, want) => {
    expect(f()).toStrictEqual(want);
  });

  it('writeCqe produces the known bytes and overwrites stale dw1', () => {
    const b = new Uint8Array(16).fill(0xff);
    writeCqe(b, 0x0001_0100, 1, 0, 7, withDnr(NvmeStatus.ConnectInvalidParam));
    expect(toHex(b)).toBe(toHex(CONNECT_FAIL));
  });

  it('64-bit result (Property Get CAP) and phase', () => {
    const b = new Uint8Array(20);
    writeCqe(b, 0x0020_0000_3c03_07ffn, 9, 3, 0xabcd, 0, 1, 4);
    expect(toHex(b.subarray(4))).toBe('ff07033c00002000' + '0900' + '0300' + 'cdab' + '0100');
    expect(cqeResult64(b, 4)).toBe(0x0020_0000_3c03_07ffn);
    expect(cqePhase(b, 4)).toBe(1);
    expect(cqeStatus(b, 4)).toBe(0);
  });

  it('status and phase setters do not disturb each other', () => {
    const b = new Uint8Array(16);
    setCqePhase(b, 1);
    setCqeStatus(b, 0x7fff);
    expect(cqePhase(b)).toBe(1);
    expect(cqeStatus(b)).toBe(0x7fff);
    setCqePhase(b, 0);
    expect(cqeStatus(b)).toBe(0x7fff);
    setCqeStatus(b, 0x002);
    expect(toHex(b.subarray(14))).toBe('0400');
  });

  it('field setters', () => {
    const b = new Uint8Array(16);
    setCqeDw0(b, 0xdeadbeef);
    setCqeDw1(b, 1);
    setCqeSqhd(b, 0x1f);
    setCqeSqid(b, 2);
    setCqeCid(b, 0xffff);
    expect(toHex(b)).toBe('efbeadde010000001f000200ffff0000');
    setCqeResult64(b, 0x1_0000_0002n);
    expect(toHex(b.subarray(0, 8))).toBe('0200000001000000');
  });

  it('decode/encode round trip', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    fc.assert(
      fc.property(
        fc.record({
          dw0: u32, dw1: u32, sqhd: u16, sqid: u16, cid: u16,
          status: fc.integer({ min: 0, max: 0x7fff }), phase: fc.integer({ min: 0, max: 1 }),
        }),
        (c) => {
          const b = encodeCqe(new Uint8Array(CQE_SIZE), c);
          expect(decodeCqe(b)).toEqual({ ...c });
          const w = new Uint8Array(CQE_SIZE);
          writeCqe(w, c.dw0, c.sqhd, c.sqid, c.cid, c.status, c.phase);
          setCqeDw1(w, c.dw1);
          expect(w).toStrictEqual(b);
        },
      ),
    );
    fc.assert(
      fc.property(bigUint(64), (r) => {
        const b = new Uint8Array(16);
        writeCqe(b, r, 0, 0, 0, 0);
        return cqeResult64(b) === r;
      }),
    );
  });

  it('rejects short buffers in the object API', () => {
    expect(() => decodeCqe(new Uint8Array(15))).toThrow(RangeError);
    expect(() => encodeCqe(new Uint8Array(15), {})).toThrow(RangeError);
  });
});
