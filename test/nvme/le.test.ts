import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  rd16, rd24, rd32, rd64, rd64n, rd128n, wr16, wr24, wr32, wr64, wr64n, wr128n,
  readAscii, writeAscii, readUtf8, writeUtf8, need,
} from '../../src/nvme/le.js';
import { bigUint, hex, toHex } from './hex.js';

describe('little-endian helpers', () => {
  it.each([
    ['rd16', () => rd16(hex('3412'), 0), 0x1234],
    ['rd24', () => rd24(hex('563412'), 0), 0x123456],
    ['rd32 high bit stays unsigned', () => rd32(hex('efbeadde'), 0), 0xdeadbeef],
    ['rd64 2^53-1', () => rd64(hex('ffffffffffff1f00'), 0), Number.MAX_SAFE_INTEGER],
  ])('%s', (_n, f, want) => {
    expect(f()).toBe(want);
  });

  it('writes byte-exact', () => {
    const b = new Uint8Array(17);
    wr16(b, 0, 0xabcd);
    wr24(b, 2, 0x010203);
    wr32(b, 5, 0xfffffffe);
    wr64(b, 9, 2 ** 40 + 5);
    expect(toHex(b)).toBe('cdab030201feffffff' + '0500000000010000');
  });

  it('u64 bigint round trip incl. top bit', () => {
    fc.assert(
      fc.property(bigUint(64), (v) => {
        const b = new Uint8Array(8);
        wr64n(b, 0, v);
        return rd64n(b, 0) === v;
      }),
    );
  });

  it('u64 number round trip below 2^53', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (v) => {
        const b = new Uint8Array(8);
        wr64(b, 0, v);
        return rd64(b, 0) === v && rd64n(b, 0) === BigInt(v);
      }),
    );
  });

  it('u128 round trip', () => {
    fc.assert(
      fc.property(bigUint(128), (v) => {
        const b = new Uint8Array(16);
        wr128n(b, 0, v);
        return rd128n(b, 0) === v;
      }),
    );
    const b = new Uint8Array(16);
    wr128n(b, 0, 1n << 64n);
    expect(toHex(b)).toBe('00000000000000000100000000000000');
  });

  it('ASCII fields are space padded and read back trimmed', () => {
    const b = new Uint8Array(8).fill(0xee);
    writeAscii(b, 0, 8, 'ab', 0x20);
    expect(toHex(b)).toBe('6162202020202020');
    expect(readAscii(b, 0, 8)).toBe('ab');
    writeAscii(b, 0, 8, '12345678', 0x20);
    expect(readAscii(b, 0, 8)).toBe('12345678');
    expect(() => writeAscii(b, 0, 8, '123456789', 0x20)).toThrow(RangeError);
    // non-ASCII is replaced, never smuggled as raw bytes
    writeAscii(b, 0, 8, 'é', 0);
    expect(b[0]).toBe(0x3f);
    // NUL-padded producers read the same
    expect(readAscii(hex('61620000'), 0, 4)).toBe('ab');
  });

  it('UTF-8 fields', () => {
    const b = new Uint8Array(8).fill(0xee);
    writeUtf8(b, 0, 8, 'nqn.é');
    expect(toHex(b)).toBe('6e716e2ec3a90000');
    expect(readUtf8(b, 0, 8)).toBe('nqn.é');
    expect(() => writeUtf8(b, 0, 8, 'nqn.éééé')).toThrow(RangeError);
  });

  it('need() rejects short buffers', () => {
    expect(() => need(new Uint8Array(63), 0, 64, 'SQE')).toThrow(/SQE: need 64/);
    expect(() => need(new Uint8Array(64), 1, 64, 'SQE')).toThrow(RangeError);
    expect(() => need(new Uint8Array(64), 0, 64, 'SQE')).not.toThrow();
  });
});
