/**
 * DH-HMAC-CHAP message codecs (the Authentication Send/Receive payloads). Layouts as
 * Linux include/linux/nvme.h (struct nvmf_auth_dhchap_*_data), all little endian:
 *
 *   common header   0 auth_type  1 auth_id  2 rsvd(2)  4 t_id(le16)
 *   Negotiate       6 sc_c  7 napd  8.. napd x 64-byte descriptors
 *                     (0 authid  1 rsvd  2 halen  3 dhlen  4 idlist[60]: hashes 0..29, DH groups 30..59)
 *   Challenge       6 hl  7 rsvd  8 hashid  9 dhgid  10 dhvlen(le16)  12 seqnum(le32)  16 C1[hl]  DH[dhvlen]
 *   Reply           6 hl  7 rsvd  8 cvalid  9 rsvd  10 dhvlen(le16)  12 seqnum(le32)  16 R1[hl]  C2[hl]  DH[dhvlen]
 *   Success1        6 hl  7 rsvd  8 rvalid  9 rsvd(7)  16 R2[hl]
 *   Success2        6 rsvd(10)                                           (16 bytes)
 *   Failure1/2      6 rescode  7 rescode_exp                             (8 bytes)
 */

import {
  AUTH_FAILURE_REASON_FAILED,
  AuthMsgId,
  AuthType,
  DHCHAP_AUTH_ID,
  DHCHAP_MAX_DH_IDS,
  DHCHAP_MAX_HASH_IDS,
} from './ids.js';

export const NEGOTIATE_HEADER_LEN = 8;
export const PROTOCOL_DESCRIPTOR_LEN = 64;
export const CHALLENGE_HEADER_LEN = 16;
export const REPLY_HEADER_LEN = 16;
export const SUCCESS1_HEADER_LEN = 16;
export const SUCCESS2_LEN = 16;
export const FAILURE_LEN = 8;

/** A payload that cannot be decoded; `failure` is the RESCODE_EXP the kernel answers with. */
export class AuthMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthMessageError';
  }
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function need(b: Uint8Array, len: number, what: string): void {
  if (b.length < len) throw new AuthMessageError(`${what}: ${b.length} bytes, need ${len}`);
}

export interface AuthHeader {
  authType: number;
  authId: number;
  tid: number;
}

export function decodeAuthHeader(b: Uint8Array): AuthHeader {
  need(b, 6, 'auth message header');
  return { authType: b[0]!, authId: b[1]!, tid: dv(b).getUint16(4, true) };
}

function header(len: number, type: number, id: number, tid: number): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = type;
  b[1] = id;
  dv(b).setUint16(4, tid & 0xffff, true);
  return b;
}

// ---------------------------------------------------------------- AUTH_Negotiate

export interface Negotiate {
  tid: number;
  scC: number;
  /** Number of protocol descriptors as sent (NAPD). */
  napd: number;
  /** The first descriptor (the only one Linux sends or accepts). */
  authId: number;
  hashIds: number[];
  dhGroupIds: number[];
}

export function encodeNegotiate(n: { tid: number; scC?: number; hashIds: readonly number[]; dhGroupIds: readonly number[] }): Uint8Array {
  if (n.hashIds.length > DHCHAP_MAX_HASH_IDS || n.dhGroupIds.length > DHCHAP_MAX_DH_IDS) {
    throw new AuthMessageError('too many hash or DH group ids for one descriptor');
  }
  const b = header(NEGOTIATE_HEADER_LEN + PROTOCOL_DESCRIPTOR_LEN, AuthType.Common, AuthMsgId.Negotiate, n.tid);
  b[6] = n.scC ?? 0;
  b[7] = 1;
  const d = NEGOTIATE_HEADER_LEN;
  b[d] = DHCHAP_AUTH_ID;
  b[d + 2] = n.hashIds.length;
  b[d + 3] = n.dhGroupIds.length;
  n.hashIds.forEach((h, i) => (b[d + 4 + i] = h));
  n.dhGroupIds.forEach((g, i) => (b[d + 4 + 30 + i] = g));
  return b;
}

