/**
 * DH-HMAC-CHAP secrets in the `DHHC-1:NN:<base64(key || crc32)>:` representation that
 * `nvme gen-dhchap-key` prints and configfs `dhchap_key` accepts.
 *
 * Parsing follows Linux nvmet_auth_set_key() + nvme_auth_extract_key()
 * (drivers/nvme/common/auth.c): NN is the transformation hash (00 none, 01 SHA-256,
 * 02 SHA-384, 03 SHA-512); the base64 payload decodes to 36, 52 or 68 bytes, the last
 * four being the CRC-32 (zlib polynomial, pre/post inverted) of the key, little endian.
 */

import { createHmac } from 'node:crypto';
import { crc32 } from '@node-rs/crc32';
import { authHashById, type AuthHashId } from './ids.js';

export interface DhchapKey {
  /** Transformation hash id from NN: 0 = none, else an AuthHashId. */
  hash: 0 | AuthHashId;
  /** The secret (32, 48 or 64 bytes). */
  key: Uint8Array;
}

/** Why a DHHC-1 secret was refused (a typed error the edges map to a config/API error). */
export type DhchapSecretProblem = 'format' | 'hash' | 'base64' | 'length' | 'crc';

export class DhchapSecretError extends Error {
  constructor(
    readonly problem: DhchapSecretProblem,
    message: string,
  ) {
    super(message);
    this.name = 'DhchapSecretError';
  }
}

const SECRET_RE = /^DHHC-1:([0-9]{2}):([A-Za-z0-9+/]+={0,2}):?$/;
const KEY_LENGTHS = new Set([32, 48, 64]);

/**
 * Parse a `DHHC-1:NN:...:` secret. Messages never contain the secret itself (they end up
 * in logs and HTTP error bodies).
 */
export function parseDhchapSecret(secret: string): DhchapKey {
  const s = secret.trim();
  if (!s.startsWith('DHHC-1:')) throw new DhchapSecretError('format', "secret does not start with 'DHHC-1:'");
  const m = SECRET_RE.exec(s);
  if (!m) throw new DhchapSecretError('format', "secret is not of the form 'DHHC-1:NN:<base64>:'");
  const nn = Number(m[1]);
  if (nn > 3) throw new DhchapSecretError('hash', `secret transformation hash ${m[1]} is not 00, 01, 02 or 03`);
  const b64 = m[2]!;
  if (b64.length % 4 !== 0) throw new DhchapSecretError('base64', 'secret payload is not padded base64');
  const raw = Buffer.from(b64, 'base64');
  if (raw.length - 4 < 0 || !KEY_LENGTHS.has(raw.length - 4)) {
    throw new DhchapSecretError('length', `secret decodes to ${raw.length} bytes; the kernel accepts 36, 52 or 68 (key + CRC-32)`);
  }
  const keyLen = raw.length - 4;
  const key = new Uint8Array(raw.subarray(0, keyLen));
  if (crc32(key) !== raw.readUInt32LE(keyLen)) throw new DhchapSecretError('crc', 'secret CRC-32 mismatch');
  return { hash: nn as DhchapKey['hash'], key };
}

/** Format a key as `DHHC-1:NN:<base64(key || crc32 LE)>:` (what `nvme gen-dhchap-key` prints). */
export function formatDhchapSecret(k: DhchapKey): string {
  if (!KEY_LENGTHS.has(k.key.length)) throw new DhchapSecretError('length', `key is ${k.key.length} bytes, not 32, 48 or 64`);
  const out = Buffer.alloc(k.key.length + 4);
  out.set(k.key, 0);
  out.writeUInt32LE(crc32(k.key), k.key.length);
  return `DHHC-1:${String(k.hash).padStart(2, '0')}:${out.toString('base64')}:`;
}

/**
 * nvme_auth_transform_key(): with NN = 00 the key is used as is; otherwise
 * HMAC-H(key, NQN || "NVMe-over-Fabrics") with H the NN hash. The host key is
 * transformed with the host NQN, the controller key with the subsystem NQN.
 */
export function transformDhchapKey(k: DhchapKey, nqn: string): Uint8Array {
  if (k.hash === 0) return k.key;
  const h = authHashById(k.hash);
  if (!h) throw new DhchapSecretError('hash', `unknown transformation hash ${k.hash}`);
  return new Uint8Array(createHmac(h.digest, k.key).update(nqn, 'utf8').update('NVMe-over-Fabrics', 'latin1').digest());
}
