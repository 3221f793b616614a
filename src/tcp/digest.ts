/**
 * NVMe/TCP digests: CRC32C (Castagnoli), stored little-endian after the header
 * (HDGST) or after the data (DDGST). Same value the Linux crc32c shash produces.
 *
 * Headers are at most 128 bytes, so their digest is computed here in JS over
 * (buffer, offset, length): no subarray view per PDU and no native-call overhead.
 * Data digests go through the native `@node-rs/crc32` and can be chained over
 * several views by passing the previous result as `initial`.
 */

import { crc32c } from '@node-rs/crc32';
import { rd32, wr32 } from '../nvme/le.js';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C of b[off, off+len) in JS (meant for headers: short inputs). */
export function crc32cSmall(b: Uint8Array, off: number, len: number, initial = 0): number {
  let c = ~initial >>> 0;
  const end = off + len;
  for (let i = off; i < end; i++) c = TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC32C over a data view, continuing from `initial` (the previous result; 0 to start).
 * `crc32cData(b, crc32cData(a)) === crc32cData(concat(a, b))`.
 */
export function crc32cData(view: Uint8Array, initial = 0): number {
  return view.length === 0 ? initial : crc32c(view, initial);
}

/** Compute the header digest over b[off, off+hlen) and store it right after the header. */
export function writeHeaderDigest(b: Uint8Array, off: number, hlen: number): void {
  wr32(b, off + hlen, crc32cSmall(b, off, hlen));
}

/** True when the 4 bytes after the header match the header's CRC32C. */
export function headerDigestOk(b: Uint8Array, off: number, hlen: number): boolean {
  return rd32(b, off + hlen) === crc32cSmall(b, off, hlen);
}

/** Store a (data) digest value little-endian. */
export function writeDigest(b: Uint8Array, off: number, crc: number): void {
  wr32(b, off, crc);
}

/** Read a stored digest value. */
export function readDigest(b: Uint8Array, off: number): number {
  return rd32(b, off);
}
