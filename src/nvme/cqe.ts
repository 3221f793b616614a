/**
 * The 16-byte NVMe Completion Queue Entry:
 *
 *   0 dw0 (command specific result)   4 dw1 (result upper half / reserved)
 *   8 sqhd (u16)   10 sqid (u16)   12 cid (u16)   14 status field (bits 15:1) | phase tag (bit 0)
 *
 * `status` in this module is the 15-bit Status Field (see status.ts), i.e. the
 * word at offset 14 shifted right by one. Fabrics transports do not use the phase
 * tag (it stays 0) but it is kept for completeness.
 *
 * Writers and readers do not allocate; `decodeCqe` does (for logs/tests/initiator).
 */

import { rd16, rd32, rd64n, wr16, wr32, wr64n, need } from './le.js';

export const CQE_SIZE = 16;

/** Byte offsets of CQE fields. */
export const CqeOff = {
  Dw0: 0,
  Dw1: 4,
  Sqhd: 8,
  Sqid: 10,
  Cid: 12,
  Status: 14,
} as const;

// ---------------------------------------------------------------- readers

/** Result dword 0. */
export function cqeDw0(b: Uint8Array, o = 0): number {
  return rd32(b, o);
}

/** Result dword 1. */
export function cqeDw1(b: Uint8Array, o = 0): number {
  return rd32(b, o + 4);
}

/** 64-bit result (dw1:dw0), e.g. a Property Get of CAP. */
export function cqeResult64(b: Uint8Array, o = 0): bigint {
  return rd64n(b, o);
}

/** SQ head pointer. */
export function cqeSqhd(b: Uint8Array, o = 0): number {
  return rd16(b, o + 8);
}

/** SQ identifier. */
export function cqeSqid(b: Uint8Array, o = 0): number {
  return rd16(b, o + 10);
}

/** Command identifier. */
export function cqeCid(b: Uint8Array, o = 0): number {
  return rd16(b, o + 12);
}

/** 15-bit status field (without phase). */
export function cqeStatus(b: Uint8Array, o = 0): number {
  return rd16(b, o + 14) >>> 1;
}

/** Phase tag (bit 0 of the last word). */
export function cqePhase(b: Uint8Array, o = 0): number {
  return b[o + 14]! & 1;
}

// ---------------------------------------------------------------- writers

/**
 * Write a complete CQE in place (all 16 bytes). `result` is dw0 as a u32 number
 * or the 64-bit dw1:dw0 as a bigint. No allocation.
 */
export function writeCqe(
  b: Uint8Array,
  result: number | bigint,
  sqhd: number,
  sqid: number,
  cid: number,
  status: number,
  phase = 0,
  o = 0,
): void {
  if (typeof result === 'bigint') {
    wr64n(b, o, result);
  } else {
    wr32(b, o, result);
    wr32(b, o + 4, 0);
  }
  wr16(b, o + 8, sqhd);
  wr16(b, o + 10, sqid);
  wr16(b, o + 12, cid);
  wr16(b, o + 14, ((status & 0x7fff) << 1) | (phase & 1));
}

/** Set result dword 0. */
export function setCqeDw0(b: Uint8Array, v: number, o = 0): void {
  wr32(b, o, v);
}

/** Set result dword 1. */
export function setCqeDw1(b: Uint8Array, v: number, o = 0): void {
  wr32(b, o + 4, v);
}

/** Set the 64-bit result (dw1:dw0). */
export function setCqeResult64(b: Uint8Array, v: bigint, o = 0): void {
  wr64n(b, o, v);
}

/** Set the SQ head pointer. */
export function setCqeSqhd(b: Uint8Array, v: number, o = 0): void {
  wr16(b, o + 8, v);
}

/** Set the SQ identifier. */
export function setCqeSqid(b: Uint8Array, v: number, o = 0): void {
  wr16(b, o + 10, v);
}

/** Set the command identifier. */
export function setCqeCid(b: Uint8Array, v: number, o = 0): void {
  wr16(b, o + 12, v);
}

/** Set the 15-bit status, keeping the phase tag. */
export function setCqeStatus(b: Uint8Array, status: number, o = 0): void {
  wr16(b, o + 14, ((status & 0x7fff) << 1) | (b[o + 14]! & 1));
}

/** Set the phase tag, keeping the status. */
export function setCqePhase(b: Uint8Array, phase: number, o = 0): void {
  b[o + 14] = (b[o + 14]! & 0xfe) | (phase & 1);
}

// ---------------------------------------------------------------- object form

/** CQE fields as plain values. */
export interface Cqe {
  dw0: number;
  dw1: number;
  sqhd: number;
  sqid: number;
  cid: number;
  /** 15-bit status field. */
  status: number;
  phase: number;
}

/** Decode a CQE into an object. */
export function decodeCqe(b: Uint8Array, o = 0): Cqe {
  need(b, o, CQE_SIZE, 'CQE');
  return {
    dw0: rd32(b, o),
    dw1: rd32(b, o + 4),
    sqhd: rd16(b, o + 8),
    sqid: rd16(b, o + 10),
    cid: rd16(b, o + 12),
    status: rd16(b, o + 14) >>> 1,
    phase: b[o + 14]! & 1,
  };
}

/** Encode a CQE object into `b` at `o` (missing fields zero). Returns `b`. */
export function encodeCqe(b: Uint8Array, c: Partial<Cqe>, o = 0): Uint8Array {
  need(b, o, CQE_SIZE, 'CQE');
  wr32(b, o, c.dw0 ?? 0);
  wr32(b, o + 4, c.dw1 ?? 0);
  wr16(b, o + 8, c.sqhd ?? 0);
  wr16(b, o + 10, c.sqid ?? 0);
  wr16(b, o + 12, c.cid ?? 0);
  wr16(b, o + 14, (((c.status ?? 0) & 0x7fff) << 1) | ((c.phase ?? 0) & 1));
  return b;
}