/** Decode; halen/dhlen beyond 30 are reported as is (the state machine refuses them). */
export function decodeNegotiate(b: Uint8Array): Negotiate {
  need(b, NEGOTIATE_HEADER_LEN + PROTOCOL_DESCRIPTOR_LEN, 'AUTH_Negotiate');
  const d = NEGOTIATE_HEADER_LEN;
  const halen = b[d + 2]!;
  const dhlen = b[d + 3]!;
  const hashIds: number[] = [];
  const dhGroupIds: number[] = [];
  for (let i = 0; i < Math.min(halen, DHCHAP_MAX_HASH_IDS); i++) hashIds.push(b[d + 4 + i]!);
  for (let i = 0; i < Math.min(dhlen, DHCHAP_MAX_DH_IDS); i++) dhGroupIds.push(b[d + 4 + 30 + i]!);
  return {
    tid: dv(b).getUint16(4, true),
    scC: b[6]!,
    napd: b[7]!,
    authId: b[d]!,
    hashIds: halen > DHCHAP_MAX_HASH_IDS ? [...hashIds, -1] : hashIds,
    dhGroupIds: dhlen > DHCHAP_MAX_DH_IDS ? [...dhGroupIds, -1] : dhGroupIds,
  };
}

// ---------------------------------------------------------------- DH-HMAC-CHAP_Challenge

export interface Challenge {
  tid: number;
  hashId: number;
  dhGroupId: number;
  seqnum: number;
  challenge: Uint8Array;
  dhValue: Uint8Array;
}

export function encodeChallenge(c: Challenge): Uint8Array {
  const hl = c.challenge.length;
  const b = header(CHALLENGE_HEADER_LEN + hl + c.dhValue.length, AuthType.Dhchap, AuthMsgId.Challenge, c.tid);
  const v = dv(b);
  b[6] = hl;
  b[8] = c.hashId;
  b[9] = c.dhGroupId;
  v.setUint16(10, c.dhValue.length, true);
  v.setUint32(12, c.seqnum >>> 0, true);
  b.set(c.challenge, CHALLENGE_HEADER_LEN);
  b.set(c.dhValue, CHALLENGE_HEADER_LEN + hl);
  return b;
}

export function decodeChallenge(b: Uint8Array): Challenge {
  need(b, CHALLENGE_HEADER_LEN, 'DH-HMAC-CHAP_Challenge');
  const v = dv(b);
  const hl = b[6]!;
  const dhvlen = v.getUint16(10, true);
  need(b, CHALLENGE_HEADER_LEN + hl + dhvlen, 'DH-HMAC-CHAP_Challenge');
  return {
    tid: v.getUint16(4, true),
    hashId: b[8]!,
    dhGroupId: b[9]!,
    seqnum: v.getUint32(12, true),
    challenge: b.slice(CHALLENGE_HEADER_LEN, CHALLENGE_HEADER_LEN + hl),
    dhValue: b.slice(CHALLENGE_HEADER_LEN + hl, CHALLENGE_HEADER_LEN + hl + dhvlen),
  };
}

// ---------------------------------------------------------------- DH-HMAC-CHAP_Reply

export interface Reply {
  tid: number;
  /** Host response R1 (HL bytes). */
  response: Uint8Array;
  /** Challenge C2 when the host asks for bidirectional authentication (CVALID). */
  challenge?: Uint8Array | undefined;
  /** S2 (0 when not bidirectional). */
  seqnum: number;
  dhValue: Uint8Array;
}

