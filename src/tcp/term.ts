/**
 * Terminate Connection Request PDUs (H2CTermReq / C2HTermReq):
 *   8 FES u16 | 10 FEI u32 | 14..23 reserved | 24.. the offending PDU header (≤ 128 bytes)
 * HLEN 24, PDO 0, never digested; the error data is the "data" of the PDU.
 */

import { rd16, rd32, wr16, wr32 } from '../nvme/le.js';
import { Hlen, TERM_REQ_MAX_ERROR_DATA } from './constants.js';
import { writeCommonHeader } from './header.js';

export interface TermReq {
  fes: number;
  fei: number;
  /** Offset and length of the offending header copy inside the decoded buffer. */
  errorDataOffset: number;
  errorDataLength: number;
}

export function createTermReq(): TermReq {
  return { fes: 0, fei: 0, errorDataOffset: 0, errorDataLength: 0 };
}

/**
 * Encode a TermReq of `type` (H2CTermReq or C2HTermReq) at b[o], copying up to 128
 * bytes of the offending header from err[errOff, errOff+errLen). Returns PLEN.
 */
export function encodeTermReq(
  b: Uint8Array,
  o: number,
  type: number,
  fes: number,
  fei: number,
  err?: Uint8Array,
  errOff = 0,
  errLen = 0,
): number {
  const n = err === undefined ? 0 : Math.min(errLen, TERM_REQ_MAX_ERROR_DATA, err.length - errOff);
  const plen = Hlen.TermReq + n;
  b.fill(0, o, o + Hlen.TermReq);
  writeCommonHeader(b, o, type, 0, Hlen.TermReq, 0, plen);
  wr16(b, o + 8, fes);
  wr32(b, o + 10, fei);
  if (n > 0) b.set(err!.subarray(errOff, errOff + n), o + Hlen.TermReq);
  return plen;
}

/** Decode a complete TermReq PDU at b[o] (header + error data) into `out`. */
export function decodeTermReq(b: Uint8Array, o: number, out: TermReq): TermReq {
  out.fes = rd16(b, o + 8);
  out.fei = rd32(b, o + 10);
  out.errorDataOffset = o + Hlen.TermReq;
  out.errorDataLength = Math.max(0, rd32(b, o + 4) - Hlen.TermReq);
  return out;
}
