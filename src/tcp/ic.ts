/**
 * Connection initialisation PDUs: ICReq (host → controller) and ICResp
 * (controller → host). Both are 128 bytes, never digested, never carry data.
 *
 *   ICReq:  8 PFV u16 | 10 HPDA | 11 DGST | 12 MAXR2T u32 (0's based) | 16..127 reserved
 *   ICResp: 8 PFV u16 | 10 CPDA | 11 DGST | 12 MAXH2CDATA u32          | 16..127 reserved
 */

import { rd16, rd32, wr16, wr32 } from '../nvme/le.js';
import { DigestFlags, Hlen, PduType, PFV_1_0 } from './constants.js';
import { writeCommonHeader } from './header.js';

export interface ICReq {
  pfv: number;
  /** Host PDU data alignment the host wants in C2H PDUs (0's based dwords). */
  hpda: number;
  hdgst: boolean;
  ddgst: boolean;
  /** Max outstanding R2Ts per command, 0's based (0 = one). */
  maxr2t: number;
}

export interface ICResp {
  pfv: number;
  /** Controller PDU data alignment the controller wants in H2C PDUs (0's based dwords). */
  cpda: number;
  hdgst: boolean;
  ddgst: boolean;
  /** Largest H2CData PDU data length the controller accepts, bytes. */
  maxh2cdata: number;
}

export function createICReq(): ICReq {
  return { pfv: PFV_1_0, hpda: 0, hdgst: false, ddgst: false, maxr2t: 0 };
}

export function createICResp(): ICResp {
  return { pfv: PFV_1_0, cpda: 0, hdgst: false, ddgst: false, maxh2cdata: 0 };
}

function digestByte(h: boolean, d: boolean): number {
  return (h ? DigestFlags.HDGST_ENABLE : 0) | (d ? DigestFlags.DDGST_ENABLE : 0);
}

/** Encode an ICReq at b[o]; returns 128. */
export function encodeICReq(b: Uint8Array, o: number, r: ICReq): number {
  b.fill(0, o, o + Hlen.ICReq);
  writeCommonHeader(b, o, PduType.ICReq, 0, Hlen.ICReq, 0, Hlen.ICReq);
  wr16(b, o + 8, r.pfv);
  b[o + 10] = r.hpda;
  b[o + 11] = digestByte(r.hdgst, r.ddgst);
  wr32(b, o + 12, r.maxr2t);
  return Hlen.ICReq;
}

/** Encode an ICResp at b[o]; returns 128. */
export function encodeICResp(b: Uint8Array, o: number, r: ICResp): number {
  b.fill(0, o, o + Hlen.ICResp);
  writeCommonHeader(b, o, PduType.ICResp, 0, Hlen.ICResp, 0, Hlen.ICResp);
  wr16(b, o + 8, r.pfv);
  b[o + 10] = r.cpda;
  b[o + 11] = digestByte(r.hdgst, r.ddgst);
  wr32(b, o + 12, r.maxh2cdata);
  return Hlen.ICResp;
}

/** Decode an ICReq header at b[o] into `out` (no allocation). */
export function decodeICReq(b: Uint8Array, o: number, out: ICReq): ICReq {
  out.pfv = rd16(b, o + 8);
  out.hpda = b[o + 10]!;
  const d = b[o + 11]!;
  out.hdgst = (d & DigestFlags.HDGST_ENABLE) !== 0;
  out.ddgst = (d & DigestFlags.DDGST_ENABLE) !== 0;
  out.maxr2t = rd32(b, o + 12);
  return out;
}

/** Decode an ICResp header at b[o] into `out` (no allocation). */
export function decodeICResp(b: Uint8Array, o: number, out: ICResp): ICResp {
  out.pfv = rd16(b, o + 8);
  out.cpda = b[o + 10]!;
  const d = b[o + 11]!;
  out.hdgst = (d & DigestFlags.HDGST_ENABLE) !== 0;
  out.ddgst = (d & DigestFlags.DDGST_ENABLE) !== 0;
  out.maxh2cdata = rd32(b, o + 12);
  return out;
}