export function encodeReply(r: Reply): Uint8Array {
  const hl = r.response.length;
  const b = header(REPLY_HEADER_LEN + 2 * hl + r.dhValue.length, AuthType.Dhchap, AuthMsgId.Reply, r.tid);
  const v = dv(b);
  b[6] = hl;
  b[8] = r.challenge ? 1 : 0;
  v.setUint16(10, r.dhValue.length, true);
  v.setUint32(12, r.seqnum >>> 0, true);
  b.set(r.response, REPLY_HEADER_LEN);
  if (r.challenge) b.set(r.challenge.subarray(0, hl), REPLY_HEADER_LEN + hl);
  b.set(r.dhValue, REPLY_HEADER_LEN + 2 * hl);
  return b;
}

/** Decode; like nvmet_auth_reply() the payload must hold the header, 2 x HL and DHVLEN bytes. */
export function decodeReply(b: Uint8Array): Reply {
  need(b, REPLY_HEADER_LEN, 'DH-HMAC-CHAP_Reply');
  const v = dv(b);
  const hl = b[6]!;
  const dhvlen = v.getUint16(10, true);
  need(b, REPLY_HEADER_LEN + 2 * hl + dhvlen, 'DH-HMAC-CHAP_Reply');
  const cvalid = (b[8]! & 1) !== 0;
  return {
    tid: v.getUint16(4, true),
    response: b.slice(REPLY_HEADER_LEN, REPLY_HEADER_LEN + hl),
    challenge: cvalid ? b.slice(REPLY_HEADER_LEN + hl, REPLY_HEADER_LEN + 2 * hl) : undefined,
    seqnum: v.getUint32(12, true),
    dhValue: b.slice(REPLY_HEADER_LEN + 2 * hl, REPLY_HEADER_LEN + 2 * hl + dhvlen),
  };
}

// ---------------------------------------------------------------- Success1 / Success2

export interface Success1 {
  tid: number;
  hl: number;
  /** Controller response R2 when bidirectional (RVALID). */
  response?: Uint8Array | undefined;
}

export function encodeSuccess1(s: Success1): Uint8Array {
  const b = header(SUCCESS1_HEADER_LEN + (s.response ? s.hl : 0), AuthType.Dhchap, AuthMsgId.Success1, s.tid);
  b[6] = s.hl;
  if (s.response) {
    b[8] = 1;
    b.set(s.response.subarray(0, s.hl), SUCCESS1_HEADER_LEN);
  }
  return b;
}

export function decodeSuccess1(b: Uint8Array): Success1 {
  need(b, SUCCESS1_HEADER_LEN, 'DH-HMAC-CHAP_Success1');
  const hl = b[6]!;
  const rvalid = (b[8]! & 1) !== 0;
  if (rvalid) need(b, SUCCESS1_HEADER_LEN + hl, 'DH-HMAC-CHAP_Success1');
  return {
    tid: dv(b).getUint16(4, true),
    hl,
    response: rvalid ? b.slice(SUCCESS1_HEADER_LEN, SUCCESS1_HEADER_LEN + hl) : undefined,
  };
}

export function encodeSuccess2(tid: number): Uint8Array {
  return header(SUCCESS2_LEN, AuthType.Dhchap, AuthMsgId.Success2, tid);
}

// ---------------------------------------------------------------- Failure1 / Failure2

export interface Failure {
  tid: number;
  rescode: number;
  rescodeExp: number;
}

/** AUTH_Failure1 (controller to host) or AUTH_Failure2 (host to controller): common messages. */
export function encodeFailure(kind: typeof AuthMsgId.Failure1 | typeof AuthMsgId.Failure2, tid: number, rescodeExp: number): Uint8Array {
  const b = header(FAILURE_LEN, AuthType.Common, kind, tid);
  b[6] = AUTH_FAILURE_REASON_FAILED;
  b[7] = rescodeExp;
  return b;
}

export function decodeFailure(b: Uint8Array): Failure {
  need(b, FAILURE_LEN, 'AUTH_Failure');
  return { tid: dv(b).getUint16(4, true), rescode: b[6]!, rescodeExp: b[7]! };
}
