/**
 * NVMe over Fabrics commands (opcode 0x7f, FCTYPE at SQE byte 4) and the 1024-byte
 * Connect data (NVMe-oF spec / NVMe base 2.0 "Fabrics Command Set"):
 *
 *   Connect SQE:      40 recfmt (u16)  42 qid (u16)  44 sqsize (u16, 0-based)  46 cattr  48 kato (u32, ms)
 *   Connect data:     0 hostid (16)  16 cntlid (u16)  256 subnqn (256)  512 hostnqn (256)
 *   Connect response: dw0 bits 15:0 cntlid, bits 17:16 AUTHREQ;
 *                     on Connect Invalid Parameters dw0 = IATTR (bits 23:16) | IPO (bits 15:0)
 *   Property Set:     40 attrib (bits 2:0 size: 0 = 4 bytes, 1 = 8 bytes)  44 offset (u32)  48 value (u64)
 *   Property Get:     40 attrib  44 offset; response value in dw0 (or dw1:dw0 for 8 bytes)
 *   Disconnect:       40 recfmt
 *   Auth Send/Recv:   41 spsp0  42 spsp1  43 secp  44 tl (send) / al (receive)
 */

import { FABRICS_OPCODE, FabricsType } from './opcodes.js';
import { encodeSqe, SQE_SIZE } from './sqe.js';
import {
  rd16,
  rd32,
  rd64n,
  wr16,
  wr32,
  wr64n,
  need,
  readUtf8,
  writeUtf8,
  writeBytes,
} from './le.js';

export const CONNECT_DATA_SIZE = 1024;
export const NQN_FIELD_LEN = 256;
/** Longest NQN the spec allows (223 bytes of UTF-8, NUL terminated in the 256-byte field). */
export const NQN_MAX_LEN = 223;
export const HOSTID_LEN = 16;
/** Well-known NQN of discovery controllers. */
export const DISCOVERY_NQN = 'nqn.2014-08.org.nvmexpress.discovery';
/** Connect CNTLID meaning "any controller" (dynamic controller model). */
export const CNTLID_DYNAMIC = 0xffff;
/** Connect CNTLID meaning "static controller, any" (static controller model). */
export const CNTLID_STATIC_ANY = 0xfffe;
/** Highest cntlid a controller may be given. */
export const CNTLID_MAX = 0xffef;
/** Connect CATTR bit 2: host disables SQ flow control (sqhd reporting). */
export const CATTR_DISABLE_SQ_FLOW = 1 << 2;
/** Connect CATTR bits 1:0 priority class; bit 3 I/O queue deleted (IOQD). */
export const CATTR_PRIORITY_MASK = 0x3;

/** Byte offsets inside a fabrics SQE. */
export const FabricsOff = {
  Fctype: 4,
  Recfmt: 40,
  Qid: 42,
  Sqsize: 44,
  Cattr: 46,
  Kato: 48,
  PropAttrib: 40,
  PropOffset: 44,
  PropValue: 48,
  AuthSpsp0: 41,
  AuthSpsp1: 42,
  AuthSecp: 43,
  AuthLen: 44,
} as const;

/** Byte offsets inside the Connect data. */
export const ConnectDataOff = {
  HostId: 0,
  Cntlid: 16,
  SubNqn: 256,
  HostNqn: 512,
} as const;

// ---------------------------------------------------------------- Connect command

/** Connect SQE fields (besides cid and the SGL in DPTR). */
export interface ConnectCommand {
  cid: number;
  /** Record format; 0 is the only defined value. */
  recfmt: number;
  qid: number;
  /** SQ size, 0-based as on the wire (entries - 1). */
  sqsize: number;
  cattr: number;
  /** Keep Alive Timeout in milliseconds (0 = disabled; only on the admin queue). */
  kato: number;
}

/** Connect: record format (hot path, in place). */
export function connectRecfmt(b: Uint8Array, o = 0): number {
  return rd16(b, o + 40);
}

