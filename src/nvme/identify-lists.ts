/**
 * Identify lists (4096 bytes each):
 *  - CNS 02h Active Namespace ID list: up to 1024 NSIDs greater than the command's
 *    NSID, ascending, zero terminated (a zero entry ends the list).
 *  - CNS 03h Namespace Identification Descriptor list: descriptors
 *    { NIDT u8, NIDL u8, reserved u16, NID[NIDL] }, terminated by NIDT 0.
 */

import { IDENTIFY_DATA_SIZE } from './identify.js';
import { need, rd32, wr32 } from './le.js';

/** Maximum NSIDs in one CNS 02h list. */
export const NS_LIST_MAX = 1024;

/**
 * Encode the active NSID list for an Identify with `afterNsid`: the (up to 1024)
 * smallest NSIDs greater than it, ascending, de-duplicated, into a fresh buffer.
 * NSID 0 and the broadcast values are never listed.
 */
export function encodeActiveNsList(nsids: Iterable<number>, afterNsid: number, into?: Uint8Array, o = 0): Uint8Array {
  const b = into ?? new Uint8Array(IDENTIFY_DATA_SIZE);
  need(b, o, IDENTIFY_DATA_SIZE, 'NS list');
  b.fill(0, o, o + IDENTIFY_DATA_SIZE);
  const after = afterNsid >>> 0;
  const picked = [...new Set(nsids)]
    .filter((n) => Number.isInteger(n) && n > after && n > 0 && n < 0xffff_fffe)
    .sort((x, y) => x - y)
    .slice(0, NS_LIST_MAX);
  picked.forEach((n, i) => wr32(b, o + i * 4, n));
  return b;
}

/** Decode a NSID list (CNS 02h and friends, Changed Namespace List): entries up to the first 0. */
export function decodeNsList(b: Uint8Array, o = 0, maxEntries = NS_LIST_MAX): number[] {
  const out: number[] = [];
  const n = Math.min(maxEntries, Math.floor((b.length - o) / 4));
  for (let i = 0; i < n; i++) {
    const v = rd32(b, o + i * 4);
    if (v === 0) break;
    out.push(v);
  }
  return out;
}

/** Namespace Identifier Types (NIDT) and their fixed lengths. */
export const Nidt = {
  Eui64: 0x01,
  Nguid: 0x02,
  Uuid: 0x03,
  Csi: 0x04,
} as const;
export type Nidt = (typeof Nidt)[keyof typeof Nidt];

/** NIDL each NIDT requires. */
export const NIDT_LENGTH: Readonly<Record<number, number>> = {
  [Nidt.Eui64]: 8,
  [Nidt.Nguid]: 16,
  [Nidt.Uuid]: 16,
  [Nidt.Csi]: 1,
};

/** One namespace identification descriptor. */
export interface NsIdDescriptor {
  nidt: number;
  nid: Uint8Array;
}

/** Encode a descriptor list into a fresh 4096-byte buffer; lengths are checked against NIDT. */
export function encodeNsDescList(descs: readonly NsIdDescriptor[], into?: Uint8Array, o = 0): Uint8Array {
  const b = into ?? new Uint8Array(IDENTIFY_DATA_SIZE);
  need(b, o, IDENTIFY_DATA_SIZE, 'NS descriptor list');
  b.fill(0, o, o + IDENTIFY_DATA_SIZE);
  let at = o;
  for (const d of descs) {
    const want = NIDT_LENGTH[d.nidt];
    if (want !== undefined && d.nid.length !== want) {
      throw new RangeError(`NIDT ${d.nidt} needs ${want} bytes, got ${d.nid.length}`);
    }
    if (d.nidt === 0 || d.nid.length === 0 || d.nid.length > 255) throw new RangeError(`bad descriptor NIDT ${d.nidt}`);
    // Keep room for the 4-byte terminator header.
    if (at + 4 + d.nid.length > o + IDENTIFY_DATA_SIZE - 4) throw new RangeError('descriptor list exceeds 4096 bytes');
    b[at] = d.nidt;
    b[at + 1] = d.nid.length;
    b.set(d.nid, at + 4);
    at += 4 + d.nid.length;
  }
  return b;
}

/** Decode a descriptor list; stops at NIDT 0 or a descriptor running past the end. */
export function decodeNsDescList(b: Uint8Array, o = 0): NsIdDescriptor[] {
  const out: NsIdDescriptor[] = [];
  const end = Math.min(b.length, o + IDENTIFY_DATA_SIZE);
  let at = o;
  while (at + 4 <= end) {
    const nidt = b[at]!;
    const nidl = b[at + 1]!;
    if (nidt === 0 || nidl === 0 || at + 4 + nidl > end) break;
    out.push({ nidt, nid: b.slice(at + 4, at + 4 + nidl) });
    at += 4 + nidl;
  }
  return out;
}
