/**
 * NVMe/TCP TLS PSK handling. The interchange vector is libnvme's test/psk.c (the NVMe
 * TCP transport spec's example key); the derived values were computed with Python's
 * hmac/hashlib from libnvme's derive_retained_key / derive_psk_digest / derive_tls_key
 * (RFC 5869 HKDF with RFC 8446 HkdfLabel), independently of this implementation.
 */
import { describe, expect, it } from 'vitest';
import {
  formatPskIdentity,
  formatTlsPsk,
  hostPskIdentity,
  parsePskIdentity,
  parseTlsPsk,
  pskCipher,
  retainedPsk,
  tlsPsk,
  TlsPskError,
} from '../../src/nvme/tls/psk.js';
import { toHex } from './hex.js';

const SPEC = 'NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:';
const HOST = 'nqn.2014-08.org.nvmexpress:uuid:0f0e0d0c-0b0a-0908-0706-050403020100';
const SUB = 'nqn.2024-01.io.nvmet-ts:tls-vector';

describe('TLS PSK interchange format', () => {
  it('parses the spec example (libnvme test/psk.c) and writes it back', () => {
    const p = parseTlsPsk(SPEC);
    expect(p.hmac).toBe(1);
    expect(toHex(p.key)).toBe('5512dbb6737d0106f65975b773dfb011ffc344bcf442e2dd6d8bc4870b5d5b03');
    expect(formatTlsPsk(p)).toBe(SPEC);
    expect(pskCipher(p)).toBe(1);
  });
  it.each([
    ['NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrY:', /CRC/],
    ['NVMeTLSkey-1:03:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:', /00, 01 or 02/],
    ['NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:', /48-byte/],
    ['DHHC-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:', /form/],
  ])('refuses %s', (s, msg) => {
    expect(() => parseTlsPsk(s)).toThrow(TlsPskError);
    expect(() => parseTlsPsk(s)).toThrow(msg);
  });
});

describe('derivations, RFC 8446 HkdfLabel (newer libnvme, derive_nvme_keys)', () => {
  const p = parseTlsPsk(SPEC);
  it('retained PSK', () => {
    expect(toHex(retainedPsk(p, HOST, 'rfc8446'))).toBe('49d23f5b6ac1bdf3a0ca92c6e5c839084a484e543f8f05324dd8e7046972163f');
  });
  it('identity v0 and its TLS PSK', () => {
    const id = hostPskIdentity(p, HOST, SUB, 0, 'rfc8446');
    expect(formatPskIdentity(id)).toBe(`NVMe0R01 ${HOST} ${SUB}`);
    expect(toHex(tlsPsk(p, id, 'rfc8446'))).toBe('a3c4af598d284b1b0bf6336e6eb6ba376bef241da00301746616583dec48ffb8');
  });
  it('identity v1 (with the PSK digest) and its TLS PSK; the digest selects the encoding', () => {
    const id = hostPskIdentity(p, HOST, SUB, 1, 'rfc8446');
    expect(formatPskIdentity(id)).toBe(`NVMe1R01 ${HOST} ${SUB} y/Uui/y4Z+Ndgy62/e2k7nPG0FkxTiMcWhll3bH2jjY=`);
    expect(toHex(tlsPsk(p, parsePskIdentity(formatPskIdentity(id))!))).toBe('00bbb2ff70509e9f3bcace07a8fd25f51b667a1bd6e813984f9b22fdd3712328');
  });
  it('HH 00: the configured key is the retained key', () => {
    const p0 = { hmac: 0 as const, key: p.key };
    expect(toHex(tlsPsk(p0, hostPskIdentity(p0, HOST, SUB, 0), 'rfc8446'))).toBe('212c536aaea74d5c80344eb26bcb923514aff3530ef672357655b618b11e294b');
  });
});

describe('derivations, libnvme compat encoding (nvme-cli 2.13 / Debian 13)', () => {
  // The identity a real Debian 13 host (kernel 6.12, nvme-cli 2.13, tlshd) presented for the
  // spec key after `nvme connect --tls --tls-key=<key>` (test/interop/secure run).
  const H = 'nqn.2014-08.org.nvmexpress:uuid:d0000000-0000-4000-8000-00000000000d';
  const S = 'nqn.2024-01.io.nvmet-ts:secure';
  const SEEN = `NVMe1R01 ${H} ${S} UkaLqra6zygh9Un/2jBD5ZXaoBUYOcHf+o2luswEdqA=`;
  const p = parseTlsPsk(SPEC);
  it('retained PSK and the digest the host presented', () => {
    expect(toHex(retainedPsk(p, H, 'libnvme-compat'))).toBe('4cdf392584013e4e15003283bbe0a54433a8802ee367d7ee0f41f0446cd17a3e');
    expect(formatPskIdentity(hostPskIdentity(p, H, S, 1))).toBe(SEEN);
  });
  it('TLS PSKs for v1 and v0', () => {
    expect(toHex(tlsPsk(p, parsePskIdentity(SEEN)!))).toBe('b1e4a4168fddd11c2fc2bf257404ee6860e7f51fe98af476ac0fa53429db5cd9');
    expect(toHex(tlsPsk(p, hostPskIdentity(p, H, S, 0)))).toBe('503915f51390b1cffdf9479c216fc032de68d1aaa3937be28ac124b6bf9206cb');
  });
  it('a v1 identity whose digest does not match the key is refused', () => {
    const id = hostPskIdentity(p, HOST, SUB, 1);
    expect(() => tlsPsk(p, { ...id, digest: 'AAAA' })).toThrow(/digest/);
  });
  it.each(['NVMe0R01 a', 'NVMe2R01 a b', 'NVMe0R03 a b', 'NVMe1R01 a b', 'NVMe0R01 a b c', 'nvme0R01 a b'])('not an NVMe identity: %s', (s) => {
    expect(parsePskIdentity(s)).toBeUndefined();
  });
});
