/**
 * Dataset Management (I/O 0x09) command and range list (NVM command set spec):
 *   cdw10 NR 7:0 = number of ranges, 0-based (up to 256)
 *   cdw11 IDR bit 0, IDW bit 1, AD (deallocate) bit 2
 *   data: NR+1 ranges of 16 bytes { context attributes u32, length in LBAs u32 (a count, not 0-based), SLBA u64 }
 */

import { IoOpcode } from './opcodes.js';
import { encodeSqe, sqeCdw10, sqeCdw11 } from './sqe.js';
import { need, rd32, rd64, wr32, wr64 } from './le.js';

export const DSM_RANGE_SIZE = 16;
export const DSM_MAX_RANGES = 256;

/** DSM attribute bits (cdw11). */
export const DsmAttr = {
  IntegralDatasetRead: 1 << 0,
  IntegralDatasetWrite: 1 << 1,
  Deallocate: 1 << 2,
} as const;

/** One DSM range. */
export interface DsmRange {
  cattr: number;
  /** Length in logical blocks (a count). */
  nlb: number;
  slba: number;
}

/** Number of ranges (NR + 1) of a DSM SQE. */
export function dsmRangeCount(b: Uint8Array, o = 0): number {
  return (sqeCdw10(b, o) & 0xff) + 1;
}

/** Attribute bits (cdw11) of a DSM SQE. */
export function dsmAttributes(b: Uint8Array, o = 0): number {
  return sqeCdw11(b, o);
}

/** Data length of a DSM command in bytes. */
export function dsmDataLength(b: Uint8Array, o = 0): number {
  return dsmRangeCount(b, o) * DSM_RANGE_SIZE;
}

/** Read range `i` into a caller-owned object (no allocation on the I/O path). */
export function readDsmRange(data: Uint8Array, i: number, out: DsmRange): DsmRange {
  const at = i * DSM_RANGE_SIZE;
  out.cattr = rd32(data, at);
  out.nlb = rd32(data, at + 4);
  out.slba = rd64(data, at + 8);
  return out;
}

/** Decode `count` ranges from DSM data. */
export function decodeDsmRanges(data: Uint8Array, count: number): DsmRange[] {
  need(data, 0, count * DSM_RANGE_SIZE, 'DSM ranges');
  const out: DsmRange[] = [];
  for (let i = 0; i < count; i++) out.push(readDsmRange(data, i, { cattr: 0, nlb: 0, slba: 0 }));
  return out;
}

/** Encode ranges into a fresh buffer. */
export function encodeDsmRanges(ranges: readonly DsmRange[]): Uint8Array {
  if (ranges.length < 1 || ranges.length > DSM_MAX_RANGES) throw new RangeError(`DSM needs 1..256 ranges, got ${ranges.length}`);
  const b = new Uint8Array(ranges.length * DSM_RANGE_SIZE);
  ranges.forEach((r, i) => {
    const at = i * DSM_RANGE_SIZE;
    wr32(b, at, r.cattr);
    wr32(b, at + 4, r.nlb);
    wr64(b, at + 8, r.slba);
  });
  return b;
}

/** Build a DSM SQE for `ranges` ranges with attribute bits (e.g. DsmAttr.Deallocate). */
export function encodeDsmCommand(b: Uint8Array, cid: number, nsid: number, ranges: number, attrs: number, o = 0): Uint8Array {
  if (ranges < 1 || ranges > DSM_MAX_RANGES) throw new RangeError(`DSM needs 1..256 ranges, got ${ranges}`);
  return encodeSqe(b, { opcode: IoOpcode.DatasetManagement, cid, nsid, cdw10: ranges - 1, cdw11: attrs }, o);
}
