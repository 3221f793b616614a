/**
 * Little-endian field access on plain Uint8Arrays (NVMe structures are all LE).
 *
 * Why not DataView: a DataView per SQE/CQE is an allocation on the hot path, and
 * Buffer-only methods would exclude plain Uint8Array views handed over by transports.
 * 64-bit values come in two flavours: `number` (exact up to 2^53, enough for LBAs,
 * byte offsets and counters in practice) and `bigint` (exact, for CAP and 128-bit counters).
 */

const TWO32 = 0x1_0000_0000;

/** Read an unsigned 16-bit LE value. */
export function rd16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

/** Read an unsigned 24-bit LE value. */
export function rd24(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
}

/** Read an unsigned 32-bit LE value. */
export function rd32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Read an unsigned 64-bit LE value as a number (exact below 2^53). */
export function rd64(b: Uint8Array, o: number): number {
  return rd32(b, o) + rd32(b, o + 4) * TWO32;
}

/** Read an unsigned 64-bit LE value as a bigint (exact). */
export function rd64n(b: Uint8Array, o: number): bigint {
  return (BigInt(rd32(b, o + 4)) << 32n) | BigInt(rd32(b, o));
}

/** Read an unsigned 128-bit LE value as a bigint (SMART counters). */
export function rd128n(b: Uint8Array, o: number): bigint {
  return (rd64n(b, o + 8) << 64n) | rd64n(b, o);
}

/** Write an unsigned 16-bit LE value (low 16 bits of v). */
export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

/** Write an unsigned 24-bit LE value (low 24 bits of v). */
export function wr24(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
}

/** Write an unsigned 32-bit LE value (low 32 bits of v). */
export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** Write an unsigned 64-bit LE value from a non-negative safe integer. */
export function wr64(b: Uint8Array, o: number, v: number): void {
  const lo = v % TWO32;
  wr32(b, o, lo);
  wr32(b, o + 4, (v - lo) / TWO32);
}

/** Write an unsigned 64-bit LE value from a bigint (taken modulo 2^64). */
export function wr64n(b: Uint8Array, o: number, v: bigint): void {
  const x = BigInt.asUintN(64, v);
  wr32(b, o, Number(x & 0xffff_ffffn));
  wr32(b, o + 4, Number(x >> 32n));
}

/** Write an unsigned 128-bit LE value from a bigint (taken modulo 2^128). */
export function wr128n(b: Uint8Array, o: number, v: bigint): void {
  const x = BigInt.asUintN(128, v);
  wr64n(b, o, x & 0xffff_ffff_ffff_ffffn);
  wr64n(b, o + 8, x >> 64n);
}

/**
 * Write an ASCII string into a fixed-size field, padded with `pad` (0x20 for
 * identify SN/MN/FR and discovery TRADDR/TRSVCID, 0x00 for NQNs). Characters
 * outside printable ASCII become '?' so a field never carries raw UTF-16 garbage.
 * Throws RangeError if the string does not fit.
 */
export function writeAscii(b: Uint8Array, o: number, len: number, s: string, pad: number): void {
  if (s.length > len) throw new RangeError(`string of ${s.length} chars does not fit a ${len}-byte field`);
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    b[o + i] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  b.fill(pad, o + i, o + len);
}

/**
 * Read a fixed-size ASCII field, stopping at the first NUL and stripping
 * trailing spaces (accepts both space- and NUL-padded producers).
 */
export function readAscii(b: Uint8Array, o: number, len: number): string {
  let end = o;
  const lim = o + len;
  while (end < lim && b[end] !== 0) end++;
  while (end > o && b[end - 1] === 0x20) end--;
  let s = '';
  for (let i = o; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/**
 * Write a UTF-8 string (NQNs may be UTF-8 per spec) NUL-padded into a fixed field.
 * Throws RangeError if the encoded bytes do not fit.
 */
export function writeUtf8(b: Uint8Array, o: number, len: number, s: string): void {
  const enc = new TextEncoder().encode(s);
  if (enc.length > len) throw new RangeError(`string of ${enc.length} bytes does not fit a ${len}-byte field`);
  b.set(enc, o);
  b.fill(0, o + enc.length, o + len);
}

/** Read a NUL-terminated (or field-filling) UTF-8 string from a fixed field. */
export function readUtf8(b: Uint8Array, o: number, len: number): string {
  let end = o;
  const lim = o + len;
  while (end < lim && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(o, end));
}

/** Copy `n` bytes from `src` (or zeros if shorter/absent) into `b` at `o`. */
export function writeBytes(b: Uint8Array, o: number, n: number, src: Uint8Array | undefined): void {
  if (src === undefined) {
    b.fill(0, o, o + n);
    return;
  }
  if (src.length > n) throw new RangeError(`${src.length} bytes do not fit a ${n}-byte field`);
  b.set(src, o);
  b.fill(0, o + src.length, o + n);
}

/** Copy `n` bytes out of `b` at `o` into a fresh Uint8Array. */
export function readBytes(b: Uint8Array, o: number, n: number): Uint8Array {
  return b.slice(o, o + n);
}

/** Throw RangeError unless `b` has at least `need` bytes from `o`. */
export function need(b: Uint8Array, o: number, len: number, what: string): void {
  if (o < 0 || b.length - o < len) {
    throw new RangeError(`${what}: need ${len} bytes at offset ${o}, buffer has ${b.length}`);
  }
}
