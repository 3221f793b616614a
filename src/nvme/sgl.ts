/**
 * SGL descriptors (NVMe base spec 2.0 "Scatter Gather List (SGL)"), 16 bytes, as
 * found in an SQE's DPTR when PSDT selects SGLs:
 *
 *   byte 15: SGL identifier = descriptor type (bits 7:4) | sub type (bits 3:0)
 *   unkeyed (Data Block, Segment, Last Segment, Transport Data Block, Bit Bucket):
 *     0 address (u64)   8 length (u32)   12..14 reserved
 *   keyed (Keyed Data Block, RDMA):
 *     0 address (u64)   8 length (u24)   11 key (u32)
 *
 * What fabrics hosts actually send:
 *   - NVMe/TCP in-capsule data:   0x01 (Data Block, Offset): address = offset into in-capsule data
 *   - NVMe/TCP host-memory data:  0x5A (Transport Data Block, Transport specific), address 0
 *   - NVMe/RDMA:                  0x40 (Keyed, Address) or 0x4F (Keyed, Invalidate key); 0x01 for inline
 *
 * The in-place readers never allocate; pass the SQE buffer with `sqeDptrOffset()`.
 */

import { rd24, rd32, rd64, rd64n, wr24, wr32, wr64, wr64n, need } from './le.js';

export const SGL_DESC_SIZE = 16;

/** Descriptor types (byte 15 bits 7:4). */
export const SglType = {
  DataBlock: 0x0,
  BitBucket: 0x1,
  Segment: 0x2,
  LastSegment: 0x3,
  KeyedDataBlock: 0x4,
  TransportDataBlock: 0x5,
  VendorSpecific: 0xf,
} as const;
export type SglType = (typeof SglType)[keyof typeof SglType];

/** Descriptor sub types (byte 15 bits 3:0). */
export const SglSubtype = {
  Address: 0x0,
  Offset: 0x1,
  TransportSpecific: 0xa,
  /** Keyed data block: the remote key is to be invalidated (RDMA send with invalidate). */
  InvalidateKey: 0xf,
} as const;
export type SglSubtype = (typeof SglSubtype)[keyof typeof SglSubtype];

/** Whole SGL identifier bytes fabrics hosts use (type << 4 | subtype). */
export const SglId = {
  /** NVMe/TCP & RDMA in-capsule data (Data Block, Offset). */
  InCapsule: 0x01,
  /** NVMe/TCP data moved by H2CData/C2HData PDUs (Transport Data Block, transport specific). */
  TcpTransport: 0x5a,
  /** NVMe/RDMA remote buffer (Keyed Data Block, Address). */
  RdmaKeyed: 0x40,
  /** NVMe/RDMA remote buffer, invalidate the key on completion. */
  RdmaKeyedInvalidate: 0x4f,
} as const;

// ---------------------------------------------------------------- readers (hot path)

/** SGL identifier byte (type << 4 | subtype). */
export function sglId(b: Uint8Array, o = 0): number {
  return b[o + 15]!;
}

/** Descriptor type (bits 7:4 of byte 15). */
export function sglType(b: Uint8Array, o = 0): number {
  return b[o + 15]! >>> 4;
}

/** Descriptor sub type (bits 3:0 of byte 15). */
export function sglSubtype(b: Uint8Array, o = 0): number {
  return b[o + 15]! & 0x0f;
}

/** True for a Keyed SGL Data Block descriptor. */
export function sglIsKeyed(b: Uint8Array, o = 0): boolean {
  return b[o + 15]! >>> 4 === SglType.KeyedDataBlock;
}

/** Address/offset field as a number (exact below 2^53; offsets and test addresses always are). */
export function sglAddress(b: Uint8Array, o = 0): number {
  return rd64(b, o);
}

/** Address field as a bigint (exact). */
export function sglAddressBig(b: Uint8Array, o = 0): bigint {
  return rd64n(b, o);
}