/** Connect: queue id (0 = admin). */
export function connectQid(b: Uint8Array, o = 0): number {
  return rd16(b, o + 42);
}

/** Connect: SQ size, 0-based. */
export function connectSqsize(b: Uint8Array, o = 0): number {
  return rd16(b, o + 44);
}

/** Connect: connect attributes. */
export function connectCattr(b: Uint8Array, o = 0): number {
  return b[o + 46]!;
}

/** Connect: keep alive timeout in ms. */
export function connectKato(b: Uint8Array, o = 0): number {
  return rd32(b, o + 48);
}

/** True if Connect CATTR asks to disable SQ flow control. */
export function connectDisablesSqFlow(b: Uint8Array, o = 0): boolean {
  return (b[o + 46]! & CATTR_DISABLE_SQ_FLOW) !== 0;
}

/** Decode the Connect-specific SQE fields. */
export function decodeConnectCommand(b: Uint8Array, o = 0): ConnectCommand {
  need(b, o, SQE_SIZE, 'Connect SQE');
  return {
    cid: rd16(b, o + 2),
    recfmt: rd16(b, o + 40),
    qid: rd16(b, o + 42),
    sqsize: rd16(b, o + 44),
    cattr: b[o + 46]!,
    kato: rd32(b, o + 48),
  };
}

/**
 * Build a Connect SQE (zeroes the 64 bytes first). DPTR is left zero: the
 * transport writes the SGL describing the 1024-byte Connect data.
 */
export function encodeConnectCommand(b: Uint8Array, c: Partial<ConnectCommand> & { qid: number; sqsize: number }, o = 0): Uint8Array {
  encodeSqe(b, { opcode: FABRICS_OPCODE, cid: c.cid ?? 0 }, o);
  b[o + 4] = FabricsType.Connect;
  wr16(b, o + 40, c.recfmt ?? 0);
  wr16(b, o + 42, c.qid);
  wr16(b, o + 44, c.sqsize);
  b[o + 46] = (c.cattr ?? 0) & 0xff;
  wr32(b, o + 48, c.kato ?? 0);
  return b;
}

// ---------------------------------------------------------------- Connect data

/** Connect data fields. */
export interface ConnectData {
  /** 16-byte host identifier (UUID bytes). */
  hostId: Uint8Array;
  cntlid: number;
  subnqn: string;
  hostnqn: string;
}

/** Decode the 1024-byte Connect data. */
export function decodeConnectData(b: Uint8Array, o = 0): ConnectData {
  need(b, o, CONNECT_DATA_SIZE, 'Connect data');
  return {
    hostId: b.slice(o, o + HOSTID_LEN),
    cntlid: rd16(b, o + 16),
    subnqn: readUtf8(b, o + 256, NQN_FIELD_LEN),
    hostnqn: readUtf8(b, o + 512, NQN_FIELD_LEN),
  };
}

/** Encode Connect data into a fresh 1024-byte buffer (or `into` at `o`). Throws on over-long NQNs. */
export function encodeConnectData(d: ConnectData, into?: Uint8Array, o = 0): Uint8Array {
  const b = into ?? new Uint8Array(CONNECT_DATA_SIZE);
  need(b, o, CONNECT_DATA_SIZE, 'Connect data');
  b.fill(0, o, o + CONNECT_DATA_SIZE);
  if (d.hostId.length !== HOSTID_LEN) throw new RangeError(`hostid must be 16 bytes, got ${d.hostId.length}`);
  writeBytes(b, o, HOSTID_LEN, d.hostId);
  wr16(b, o + 16, d.cntlid);
  // Keep one NUL at the end so the field is always a terminated string.
  writeUtf8(b, o + 256, NQN_FIELD_LEN - 1, d.subnqn);
  writeUtf8(b, o + 512, NQN_FIELD_LEN - 1, d.hostnqn);
  return b;
}

