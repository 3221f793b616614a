/** Test helper: bytes from a hex string with arbitrary whitespace, and back. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0) throw new Error('odd hex length');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

import fc from 'fast-check';

/** Arbitrary unsigned integer of `bits` bits as a bigint (fast-check 4 dropped bigUintN). */
export function bigUint(bits: number): fc.Arbitrary<bigint> {
  return fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
}

import type { AnyField } from '../../src/nvme/layout.js';

/**
 * Arbitrary record for a layout table: numbers in range for each kind, printable
 * ASCII without trailing spaces (those are padding), UTF-8 NQN-ish strings, and
 * random bytes.
 */
export function arbForFields(fields: readonly AnyField[]): fc.Arbitrary<Record<string, unknown>> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    switch (f.kind) {
      case 'u8': rec[f.name] = fc.integer({ min: 0, max: 0xff }); break;
      case 'u16': rec[f.name] = fc.integer({ min: 0, max: 0xffff }); break;
      case 'u24': rec[f.name] = fc.integer({ min: 0, max: 0xff_ffff }); break;
      case 'u32': rec[f.name] = fc.integer({ min: 0, max: 0xffff_ffff }); break;
      case 'u64': rec[f.name] = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }); break;
      case 'u64n': rec[f.name] = bigUint(64); break;
      case 'u128': rec[f.name] = bigUint(128); break;
      case 'ascii':
        rec[f.name] = fc
          .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: f.len! })
          .map((s) => s.replace(/ +$/, ''));
        break;
      case 'utf8':
        rec[f.name] = fc
          .string({ unit: fc.constantFrom('a', 'z', '.', ':', '-', '0', 'é'), maxLength: Math.floor(f.len! / 2) });
        break;
      case 'bytes': rec[f.name] = fc.uint8Array({ minLength: f.len!, maxLength: f.len! }); break;
    }
  }
  return fc.record(rec).map((r) => ({ ...r }));
}
