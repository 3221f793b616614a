/**
 * Common-header validation of a received PDU, before any byte of its payload is
 * accepted. Errors are typed values carrying the Terminate Connection Request
 * FES/FEI to send; fields are checked in wire order (type, flags, hlen, pdo, plen)
 * so the lowest bad field is the one reported. Hostile PLENs are rejected here,
 * from the 8-byte common header alone, so nothing is ever sized by them.
 */

import {
  ChOffset,
  DIGEST_LEN,
  Fes,
  Hlen,
  PduFlags,
  PduType,
  TERM_REQ_MAX_PLEN,
} from './constants.js';
import { rd32 } from '../nvme/le.js';
import { pdaAlignment } from './header.js';

/** Which end of the connection is receiving. */
export const PduRole = {
  /** Receives host PDUs (even types). */
  Controller: 0,
  /** Receives controller PDUs (odd types). */
  Host: 1,
} as const;
export type PduRole = (typeof PduRole)[keyof typeof PduRole];

/** Negotiated receive-side state; mutate it as the connection progresses (after IC exchange). */
export interface PduRxContext {
  role: PduRole;
  /** ICReq/ICResp exchanged: IC PDUs are now out of sequence, everything else allowed. */
  icDone: boolean;
  hdgst: boolean;
  ddgst: boolean;
  /** The PDA this receiver advertised (controller: CPDA, host: HPDA): PDO alignment it demands. */
  rxPda: number;
  /** Largest in-capsule data accepted in a CapsuleCmd, bytes. */
  maxCapsuleData: number;
  /** Largest H2CData PDU data (the MAXH2CDATA the controller advertised). */
  maxH2CData: number;
  /** Largest C2HData PDU data the host accepts. */
  maxC2HData: number;
}

export function createRxContext(role: PduRole, init: Partial<Omit<PduRxContext, 'role'>> = {}): PduRxContext {
  return {
    role,
    icDone: false,
    hdgst: false,
    ddgst: false,
    rxPda: 0,
    maxCapsuleData: 8192,
    maxH2CData: 128 * 1024,
    maxC2HData: 0xffff_ffff,
    ...init,
  };
}

/** Where a validated PDU's parts lie, relative to the PDU start. Reused per PDU. */
export interface PduLayout {
  type: number;
  flags: number;
  hlen: number;
  pdo: number;
  plen: number;
  /** 4 when a header digest follows the header, else 0. */
  hdgstLen: number;
  /** 4 when a data digest follows the data, else 0. */
  ddgstLen: number;
  /** hlen + hdgstLen. */
  headerLen: number;
  /** Bytes between HDGST and PDO. */
  padLen: number;
  dataLen: number;
}

export function createPduLayout(): PduLayout {
  return { type: 0, flags: 0, hlen: 0, pdo: 0, plen: 0, hdgstLen: 0, ddgstLen: 0, headerLen: 0, padLen: 0, dataLen: 0 };
}

/** A fatal PDU error: send a TermReq with `fes`/`fei` (unless `silent`) and close. */
export class PduError {
  constructor(
    readonly fes: Fes,
    readonly fei: number,
    readonly reason: string,
    /** Close without a TermReq (an invalid TermReq, spec: no error reported). */
    readonly silent = false,
  ) {}
}

const F = PduFlags;

/** Flags each type may carry; -1 marks types this role never receives. */
function validFlags(type: number): number {
  switch (type) {
    case PduType.ICReq:
    case PduType.ICResp:
    case PduType.H2CTermReq:
    case PduType.C2HTermReq:
      return 0;
    case PduType.CapsuleCmd:
      return F.HDGSTF | F.DDGSTF;
    case PduType.CapsuleResp:
    case PduType.R2T:
      return F.HDGSTF;
    case PduType.H2CData:
      return F.HDGSTF | F.DDGSTF | F.LAST_PDU;
    case PduType.C2HData:
      return F.HDGSTF | F.DDGSTF | F.LAST_PDU | F.SUCCESS;
    default:
      return -1;
  }
}

function expectedHlen(type: number): number {
  switch (type) {
    case PduType.ICReq:
    case PduType.ICResp:
      return Hlen.ICReq;
    case PduType.H2CTermReq:
    case PduType.C2HTermReq:
      return Hlen.TermReq;
    case PduType.CapsuleCmd:
      return Hlen.CapsuleCmd;
    default:
      return Hlen.Data;
  }
}

function carriesData(type: number): boolean {
  return type === PduType.CapsuleCmd || type === PduType.H2CData || type === PduType.C2HData;
}

function maxDataFor(type: number, ctx: PduRxContext): number {
  switch (type) {
    case PduType.CapsuleCmd:
      return ctx.maxCapsuleData;
    case PduType.H2CData:
      return ctx.maxH2CData;
    case PduType.C2HData:
      return ctx.maxC2HData;
    default:
      return 0;
  }
}