/** Length: 24-bit for keyed descriptors, 32-bit otherwise. */
export function sglLength(b: Uint8Array, o = 0): number {
  return b[o + 15]! >>> 4 === SglType.KeyedDataBlock ? rd24(b, o + 8) : rd32(b, o + 8);
}

/** Key of a keyed descriptor (bytes 11-14); 0 for unkeyed ones. */
export function sglKey(b: Uint8Array, o = 0): number {
  return b[o + 15]! >>> 4 === SglType.KeyedDataBlock ? rd32(b, o + 11) : 0;
}

// ---------------------------------------------------------------- writers (hot path for the initiator)

/** Write an unkeyed descriptor (Data Block, Segment, Transport Data Block, ...). */
export function writeSgl(
  b: Uint8Array,
  type: number,
  subtype: number,
  address: number | bigint,
  length: number,
  o = 0,
): void {
  if (typeof address === 'bigint') wr64n(b, o, address);
  else wr64(b, o, address);
  wr32(b, o + 8, length);
  b[o + 12] = 0;
  b[o + 13] = 0;
  b[o + 14] = 0;
  b[o + 15] = ((type & 0xf) << 4) | (subtype & 0xf);
}

/** Write a Keyed Data Block descriptor (length must fit 24 bits). */
export function writeKeyedSgl(
  b: Uint8Array,
  address: number | bigint,
  length: number,
  key: number,
  invalidate = false,
  o = 0,
): void {
  if (length > 0xff_ffff || length < 0) throw new RangeError(`keyed SGL length ${length} exceeds 24 bits`);
  if (typeof address === 'bigint') wr64n(b, o, address);
  else wr64(b, o, address);
  wr24(b, o + 8, length);
  wr32(b, o + 11, key);
  b[o + 15] = (SglType.KeyedDataBlock << 4) | (invalidate ? SglSubtype.InvalidateKey : SglSubtype.Address);
}

/** NVMe/TCP: data sent in the capsule right after the SQE (Data Block, Offset, offset 0). */
export function writeInCapsuleSgl(b: Uint8Array, length: number, offset = 0, o = 0): void {
  writeSgl(b, SglType.DataBlock, SglSubtype.Offset, offset, length, o);
}

/** NVMe/TCP: data moved by H2CData/C2HData PDUs (Transport Data Block, transport specific). */
export function writeTcpTransportSgl(b: Uint8Array, length: number, o = 0): void {
  writeSgl(b, SglType.TransportDataBlock, SglSubtype.TransportSpecific, 0, length, o);
}

// ---------------------------------------------------------------- object form

/** A decoded SGL descriptor. `key` is 0 and `keyed` false for unkeyed descriptors. */
export interface SglDescriptor {
  type: number;
  subtype: number;
  address: bigint;
  length: number;
  keyed: boolean;
  key: number;
}

/** Decode a descriptor into an object (allocates; use the readers on the hot path). */
export function decodeSgl(b: Uint8Array, o = 0): SglDescriptor {
  need(b, o, SGL_DESC_SIZE, 'SGL descriptor');
  const keyed = sglIsKeyed(b, o);
  return {
    type: sglType(b, o),
    subtype: sglSubtype(b, o),
    address: rd64n(b, o),
    length: sglLength(b, o),
    keyed,
    key: keyed ? rd32(b, o + 11) : 0,
  };
}

/** Encode a descriptor object into `b` at `o` (keyed layout iff type is Keyed Data Block). */
export function encodeSgl(
  b: Uint8Array,
  d: { type: number; subtype: number; address: number | bigint; length: number; key?: number },
  o = 0,
): Uint8Array {
  need(b, o, SGL_DESC_SIZE, 'SGL descriptor');
  if (d.type === SglType.KeyedDataBlock) {
    writeKeyedSgl(b, d.address, d.length, d.key ?? 0, false, o);
    b[o + 15] = (SglType.KeyedDataBlock << 4) | (d.subtype & 0xf);
  } else {
    writeSgl(b, d.type, d.subtype, d.address, d.length, o);
  }
  return b;
}
