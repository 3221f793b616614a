import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SglType, SglSubtype, SglId, sglId, sglType, sglSubtype, sglIsKeyed, sglAddress, sglAddressBig,
  sglLength, sglKey, writeSgl, writeKeyedSgl, writeInCapsuleSgl, writeTcpTransportSgl, decodeSgl,
  encodeSgl, SGL_DESC_SIZE,
} from '../../src/nvme/sgl.js';
import { bigUint, hex, toHex } from './hex.js';

describe('SGL descriptors', () => {
  it.each([
    // NVMe/TCP in-capsule, 1024 bytes at offset 0 (Connect data)
    ['tcp in-capsule', '0000000000000000 00040000 000000 01', SglType.DataBlock, SglSubtype.Offset, 0n, 1024, false, 0],
    // NVMe/TCP transport data block, 128 KiB
    ['tcp transport', '0000000000000000 00000200 000000 5a', SglType.TransportDataBlock, SglSubtype.TransportSpecific, 0n, 0x20000, false, 0],
    // NVMe/RDMA keyed, addr 0x7f00_1234_5000, len 0x12345 (24-bit), key 0xdeadbeef
    ['rdma keyed', '0050341200 7f0000 452301 efbeadde 40', SglType.KeyedDataBlock, SglSubtype.Address, 0x7f00_1234_5000n, 0x12345, true, 0xdeadbeef],
    ['rdma keyed invalidate', '0000000000000000 ffffff 01000000 4f', SglType.KeyedDataBlock, SglSubtype.InvalidateKey, 0n, 0xffffff, true, 1],
    // last segment descriptor with a full 64-bit address
    ['last segment', 'f0debc9a78563412 30000000 000000 30', SglType.LastSegment, SglSubtype.Address, 0x1234_5678_9abc_def0n, 48, false, 0],
  ] as const)('%s', (_n, h, type, subtype, address, length, keyed, key) => {
    const b = hex(h);
    expect(b.length).toBe(16);
    expect(sglType(b)).toBe(type);
    expect(sglSubtype(b)).toBe(subtype);
    expect(sglId(b)).toBe((type << 4) | subtype);
    expect(sglIsKeyed(b)).toBe(keyed);
    expect(sglAddressBig(b)).toBe(address);
    expect(sglLength(b)).toBe(length);
    expect(sglKey(b)).toBe(key);
    expect(decodeSgl(b)).toEqual({ type, subtype, address, length, keyed, key });
    // encode reproduces the bytes
    const e = encodeSgl(new Uint8Array(16).fill(0xcc), { type, subtype, address, length, key });
    expect(toHex(e)).toBe(toHex(b));
  });

  it('SglId constants', () => {
    expect(SglId.InCapsule).toBe(0x01);
    expect(SglId.TcpTransport).toBe(0x5a);
    expect(SglId.RdmaKeyed).toBe(0x40);
    expect(SglId.RdmaKeyedInvalidate).toBe(0x4f);
  });

  it('TCP helpers', () => {
    const b = new Uint8Array(16).fill(0xee);
    writeInCapsuleSgl(b, 4096);
    expect(toHex(b)).toBe('0000000000000000' + '00100000' + '000000' + '01');
    writeTcpTransportSgl(b, 8192);
    expect(toHex(b)).toBe('0000000000000000' + '00200000' + '000000' + '5a');
    expect(sglAddress(b)).toBe(0);
  });

  it('keyed length must fit 24 bits', () => {
    const b = new Uint8Array(16);
    expect(() => writeKeyedSgl(b, 0, 0x100_0000, 1)).toThrow(RangeError);
    writeKeyedSgl(b, 0, 0xff_ffff, 1, true);
    expect(sglId(b)).toBe(0x4f);
  });

  it('readers honour a base offset', () => {
    const b = new Uint8Array(40);
    writeSgl(b, SglType.DataBlock, SglSubtype.Offset, 0x10, 512, 24);
    expect(sglAddress(b, 24)).toBe(0x10);
    expect(sglLength(b, 24)).toBe(512);
    expect(sglId(b, 24)).toBe(0x01);
  });

  it('round trips (unkeyed and keyed)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }).filter((t) => t !== SglType.KeyedDataBlock),
        fc.integer({ min: 0, max: 15 }),
        bigUint(64),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (type, subtype, address, length) => {
          const b = encodeSgl(new Uint8Array(SGL_DESC_SIZE), { type, subtype, address, length });
          expect(decodeSgl(b)).toEqual({ type, subtype, address, length, keyed: false, key: 0 });
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(SglSubtype.Address, SglSubtype.InvalidateKey),
        bigUint(64),
        fc.integer({ min: 0, max: 0xff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (subtype, address, length, key) => {
          const b = encodeSgl(new Uint8Array(SGL_DESC_SIZE), { type: SglType.KeyedDataBlock, subtype, address, length, key });
          expect(decodeSgl(b)).toEqual({ type: SglType.KeyedDataBlock, subtype, address, length, keyed: true, key });
        },
      ),
    );
  });
});