function bad(field: number, reason: string): PduError {
  return new PduError(Fes.InvalidHeaderField, field, reason);
}

/**
 * Validate the 8-byte common header at b[o] against `ctx`; on success fill `out`
 * and return null. Needs only CH_LEN bytes.
 */
export function validateCommonHeader(b: Uint8Array, o: number, ctx: PduRxContext, out: PduLayout): PduError | null {
  const type = b[o]!;
  const flags = b[o + 1]!;
  const hlen = b[o + 2]!;
  const pdo = b[o + 3]!;
  const plen = rd32(b, o + 4);
  const controller = ctx.role === PduRole.Controller;

  // type: direction bit must match the receiver, and the type must exist
  const vf = validFlags(type);
  if (vf < 0 || (type & 1) !== (controller ? 0 : 1)) {
    return bad(ChOffset.type, `invalid PDU type 0x${type.toString(16)}`);
  }
  const isIc = type === PduType.ICReq || type === PduType.ICResp;
  const isTerm = type === PduType.H2CTermReq || type === PduType.C2HTermReq;
  // a TermReq may answer (or replace) an ICReq/ICResp
  if (!ctx.icDone && !isIc && !isTerm) return new PduError(Fes.PduSequenceError, 0, `PDU type 0x${type.toString(16)} before IC exchange`);
  if (ctx.icDone && isIc) return new PduError(Fes.PduSequenceError, 0, 'IC PDU after connection established');
  if (isTerm && (plen < Hlen.TermReq || plen > TERM_REQ_MAX_PLEN)) {
    return new PduError(Fes.InvalidHeaderField, ChOffset.plen, `TermReq with invalid PLEN ${plen}`, true);
  }

  // flags: only the type's bits, digests exactly as negotiated
  if ((flags & ~vf) !== 0) return bad(ChOffset.flags, `invalid flags 0x${flags.toString(16)} for type 0x${type.toString(16)}`);
  const digestable = (vf & F.HDGSTF) !== 0;
  const hasH = (flags & F.HDGSTF) !== 0;
  if (digestable && hasH !== ctx.hdgst) return bad(ChOffset.flags, `HDGSTF ${hasH ? 'set' : 'clear'} but header digest ${ctx.hdgst ? 'on' : 'off'}`);
  const hasD = (flags & F.DDGSTF) !== 0;
  if (hasD && !ctx.ddgst) return bad(ChOffset.flags, 'DDGSTF set but data digest not negotiated');
  if ((flags & (F.SUCCESS | F.LAST_PDU)) === F.SUCCESS) return bad(ChOffset.flags, 'SUCCESS without LAST_PDU');

  // hlen
  if (hlen !== expectedHlen(type)) return bad(ChOffset.hlen, `HLEN ${hlen} invalid for type 0x${type.toString(16)}`);

  // pdo
  const hdgstLen = hasH ? DIGEST_LEN : 0;
  const headerLen = hlen + hdgstLen;
  let dataLen = 0;
  let ddgstLen = 0;
  if (!carriesData(type)) {
    if (pdo !== 0) return bad(ChOffset.pdo, `PDO ${pdo} on a PDU without data`);
  } else if (!(pdo === 0 && plen === headerLen)) {
    if (pdo < headerLen || pdo > plen || pdo % pdaAlignment(ctx.rxPda) !== 0) {
      return bad(ChOffset.pdo, `PDO ${pdo} invalid (header ${headerLen}, PLEN ${plen}, alignment ${pdaAlignment(ctx.rxPda)})`);
    }
    ddgstLen = hasD ? DIGEST_LEN : 0;
    dataLen = plen - pdo - ddgstLen;
    if (dataLen < 0) return bad(ChOffset.plen, `PLEN ${plen} too short for PDO ${pdo} and data digest`);
    if (dataLen > 0 && ctx.ddgst && !hasD) return bad(ChOffset.flags, 'DDGSTF clear but data digest negotiated');
  }

  // plen
  if (isTerm) {
    // error data length is the data of a TermReq, range-checked above
    dataLen = plen - hlen;
  } else if (!carriesData(type)) {
    if (plen !== headerLen) return bad(ChOffset.plen, `PLEN ${plen} must be ${headerLen} for type 0x${type.toString(16)}`);
  } else if (dataLen > maxDataFor(type, ctx)) {
    return new PduError(Fes.DataLimitExceeded, 0, `data length ${dataLen} exceeds limit ${maxDataFor(type, ctx)}`);
  }

  out.type = type;
  out.flags = flags;
  out.hlen = hlen;
  out.pdo = pdo;
  out.plen = plen;
  out.hdgstLen = hdgstLen;
  out.ddgstLen = ddgstLen;
  out.headerLen = headerLen;
  out.padLen = carriesData(type) && pdo !== 0 ? pdo - headerLen : 0;
  out.dataLen = dataLen;
  return null;
}


