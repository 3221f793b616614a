/**
 * NVMe/TCP TLS pre-shared keys (NVMe TCP transport spec, TP 8011 / TP 8018), derived as
 * libnvme does for `nvme gen-tls-key` / `nvme tls-key --import` and the kernel host then
 * presents through tlshd:
 *
 *   configured PSK   `NVMeTLSkey-1:HH:<base64(key || crc32 LE)>:`, HH 00 (no hash), 01 SHA-256, 02 SHA-384
 *   retained PSK     HH = 00: the configured key; else HKDF-Expand-Label(HKDF-Extract(0, key),
 *                    "HostNQN", NQNh, L) with the HH hash (libnvme derive_retained_key)
 *   PSK identity v0  "NVMe0R<cc> <NQNh> <NQNc>"
 *   PSK identity v1  "NVMe1R<cc> <NQNh> <NQNc> <digest>", digest = base64(HMAC(retained,
 *                    NQNh || " " || NQNc || " " || "NVMe-over-Fabrics"))
 *   TLS PSK          HKDF-Expand-Label(HKDF-Extract(0, retained), "nvme-tls-psk", context, L)
 *                    with context = the v0 identity, or "<cc> <digest>" for v1 (derive_tls_key)
 *
 * <cc> is the cipher suite's hash: 01 = SHA-256 (TLS_AES_128_GCM_SHA256), 02 = SHA-384
 * (TLS_AES_256_GCM_SHA384); HH if set, else from the key length (32 → 01, 48 → 02).
 *
 * Two HKDF info encodings exist in the field. libnvme up to at least 1.13 (nvme-cli 2.13,
 * Debian 13) writes info = le16(L) || "tls13 <label>" || context, without RFC 8446's
 * length prefixes ('libnvme-compat'; libnvme's derive_*_compat); newer libnvme and the
 * kernel use RFC 8446 HkdfLabel ('rfc8446'). A v1 identity carries the PSK digest, which
 * tells which one the host used; for a v0 identity nvmet-ts assumes 'libnvme-compat', what
 * the nvme-cli of current distributions derives (measured: a Debian 13 host's identity
 * digest matches only that encoding, see test/nvme/tls-psk.test.ts).
 */

import { createHmac, hkdfSync } from 'node:crypto';
import { crc32 } from '@node-rs/crc32';

export type TlsHash = 1 | 2;
const DIGEST: Record<TlsHash, 'sha256' | 'sha384'> = { 1: 'sha256', 2: 'sha384' };
const HASH_LEN: Record<TlsHash, 32 | 48> = { 1: 32, 2: 48 };

export class TlsPskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsPskError';
  }
}

export interface ConfiguredPsk {
  /** HH: 0 = no transformation, 1 = SHA-256, 2 = SHA-384. */
  hmac: 0 | TlsHash;
  key: Uint8Array;
}

const RE = /^NVMeTLSkey-1:([0-9]{2}):([A-Za-z0-9+/]+={0,2}):$/;

/** Parse the interchange form (messages never contain the key). */
export function parseTlsPsk(s: string): ConfiguredPsk {
  const m = RE.exec(s.trim());
  if (!m) throw new TlsPskError("TLS PSK is not of the form 'NVMeTLSkey-1:HH:<base64>:'");
  const hmac = Number(m[1]);
  if (hmac > 2) throw new TlsPskError(`TLS PSK hash ${m[1]} is not 00, 01 or 02`);
  const raw = Buffer.from(m[2]!, 'base64');
  const len = raw.length - 4;
  if (len !== 32 && len !== 48) throw new TlsPskError(`TLS PSK decodes to ${raw.length} bytes; 36 or 52 (key + CRC-32) expected`);
  if (hmac !== 0 && len !== HASH_LEN[hmac as TlsHash]) throw new TlsPskError(`TLS PSK hash ${m[1]} needs a ${HASH_LEN[hmac as TlsHash]}-byte key, got ${len}`);
  const key = new Uint8Array(raw.subarray(0, len));
  if (crc32(key) !== raw.readUInt32LE(len)) throw new TlsPskError('TLS PSK CRC-32 mismatch');
  return { hmac: hmac as ConfiguredPsk['hmac'], key };
}

export function formatTlsPsk(p: ConfiguredPsk): string {
  const out = Buffer.alloc(p.key.length + 4);
  out.set(p.key);
  out.writeUInt32LE(crc32(p.key), p.key.length);
  return `NVMeTLSkey-1:${String(p.hmac).padStart(2, '0')}:${out.toString('base64')}:`;
}

/** The cipher suite hash the PSK is used with (libnvme: hmac, else default_hmac(key_len)). */
export function pskCipher(p: ConfiguredPsk): TlsHash {
  if (p.hmac !== 0) return p.hmac;
  return p.key.length === 48 ? 2 : 1;
}

export type HkdfInfoEncoding = 'rfc8446' | 'libnvme-compat';

/** libnvme's compat info: le16(L) || "tls13 " label || context (no length prefixes). */
function compatInfo(label: string, context: string, len: number): Buffer {
  const b = Buffer.concat([Buffer.alloc(2), Buffer.from(`tls13 ${label}`, 'latin1'), Buffer.from(context, 'utf8')]);
  b.writeUInt16LE(len, 0);
  return b;
}