/** Parse a UUID string ("xxxxxxxx-xxxx-...") into 16 host-id bytes. */
export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a UUID: ${uuid}`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Format 16 host-id bytes as a lowercase UUID string. */
export function bytesToUuid(b: Uint8Array, o = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += b[o + i]!.toString(16).padStart(2, '0');
  }
  return s;
}

// ---------------------------------------------------------------- Connect response

/**
 * AUTHREQ field values (Connect response dw0 bits 23:16 hold AUTHREQ; Linux
 * NVME_CONNECT_AUTHREQ_ATR = 1 << 17, NVME_CONNECT_AUTHREQ_ASCR = 1 << 18).
 */
export const AUTHREQ_ATR = 0x2;
export const AUTHREQ_ASCR = 0x4;

/** Connect response dw0 for success: the controller id (bits 15:0) and AUTHREQ (bits 23:16). */
export function connectResult(cntlid: number, authreq = 0): number {
  return ((cntlid & 0xffff) | ((authreq & 0xff) << 16)) >>> 0;
}

/** Controller id from a successful Connect response dw0. */
export function connectResultCntlid(dw0: number): number {
  return dw0 & 0xffff;
}

/** AUTHREQ (ATR = 2, ASCR = 4) from a successful Connect response dw0. */
export function connectResultAuthreq(dw0: number): number {
  return (dw0 >>> 16) & 0xff;
}

/**
 * Connect Invalid Parameters response dw0: IPO (byte offset of the bad field)
 * in bits 15:0 and IATTR in 23:16 (bit 0 set: offset is into the Connect data;
 * clear: into the SQE), as Linux IPO_IATTR_CONNECT_DATA/SQE.
 */
export function connectInvalidParamResult(inData: boolean, offset: number): number {
  return ((inData ? 1 << 16 : 0) | (offset & 0xffff)) >>> 0;
}

/** Decode a Connect Invalid Parameters dw0 into where the bad field is. */
export function decodeConnectInvalidParam(dw0: number): { inData: boolean; offset: number } {
  return { inData: ((dw0 >>> 16) & 1) === 1, offset: dw0 & 0xffff };
}

// ---------------------------------------------------------------- Property Get / Set

/** Property size from an attrib byte: 4 or 8 bytes. */
export function propertyAttribSize(attrib: number): 4 | 8 {
  return (attrib & 7) === 1 ? 8 : 4;
}

/** Attrib byte for a property size. */
export function propertySizeAttrib(size: 4 | 8): number {
  return size === 8 ? 1 : 0;
}

/** Property Get/Set: attrib byte (bits 2:0 size). */
export function propAttrib(b: Uint8Array, o = 0): number {
  return b[o + 40]!;
}

/** Property Get/Set: property offset. */
export function propOffset(b: Uint8Array, o = 0): number {
  return rd32(b, o + 44);
}

/** Property Set: the low 32 bits of the value (all of a 4-byte property), without a bigint. */
export function propValue32(b: Uint8Array, o = 0): number {
  return rd32(b, o + 48);
}

/** Disconnect: RECFMT (cdw10 bits 15:0), 0 is the only format. */
export function disconnectRecfmt(b: Uint8Array, o = 0): number {
  return rd16(b, o + 40);
}

/** Property Set: value as bigint (use the low 32 bits for 4-byte properties). */
export function propValue(b: Uint8Array, o = 0): bigint {
  return rd64n(b, o + 48);
}

/** Property Get/Set command fields. */
export interface PropertyCommand {
  cid: number;
  /** 4 or 8 bytes. */
  size: 4 | 8;
  offset: number;
  /** Only for Property Set. */
  value?: bigint;
}

/** Decode a Property Get or Set SQE (value is 0n for Get). */
export function decodePropertyCommand(b: Uint8Array, o = 0): Required<PropertyCommand> {
  need(b, o, SQE_SIZE, 'Property SQE');
  const size = propertyAttribSize(b[o + 40]!);
  const raw = rd64n(b, o + 48);
  return {
    cid: rd16(b, o + 2),
    size,
    offset: rd32(b, o + 44),
    value: b[o + 4] === FabricsType.PropertySet ? (size === 4 ? raw & 0xffff_ffffn : raw) : 0n,
  };
}

/** Build a Property Get SQE. */
export function encodePropertyGet(b: Uint8Array, cid: number, offset: number, size: 4 | 8, o = 0): Uint8Array {
  encodeSqe(b, { opcode: FABRICS_OPCODE, cid }, o);
  b[o + 4] = FabricsType.PropertyGet;
  b[o + 40] = propertySizeAttrib(size);
  wr32(b, o + 44, offset);
  return b;
}

/** Build a Property Set SQE. */
export function encodePropertySet(
  b: Uint8Array,
  cid: number,
  offset: number,
  size: 4 | 8,
  value: bigint | number,
  o = 0,
): Uint8Array {
  encodeSqe(b, { opcode: FABRICS_OPCODE, cid }, o);
  b[o + 4] = FabricsType.PropertySet;
  b[o + 40] = propertySizeAttrib(size);
  wr32(b, o + 44, offset);
  const v = typeof value === 'bigint' ? value : BigInt(value);
  wr64n(b, o + 48, size === 4 ? v & 0xffff_ffffn : v);
  return b;
}

// ---------------------------------------------------------------- Disconnect

/** Build a Disconnect SQE (record format 0). */
export function encodeDisconnect(b: Uint8Array, cid: number, o = 0): Uint8Array {
  encodeSqe(b, { opcode: FABRICS_OPCODE, cid }, o);
  b[o + 4] = FabricsType.Disconnect;
  return b;
}

// ---------------------------------------------------------------- Authentication Send / Receive

/** DH-HMAC-CHAP security protocol identifier (SECP). */
export const AUTH_SECP_DHCHAP = 0xe9;

/** Authentication Send/Receive SQE fields. */
export interface AuthCommand {
  cid: number;
  fctype: typeof FabricsType.AuthenticationSend | typeof FabricsType.AuthenticationReceive;
  secp: number;
  spsp0: number;
  spsp1: number;
  /** Transfer length (send) or allocation length (receive). */
  length: number;
}

/** Authentication Send/Receive: SECP (cdw10 bits 31:24). */
export function authSecp(b: Uint8Array, o = 0): number {
  return b[o + 43]!;
}

/** Authentication Send/Receive: SPSP0 (cdw10 bits 15:8). */
export function authSpsp0(b: Uint8Array, o = 0): number {
  return b[o + 41]!;
}

/** Authentication Send/Receive: SPSP1 (cdw10 bits 23:16). */
export function authSpsp1(b: Uint8Array, o = 0): number {
  return b[o + 42]!;
}

/** Authentication Send: transfer length; Authentication Receive: allocation length (cdw11). */
export function authLength(b: Uint8Array, o = 0): number {
  return rd32(b, o + 44);
}

/** Decode an Authentication Send/Receive SQE. */
export function decodeAuthCommand(b: Uint8Array, o = 0): AuthCommand {
  need(b, o, SQE_SIZE, 'Auth SQE');
  return {
    cid: rd16(b, o + 2),
    fctype: b[o + 4] as AuthCommand['fctype'],
    spsp0: b[o + 41]!,
    spsp1: b[o + 42]!,
    secp: b[o + 43]!,
    length: rd32(b, o + 44),
  };
}

/** Build an Authentication Send/Receive SQE. */
export function encodeAuthCommand(b: Uint8Array, c: AuthCommand, o = 0): Uint8Array {
  encodeSqe(b, { opcode: FABRICS_OPCODE, cid: c.cid }, o);
  b[o + 4] = c.fctype;
  b[o + 41] = c.spsp0 & 0xff;
  b[o + 42] = c.spsp1 & 0xff;
  b[o + 43] = c.secp & 0xff;
  wr32(b, o + 44, c.length);
  return b;
}
