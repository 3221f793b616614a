/**
 * The 8-byte common header every PDU starts with, and the arithmetic that places
 * the data inside a PDU: [header][HDGST?][pad to PDA][data][DDGST?].
 */

import { rd32, wr32 } from '../nvme/le.js';
import { DIGEST_LEN, PduFlags } from './constants.js';
import { writeHeaderDigest } from './digest.js';

export function pduType(b: Uint8Array, o: number): number {
  return b[o]!;
}
export function pduFlags(b: Uint8Array, o: number): number {
  return b[o + 1]!;
}
export function pduHlen(b: Uint8Array, o: number): number {
  return b[o + 2]!;
}
export function pduPdo(b: Uint8Array, o: number): number {
  return b[o + 3]!;
}
export function pduPlen(b: Uint8Array, o: number): number {
  return rd32(b, o + 4);
}

export function writeCommonHeader(
  b: Uint8Array,
  o: number,
  type: number,
  flags: number,
  hlen: number,
  pdo: number,
  plen: number,
): void {
  b[o] = type;
  b[o + 1] = flags;
  b[o + 2] = hlen;
  b[o + 3] = pdo;
  wr32(b, o + 4, plen);
}

/** Alignment in bytes a PDA (HPDA/CPDA, 0's based dwords) asks for. */
export function pdaAlignment(pda: number): number {
  return (pda + 1) * 4;
}

/**
 * PDO of a PDU carrying `dataLen` bytes: 0 without data, else the header (+HDGST)
 * rounded up to the receiver's PDA alignment.
 */
export function dataOffsetFor(hlen: number, hdgst: boolean, dataLen: number, pda: number): number {
  if (dataLen === 0) return 0;
  const full = hlen + (hdgst ? DIGEST_LEN : 0);
  const a = pdaAlignment(pda);
  return Math.ceil(full / a) * a;
}

/** PLEN of a PDU: header (+HDGST), or up to PDO + data (+DDGST). */
export function pduLengthFor(hlen: number, hdgst: boolean, pdo: number, dataLen: number, ddgst: boolean): number {
  if (dataLen === 0) return hlen + (hdgst ? DIGEST_LEN : 0);
  return pdo + dataLen + (ddgst ? DIGEST_LEN : 0);
}

/**
 * Finish a header the per-type encoder laid out at b[o, o+hlen): common header,
 * HDGST, zeroed pad up to PDO. Returns the header bytes written (= PDO when there
 * is data), after which the caller places `dataLen` data bytes and, with `ddgst`,
 * the data digest.
 */
export function finishHeader(
  b: Uint8Array,
  o: number,
  type: number,
  extraFlags: number,
  hlen: number,
  dataLen: number,
  hdgst: boolean,
  ddgst: boolean,
  pda: number,
): number {
  const pdo = dataOffsetFor(hlen, hdgst, dataLen, pda);
  const withDdgst = ddgst && dataLen > 0;
  const flags = extraFlags | (hdgst ? PduFlags.HDGSTF : 0) | (withDdgst ? PduFlags.DDGSTF : 0);
  writeCommonHeader(b, o, type, flags, hlen, pdo, pduLengthFor(hlen, hdgst, pdo, dataLen, withDdgst));
  let end = o + hlen;
  if (hdgst) {
    writeHeaderDigest(b, o, hlen);
    end += DIGEST_LEN;
  }
  if (pdo !== 0 && o + pdo > end) {
    b.fill(0, end, o + pdo);
    end = o + pdo;
  }
  return end - o;
}
