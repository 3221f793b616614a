/**
 * Table-driven encode/decode of fixed-layout structures (identify pages, log
 * pages, discovery entries). Offsets live in one table per structure so a test
 * can check the table itself (no overlaps, inside the structure) and compare it
 * with the spec, and the encoder and decoder can never disagree.
 *
 * Not for the hot path: these allocate result objects.
 */

import {
  rd16, rd24, rd32, rd64, rd64n, rd128n, wr16, wr24, wr32, wr64, wr64n, wr128n,
  readAscii, writeAscii, readUtf8, writeUtf8, writeBytes,
} from './le.js';

/**
 * Field kinds:
 *  u8/u16/u24/u32   number
 *  u64              number (exact below 2^53)
 *  u64n / u128      bigint
 *  ascii            space-padded printable ASCII (SN, MN, FR, TRADDR, TRSVCID)
 *  utf8             NUL-padded UTF-8 (NQNs)
 *  bytes            raw Uint8Array of the field length (GUIDs, EUI64, vendor areas)
 */
export type FieldKind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'u64n' | 'u128' | 'ascii' | 'utf8' | 'bytes';

/** A field of some layout, whatever its structure type. */
export interface AnyField {
  readonly name: string;
  readonly off: number;
  readonly kind: FieldKind;
  /** Size in bytes; required for ascii/utf8/bytes, implied by the kind otherwise. */
  readonly len?: number;
}

/** One field of a layout for structure `T`: property name, byte offset, kind and (for strings/bytes) size. */
export interface FieldSpec<T> extends AnyField {
  readonly name: keyof T & string;
}

/** Byte size of a field. */
export function fieldSize(f: AnyField): number {
  switch (f.kind) {
    case 'u8':
      return 1;
    case 'u16':
      return 2;
    case 'u24':
      return 3;
    case 'u32':
      return 4;
    case 'u64':
    case 'u64n':
      return 8;
    case 'u128':
      return 16;
    default:
      if (f.len === undefined) throw new Error(`field ${f.name}: ${f.kind} needs a len`);
      return f.len;
  }
}

/** Value a missing field encodes as (and what decoding zeros yields). */
function zeroOf(f: AnyField): unknown {
  switch (f.kind) {
    case 'u64n':
    case 'u128':
      return 0n;
    case 'ascii':
    case 'utf8':
      return '';
    case 'bytes':
      return new Uint8Array(fieldSize(f));
    default:
      return 0;
  }
}

/** Write the fields of `v` present in `fields` into `b` at base offset `o` (absent → zero). */
export function encodeFields<T>(b: Uint8Array, o: number, fields: readonly FieldSpec<T>[], v: Partial<T>): void {
  for (const f of fields) {
    const raw = (v as Record<string, unknown>)[f.name];
    const x = raw === undefined ? zeroOf(f) : raw;
    const at = o + f.off;
    switch (f.kind) {
      case 'u8':
        b[at] = (x as number) & 0xff;
        break;
      case 'u16':
        wr16(b, at, x as number);
        break;
      case 'u24':
        wr24(b, at, x as number);
        break;
      case 'u32':
        wr32(b, at, x as number);
        break;
      case 'u64':
        wr64(b, at, x as number);
        break;
      case 'u64n':
        wr64n(b, at, x as bigint);
        break;
      case 'u128':
        wr128n(b, at, x as bigint);
        break;
      case 'ascii':
        writeAscii(b, at, fieldSize(f), x as string, 0x20);
        break;
      case 'utf8':
        writeUtf8(b, at, fieldSize(f), x as string);
        break;
      case 'bytes':
        writeBytes(b, at, fieldSize(f), x as Uint8Array);
        break;
    }
  }
}

/** Read every field in `fields` from `b` at base offset `o` into a fresh object. */
export function decodeFields<T>(b: Uint8Array, o: number, fields: readonly FieldSpec<T>[]): T {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const at = o + f.off;
    switch (f.kind) {
      case 'u8':
        out[f.name] = b[at]!;
        break;
      case 'u16':
        out[f.name] = rd16(b, at);
        break;
      case 'u24':
        out[f.name] = rd24(b, at);
        break;
      case 'u32':
        out[f.name] = rd32(b, at);
        break;
      case 'u64':
        out[f.name] = rd64(b, at);
        break;
      case 'u64n':
        out[f.name] = rd64n(b, at);
        break;
      case 'u128':
        out[f.name] = rd128n(b, at);
        break;
      case 'ascii':
        out[f.name] = readAscii(b, at, fieldSize(f));
        break;
      case 'utf8':
        out[f.name] = readUtf8(b, at, fieldSize(f));
        break;
      case 'bytes':
        out[f.name] = b.slice(at, at + fieldSize(f));
        break;
    }
  }
  return out as T;
}

/**
 * Check a layout table: every field inside `size` bytes and no two fields
 * overlapping. Returns a list of problems (empty when sound); used by tests.
 */
export function checkLayout(fields: readonly AnyField[], size: number): string[] {
  const problems: string[] = [];
  const sorted = [...fields].sort((a, b) => a.off - b.off);
  for (let i = 0; i < sorted.length; i++) {
    const f = sorted[i]!;
    const end = f.off + fieldSize(f);
    if (f.off < 0 || end > size) problems.push(`${f.name} [${f.off}, ${end}) outside ${size}`);
    const next = sorted[i + 1];
    if (next !== undefined && next.off < end) problems.push(`${f.name} [${f.off}, ${end}) overlaps ${next.name} @${next.off}`);
  }
  return problems;
}
