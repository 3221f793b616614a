/**
 * DH-HMAC-CHAP computations (NVMe base spec "DH-HMAC-CHAP protocol"), byte for byte as
 * Linux computes them: nvmet_auth_host_hash() / nvmet_auth_ctrl_hash()
 * (drivers/nvme/target/auth.c), nvme_auth_dhchap_setup_{host,ctrl}_response()
 * (drivers/nvme/host/auth.c), nvme_auth_augmented_challenge() (drivers/nvme/common/auth.c).
 *
 *   host response R1 = HMAC(Kh', Ca1 || le32(S1) || le16(T_ID) || u8(SC_C) || "HostHost"   || NQNh || 00 || NQNc)
 *   ctrl response R2 = HMAC(Kc', Ca2 || le32(S2) || le16(T_ID) || 00       || "Controller" || NQNc || 00 || NQNh)
 *
 * Kh' = transform(host key, NQNh), Kc' = transform(ctrl key, NQNc); Ca = C when the DH
 * group is null, else the augmented challenge HMAC(H(g^xy mod p), C).
 */

import { createDiffieHellman, createHash, createHmac, type DiffieHellman } from 'node:crypto';
import { FFDHE_PRIME_HEX } from './ffdhe.js';
import { authHashById, dhGroupById, type AuthHash, type DhGroup } from './ids.js';

export interface ResponseInput {
  hash: AuthHash;
  /** Transformed key (transformDhchapKey). */
  key: Uint8Array;
  /** Challenge as sent (C1 or C2), HL bytes. */
  challenge: Uint8Array;
  /** Session key g^xy mod p, padded to the prime size; undefined for the null DH group. */
  sessionKey?: Uint8Array | undefined;
  seqnum: number;
  tid: number;
  hostnqn: string;
  subnqn: string;
}

function le32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

function le16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v & 0xffff, 0);
  return b;
}

const ZERO = Buffer.alloc(1);

/** nvme_auth_augmented_challenge(): HMAC-H(H(session key), challenge). */
export function augmentedChallenge(hash: AuthHash, sessionKey: Uint8Array, challenge: Uint8Array): Uint8Array {
  const hashedKey = createHash(hash.digest).update(sessionKey).digest();
  return new Uint8Array(createHmac(hash.digest, hashedKey).update(challenge.subarray(0, hash.len)).digest());
}

function effectiveChallenge(i: ResponseInput): Uint8Array {
  return i.sessionKey ? augmentedChallenge(i.hash, i.sessionKey, i.challenge) : i.challenge.subarray(0, i.hash.len);
}

/** Response the host sends in DH-HMAC-CHAP_Reply (and the controller checks). */
export function hostResponse(i: ResponseInput & { scC?: number }): Uint8Array {
  return new Uint8Array(
    createHmac(i.hash.digest, i.key)
      .update(effectiveChallenge(i))
      .update(le32(i.seqnum))
      .update(le16(i.tid))
      .update(Buffer.of((i.scC ?? 0) & 0xff))
      .update('HostHost', 'latin1')
      .update(i.hostnqn, 'utf8')
      .update(ZERO)
      .update(i.subnqn, 'utf8')
      .digest(),
  );
}

/** Response the controller sends in DH-HMAC-CHAP_Success1 (bidirectional authentication). */
export function ctrlResponse(i: ResponseInput): Uint8Array {
  return new Uint8Array(
    createHmac(i.hash.digest, i.key)
      .update(effectiveChallenge(i))
      .update(le32(i.seqnum))
      .update(le16(i.tid))
      .update(ZERO)
      .update('Controller', 'latin1')
      .update(i.subnqn, 'utf8')
      .update(ZERO)
      .update(i.hostnqn, 'utf8')
      .digest(),
  );
}

/** Error from the DH exchange (a peer's public value rejected). */
export class DhValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DhValueError';
  }
}

function pad(b: Uint8Array, len: number): Uint8Array {
  if (b.length === len) return new Uint8Array(b);
  if (b.length > len) throw new DhValueError(`DH value of ${b.length} bytes exceeds the ${len}-byte prime`);
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

/** One side's ephemeral DH key pair over an RFC 7919 group (node:crypto / OpenSSL). */
export class DhExchange {
  readonly group: DhGroup;
  /** Our public value g^x mod p, big endian, padded to the prime size (DHVLEN bytes). */
  readonly publicValue: Uint8Array;
  private readonly dh: DiffieHellman;
  private readonly prime: bigint;

  constructor(group: DhGroup) {
    if (group.bits === 0) throw new DhValueError('the null DH group has no exchange');
    this.group = group;
    const primeHex = FFDHE_PRIME_HEX[group.bits];
    this.prime = BigInt(`0x${primeHex}`);
    this.dh = createDiffieHellman(Buffer.from(primeHex, 'hex'), 2);
    this.publicValue = pad(this.dh.generateKeys(), group.bits / 8);
  }

  /**
   * Session key g^xy mod p padded to the prime size (the kernel's kpp output length).
   * Refuses a peer value outside 1 < y < p-1 (the kernel's dh_is_pubkey_valid range) or of
   * the wrong length.
   */
  sessionKey(peer: Uint8Array): Uint8Array {
    const len = this.group.bits / 8;
    if (peer.length !== len) throw new DhValueError(`DH value is ${peer.length} bytes, ${this.group.name} needs ${len}`);
    const y = BigInt(`0x${Buffer.from(peer).toString('hex') || '0'}`);
    if (y <= 1n || y >= this.prime - 1n) throw new DhValueError('DH value outside 1 < y < p-1');
    return pad(this.dh.computeSecret(peer), len);
  }
}

/** Look-ups that throw a typed error when an id is unknown (the state machines map it). */
export function requireHash(id: number): AuthHash {
  const h = authHashById(id);
  if (!h) throw new DhValueError(`unknown hash id ${id}`);
  return h;
}

export function requireDhGroup(id: number): DhGroup {
  const g = dhGroupById(id);
  if (!g) throw new DhValueError(`unknown DH group id ${id}`);
  return g;
}
