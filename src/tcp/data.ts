/**
 * Data transfer PDUs, all HLEN 24:
 *   H2CData / C2HData: 8 CCCID u16 | 10 TTAG u16 (C2H: reserved) | 12 DATAO u32 | 16 DATAL u32 | 20 rsvd
 *   R2T:               8 CCCID u16 | 10 TTAG u16 | 12 R2TO u32 | 16 R2TL u32 | 20 rsvd
 */

import { rd16, rd32, wr16, wr32 } from '../nvme/le.js';
import { Hlen, PduType } from './constants.js';
import { finishHeader } from './header.js';

/** Decoded H2CData / C2HData / R2T fields (R2T: datao = R2TO, datal = R2TL). */
export interface DataPduHeader {
  cccid: number;
  ttag: number;
  datao: number;
  datal: number;
}

export function createDataPduHeader(): DataPduHeader {
  return { cccid: 0, ttag: 0, datao: 0, datal: 0 };
}

function putDataFields(b: Uint8Array, o: number, cccid: number, ttag: number, off: number, len: number): void {
  wr16(b, o + 8, cccid);
  wr16(b, o + 10, ttag);
  wr32(b, o + 12, off);
  wr32(b, o + 16, len);
  wr32(b, o + 20, 0);
}

/**
 * Encode an H2CData header for `datal` bytes at `datao`. `last` sets LAST_PDU
 * (end of the R2T's data). `pda` is the controller's CPDA. Returns bytes written
 * (PDO): data goes right after, then the data digest if `ddgst`.
 */
export function encodeH2CData(
  b: Uint8Array,
  o: number,
  cccid: number,
  ttag: number,
  datao: number,
  datal: number,
  last: boolean,
  hdgst: boolean,
  ddgst: boolean,
  pda: number,
): number {
  putDataFields(b, o, cccid, ttag, datao, datal);
  return finishHeader(b, o, PduType.H2CData, last ? 0x04 : 0, Hlen.Data, datal, hdgst, ddgst, pda);
}

/**
 * Encode a C2HData header. `extraFlags` is LAST_PDU and/or SUCCESS; `pda` is the
 * host's HPDA. Returns bytes written (PDO).
 */
export function encodeC2HData(
  b: Uint8Array,
  o: number,
  cccid: number,
  datao: number,
  datal: number,
  extraFlags: number,
  hdgst: boolean,
  ddgst: boolean,
  pda: number,
): number {
  putDataFields(b, o, cccid, 0, datao, datal);
  return finishHeader(b, o, PduType.C2HData, extraFlags, Hlen.Data, datal, hdgst, ddgst, pda);
}

/** Encode an R2T asking for `r2tl` bytes at `r2to`. Returns 24 or 28. */
export function encodeR2T(
  b: Uint8Array,
  o: number,
  cccid: number,
  ttag: number,
  r2to: number,
  r2tl: number,
  hdgst: boolean,
): number {
  putDataFields(b, o, cccid, ttag, r2to, r2tl);
  return finishHeader(b, o, PduType.R2T, 0, Hlen.R2T, 0, hdgst, false, 0);
}

/** Decode H2CData / C2HData / R2T fields at b[o] into `out` (no allocation). */
export function decodeDataPdu(b: Uint8Array, o: number, out: DataPduHeader): DataPduHeader {
  out.cccid = rd16(b, o + 8);
  out.ttag = rd16(b, o + 10);
  out.datao = rd32(b, o + 12);
  out.datal = rd32(b, o + 16);
  return out;
}
