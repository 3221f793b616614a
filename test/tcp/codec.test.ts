import { describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import {
  createDataPduHeader,
  createICReq,
  createICResp,
  createTermReq,
  crc32cData,
  crc32cSmall,
  dataOffsetFor,
  decodeDataPdu,
  decodeICReq,
  decodeICResp,
  decodeTermReq,
  encodeC2HData,
  encodeCapsuleCmd,
  encodeCapsuleResp,
  encodeH2CData,
  encodeICReq,
  encodeICResp,
  encodeR2T,
  encodeTermReq,
  headerDigestOk,
  PduFlags,
  PduType,
  pduLengthFor,
} from '../../src/tcp/index.js';

/** Hex (spaces ignored) → bytes. */
function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, '');
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(i * 2, i * 2 + 2), 16);
  return out;
}
function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function le32(v: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b.toString('hex');
}
const seq = (n: number, start = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const zeros = (n: number): string => '00'.repeat(n);

describe('crc32c', () => {
  it('matches the CRC-32C check value and the native implementation', () => {
    const b = new TextEncoder().encode('123456789');
    expect(crc32cSmall(b, 0, 9)).toBe(0xe3069283);
    expect(crc32cData(b)).toBe(0xe3069283);
    const r = seq(200, 7);
    for (const [off, len] of [[0, 0], [0, 24], [3, 72], [10, 128], [0, 200]] as const) {
      expect(crc32cSmall(r, off, len)).toBe(crc32c(r.subarray(off, off + len)));
    }
  });
  it('chains over several views', () => {
    const r = seq(1000, 3);
    const whole = crc32cData(r);
    let c = 0;
    for (const [a, z] of [[0, 1], [1, 17], [17, 17], [17, 600], [600, 1000]]) c = crc32cData(r.subarray(a!, z!), c);
    expect(c).toBe(whole);
  });
});

describe('PDO/PLEN arithmetic', () => {
  const table: Array<[hlen: number, hd: boolean, dd: boolean, len: number, pda: number, pdo: number, plen: number]> = [
    [72, false, false, 0, 0, 0, 72],
    [72, true, true, 0, 0, 0, 76],
    [72, false, false, 4096, 0, 72, 4168],
    [72, true, false, 4096, 0, 76, 4172],
    [72, true, true, 4096, 0, 76, 4176],
    [72, true, false, 4096, 7, 96, 4192],
    [24, false, false, 512, 31, 128, 640],
    [24, true, true, 1, 1, 32, 37],
  ];
  it.each(table)('hlen %i hd %s dd %s len %i pda %i → pdo %i plen %i', (hlen, hd, dd, len, pda, pdo, plen) => {
    expect(dataOffsetFor(hlen, hd, len, pda)).toBe(pdo);
    expect(pduLengthFor(hlen, hd, pdo, len, dd && len > 0)).toBe(plen);
  });
});

describe('encoders are byte-exact', () => {
  it('ICReq', () => {
    const b = new Uint8Array(130).fill(0xee);
    expect(encodeICReq(b, 1, { pfv: 0, hpda: 3, hdgst: true, ddgst: true, maxr2t: 7 })).toBe(128);
    expect(toHex(b.subarray(1, 129))).toBe(toHex(hex('00 00 80 00 80000000 0000 03 03 07000000' + zeros(112))));
    expect(b[0]).toBe(0xee);
    expect(b[129]).toBe(0xee);
    const r = decodeICReq(b, 1, createICReq());
    expect(r).toEqual({ pfv: 0, hpda: 3, hdgst: true, ddgst: true, maxr2t: 7 });
  });
  it('ICResp', () => {
    const b = new Uint8Array(128);
    encodeICResp(b, 0, { pfv: 0, cpda: 0, hdgst: false, ddgst: true, maxh2cdata: 0x20000 });
    expect(toHex(b)).toBe(toHex(hex('01 00 80 00 80000000 0000 00 02 00000200' + zeros(112))));
    expect(decodeICResp(b, 0, createICResp())).toEqual({ pfv: 0, cpda: 0, hdgst: false, ddgst: true, maxh2cdata: 0x20000 });
  });
  it('CapsuleCmd without data, no digests', () => {
    const b = new Uint8Array(72);
    const sqe = seq(64, 0x40);
    expect(encodeCapsuleCmd(b, 0, sqe, 0, 0, false, false, 0)).toBe(72);
    expect(toHex(b)).toBe('04' + '00' + '48' + '00' + le32(72) + toHex(sqe));
  });
  it('CapsuleCmd with 4096 in-capsule bytes, no digests', () => {
    const b = new Uint8Array(72);
    expect(encodeCapsuleCmd(b, 0, seq(64), 0, 4096, false, false, 0)).toBe(72);
    expect(toHex(b.subarray(0, 8))).toBe('04004848' + le32(4168));
  });
  it('CapsuleCmd with digests: HDGST is CRC32C of the 72 header bytes', () => {
    const b = new Uint8Array(76);
    expect(encodeCapsuleCmd(b, 0, seq(64), 0, 4096, true, true, 0)).toBe(76);
    expect(toHex(b.subarray(0, 8))).toBe('0403484c' + le32(4176));
    expect(toHex(b.subarray(72, 76))).toBe(le32(crc32c(b.subarray(0, 72))));
    expect(headerDigestOk(b, 0, 72)).toBe(true);
  });
  it('CapsuleCmd with CPDA 7 pads with zeros to PDO 96', () => {
    const b = new Uint8Array(100).fill(0xaa);
    expect(encodeCapsuleCmd(b, 0, seq(64), 0, 4096, true, false, 7)).toBe(96);
    expect(toHex(b.subarray(0, 8))).toBe('04014860' + le32(4192));
    expect(toHex(b.subarray(76, 96))).toBe(zeros(20));
    expect(b[96]).toBe(0xaa);
  });
  it('CapsuleResp', () => {
    const b = new Uint8Array(28);
    const cqe = seq(16, 0x90);
    expect(encodeCapsuleResp(b, 0, cqe, 0, false)).toBe(24);
    expect(toHex(b.subarray(0, 24))).toBe('05001800' + le32(24) + toHex(cqe));
    expect(encodeCapsuleResp(b, 0, cqe, 0, true)).toBe(28);
    expect(toHex(b.subarray(0, 8))).toBe('05011800' + le32(28));
    expect(toHex(b.subarray(24, 28))).toBe(le32(crc32c(b.subarray(0, 24))));
  });
  it('C2HData with LAST_PDU|SUCCESS', () => {
    const b = new Uint8Array(24);
    const n = encodeC2HData(b, 0, 0x1234, 0x10000, 0x20000, PduFlags.LAST_PDU | PduFlags.SUCCESS, false, false, 0);
    expect(n).toBe(24);
    expect(toHex(b)).toBe('070c1818' + le32(24 + 0x20000) + '3412' + '0000' + le32(0x10000) + le32(0x20000) + zeros(4));
  });
  it('C2HData with digests and HPDA 1 (8-byte alignment)', () => {
    const b = new Uint8Array(32);
    expect(encodeC2HData(b, 0, 1, 0, 100, PduFlags.LAST_PDU, true, true, 1)).toBe(32);
    expect(toHex(b.subarray(0, 8))).toBe('07071820' + le32(32 + 100 + 4));
    expect(headerDigestOk(b, 0, 24)).toBe(true);
    expect(toHex(b.subarray(28, 32))).toBe(zeros(4));
  });
  it('H2CData', () => {
    const b = new Uint8Array(24);
    expect(encodeH2CData(b, 0, 9, 0xbeef, 8192, 4096, true, false, false, 0)).toBe(24);
    expect(toHex(b)).toBe('06041818' + le32(24 + 4096) + '0900' + 'efbe' + le32(8192) + le32(4096) + zeros(4));
    expect(decodeDataPdu(b, 0, createDataPduHeader())).toEqual({ cccid: 9, ttag: 0xbeef, datao: 8192, datal: 4096 });
  });
  it('R2T with header digest', () => {
    const b = new Uint8Array(28);
    expect(encodeR2T(b, 0, 5, 7, 0, 0x2000, true)).toBe(28);
    expect(toHex(b.subarray(0, 24))).toBe('09011800' + le32(28) + '0500' + '0700' + le32(0) + le32(0x2000) + zeros(4));
    expect(toHex(b.subarray(24))).toBe(le32(crc32c(b.subarray(0, 24))));
  });
  it('C2HTermReq carries at most 128 bytes of the offending header', () => {
    const b = new Uint8Array(200);
    const err = seq(8, 0x10);
    expect(encodeTermReq(b, 0, PduType.C2HTermReq, 0x01, 3, err, 0, 8)).toBe(32);
    expect(toHex(b.subarray(0, 32))).toBe('03001800' + le32(32) + '0100' + le32(3) + zeros(10) + toHex(err));
    const t = decodeTermReq(b, 0, createTermReq());
    expect(t).toEqual({ fes: 1, fei: 3, errorDataOffset: 24, errorDataLength: 8 });
    expect(encodeTermReq(b, 0, PduType.H2CTermReq, 0x02, 0, seq(200), 0, 200)).toBe(152);
    expect(b[0]).toBe(0x02);
    expect(toHex(b.subarray(24, 152))).toBe(toHex(seq(128)));
  });
});