function info(enc: HkdfInfoEncoding, label: string, context: string, len: number): Buffer {
  return enc === 'rfc8446' ? hkdfLabel(label, context, len) : compatInfo(label, context, len);
}

/** RFC 8446 HkdfLabel: be16(L) || u8(len) "tls13 " label || u8(len) context. */
function hkdfLabel(label: string, context: string, len: number): Buffer {
  const l = Buffer.from(`tls13 ${label}`, 'latin1');
  const c = Buffer.from(context, 'utf8');
  if (l.length > 255 || c.length > 255) throw new TlsPskError('HKDF label or context longer than 255 bytes');
  const b = Buffer.alloc(2 + 1 + l.length + 1 + c.length);
  b.writeUInt16BE(len, 0);
  b[2] = l.length;
  l.copy(b, 3);
  b[3 + l.length] = c.length;
  c.copy(b, 4 + l.length);
  return b;
}

/** HKDF-Extract(0, ikm) then HKDF-Expand(info, L) (RFC 5869; what OpenSSL EXTRACT_AND_EXPAND does). */
function hkdf(hash: TlsHash, ikm: Uint8Array, info: Buffer, len: number): Uint8Array {
  return new Uint8Array(hkdfSync(DIGEST[hash], ikm, Buffer.alloc(0), info, len));
}

export function retainedPsk(p: ConfiguredPsk, hostnqn: string, enc: HkdfInfoEncoding = 'libnvme-compat'): Uint8Array {
  if (p.hmac === 0) return p.key;
  return hkdf(p.hmac, p.key, info(enc, 'HostNQN', hostnqn, p.key.length), p.key.length);
}

export function pskDigest(cipher: TlsHash, retained: Uint8Array, hostnqn: string, subnqn: string): string {
  return createHmac(DIGEST[cipher], retained).update(`${hostnqn} ${subnqn} NVMe-over-Fabrics`, 'utf8').digest('base64');
}

export interface PskIdentity {
  version: 0 | 1;
  cipher: TlsHash;
  /** 'R' retained (configured) or 'G' generated (secure channel concatenation). */
  kind: 'R' | 'G';
  hostnqn: string;
  subnqn: string;
  digest?: string;
}

export function formatPskIdentity(i: PskIdentity): string {
  const head = `NVMe${i.version}${i.kind}${String(i.cipher).padStart(2, '0')} ${i.hostnqn} ${i.subnqn}`;
  return i.version === 1 ? `${head} ${i.digest ?? ''}` : head;
}

/** Parse an identity a host presents; undefined when it is not an NVMe PSK identity. */
export function parsePskIdentity(s: string): PskIdentity | undefined {
  const m = /^NVMe([01])([RG])(0[12]) (\S+) (\S+)(?: (\S+))?$/.exec(s);
  if (!m) return undefined;
  const version = Number(m[1]) as 0 | 1;
  if ((version === 1) !== (m[6] !== undefined)) return undefined;
  const id: PskIdentity = { version, kind: m[2] as 'R' | 'G', cipher: Number(m[3]) as TlsHash, hostnqn: m[4]!, subnqn: m[5]! };
  if (m[6] !== undefined) id.digest = m[6];
  return id;
}

/**
 * The TLS PSK for `identity` from the host's configured key (libnvme derive_nvme_keys).
 * v1: the encoding whose digest matches the identity's; v0: `enc` (default libnvme-compat).
 */
export function tlsPsk(p: ConfiguredPsk, identity: PskIdentity, enc: HkdfInfoEncoding = 'libnvme-compat'): Uint8Array {
  const cipher = pskCipher(p);
  if (identity.cipher !== cipher) throw new TlsPskError(`identity asks for hash ${identity.cipher}, the configured key is for ${cipher}`);
  const len = p.key.length;
  if (identity.version === 0) {
    const retained = retainedPsk(p, identity.hostnqn, enc);
    return hkdf(cipher, retained, info(enc, 'nvme-tls-psk', formatPskIdentity(identity), len), len);
  }
  for (const e of [enc, enc === 'rfc8446' ? 'libnvme-compat' : 'rfc8446'] as const) {
    const retained = retainedPsk(p, identity.hostnqn, e);
    const digest = pskDigest(cipher, retained, identity.hostnqn, identity.subnqn);
    if (identity.digest !== digest) continue;
    return hkdf(cipher, retained, info(e, 'nvme-tls-psk', `${String(cipher).padStart(2, '0')} ${digest}`, len), len);
  }
  throw new TlsPskError('PSK identity digest does not match the configured key (neither HKDF encoding)');
}

/** The identity a host would present for its configured key (v1 carries the digest). */
export function hostPskIdentity(p: ConfiguredPsk, hostnqn: string, subnqn: string, version: 0 | 1, enc: HkdfInfoEncoding = 'libnvme-compat'): PskIdentity {
  const cipher = pskCipher(p);
  const id: PskIdentity = { version, kind: 'R', cipher, hostnqn, subnqn };
  if (version === 1) id.digest = pskDigest(cipher, retainedPsk(p, hostnqn, enc), hostnqn, subnqn);
  return id;
}
