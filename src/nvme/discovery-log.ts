/**
 * Discovery Log Page (LID 70h): a 1024-byte header followed by 1024-byte entries
 * (NVMe base spec 2.0 "Discovery Log Page"; Linux struct nvmf_disc_rsp_page_hdr /
 * nvmf_disc_rsp_page_entry):
 *
 *   header: 0 GENCTR (u64)  8 NUMREC (u64)  16 RECFMT (u16)
 *   entry:  0 TRTYPE  1 ADRFAM  2 SUBTYPE  3 TREQ  4 PORTID (u16)  6 CNTLID (u16)
 *           8 ASQSZ (u16)  10 EFLAGS (u16)  32 TRSVCID (32, ASCII)  256 SUBNQN (256, UTF-8)
 *           512 TRADDR (256, ASCII)  768 TSAS (256; TCP: byte 0 SECTYPE; RDMA: QPTYPE, PRTYPE, CMS, PKEY@8)
 *
 * TRADDR/TRSVCID are space padded like SPDK does (libnvme trims trailing spaces
 * and NULs); SUBNQN is NUL padded.
 */

import { type FieldSpec, decodeFields, encodeFields } from './layout.js';
import { need, rd16, rd64, rd64n, wr16, wr64, wr64n } from './le.js';

export const DISC_LOG_HEADER_SIZE = 1024;
export const DISC_LOG_ENTRY_SIZE = 1024;

/** TRTYPE values. */
export const DiscTrType = {
  Rdma: 1,
  Fc: 2,
  Tcp: 3,
  Loop: 254,
} as const;

/** ADRFAM values. */
export const AdrFam = {
  Ipv4: 1,
  Ipv6: 2,
  Ib: 3,
  Fc: 4,
  IntraHost: 254,
} as const;

/** SUBTYPE values. */
export const DiscSubtype = {
  /** Referral to another discovery service. */
  Referral: 1,
  /** NVM subsystem (I/O controllers). */
  Nvme: 2,
  /** The discovery subsystem the host is talking to. */
  CurrentDiscovery: 3,
} as const;

/** TREQ bits. */
export const Treq = {
  SecureChannelNotSpecified: 0,
  SecureChannelRequired: 1,
  SecureChannelNotRequired: 2,
  /** SQ flow control disable supported. */
  DisableSqFlowControl: 1 << 2,
} as const;

/** EFLAGS bits. */
export const Eflags = {
  DuplicateReturnInfo: 1 << 0,
  ExplicitPersistentConnection: 1 << 1,
  NoCdcConnectivity: 1 << 2,
} as const;

/** TSAS SECTYPE for TCP. */
export const TcpSecType = {
  None: 0,
  Tls12: 1,
  Tls13: 2,
} as const;

/** One discovery log entry. `tsas` is the raw 256-byte transport specific area. */
export interface DiscoveryLogEntry {
  trtype: number;
  adrfam: number;
  subtype: number;
  treq: number;
  portid: number;
  /** 0xffff (dynamic controller model) for fabrics subsystems. */
  cntlid: number;
  /** Admin max SQ size, entries (not 0-based). */
  asqsz: number;
  eflags: number;
  trsvcid: string;
  subnqn: string;
  traddr: string;
  tsas: Uint8Array;
}

export const DISC_ENTRY_FIELDS: readonly FieldSpec<DiscoveryLogEntry>[] = [
  { name: 'trtype', off: 0, kind: 'u8' },
  { name: 'adrfam', off: 1, kind: 'u8' },
  { name: 'subtype', off: 2, kind: 'u8' },
  { name: 'treq', off: 3, kind: 'u8' },
  { name: 'portid', off: 4, kind: 'u16' },
  { name: 'cntlid', off: 6, kind: 'u16' },
  { name: 'asqsz', off: 8, kind: 'u16' },
  { name: 'eflags', off: 10, kind: 'u16' },
  { name: 'trsvcid', off: 32, kind: 'ascii', len: 32 },
  { name: 'subnqn', off: 256, kind: 'utf8', len: 256 },
  { name: 'traddr', off: 512, kind: 'ascii', len: 256 },
  { name: 'tsas', off: 768, kind: 'bytes', len: 256 },
];

/** TSAS for an NVMe/TCP entry with the given SECTYPE. */
export function tcpTsas(sectype: number = TcpSecType.None): Uint8Array {
  const t = new Uint8Array(256);
  t[0] = sectype & 0xff;
  return t;
}

/** Discovery log header + entries. */
export interface DiscoveryLog {
  genctr: bigint;
  /** Number of records the controller holds (may exceed the entries actually read). */
  numrec: number;
  recfmt: number;
  entries: DiscoveryLogEntry[];
}

/** Encode one entry into `b` at `o` (1024 bytes, zeroed first). */
export function encodeDiscoveryEntry(e: Partial<DiscoveryLogEntry>, b: Uint8Array, o = 0): Uint8Array {
  need(b, o, DISC_LOG_ENTRY_SIZE, 'Discovery log entry');
  b.fill(0, o, o + DISC_LOG_ENTRY_SIZE);
  encodeFields(b, o, DISC_ENTRY_FIELDS, e);
  return b;
}

/** Decode one entry. */
export function decodeDiscoveryEntry(b: Uint8Array, o = 0): DiscoveryLogEntry {
  need(b, o, DISC_LOG_ENTRY_SIZE, 'Discovery log entry');
  return decodeFields(b, o, DISC_ENTRY_FIELDS);
}

/** Encode the whole page: header + entries, (1 + n) × 1024 bytes. */
export function encodeDiscoveryLog(genctr: bigint | number, entries: readonly Partial<DiscoveryLogEntry>[], recfmt = 0): Uint8Array {
  const b = new Uint8Array(DISC_LOG_HEADER_SIZE + entries.length * DISC_LOG_ENTRY_SIZE);
  wr64n(b, 0, BigInt(genctr));
  wr64(b, 8, entries.length);
  wr16(b, 16, recfmt);
  entries.forEach((e, i) => encodeDiscoveryEntry(e, b, DISC_LOG_HEADER_SIZE + i * DISC_LOG_ENTRY_SIZE));
  return b;
}

/** Decode the header only (the host reads it first to learn NUMREC). */
export function decodeDiscoveryLogHeader(b: Uint8Array, o = 0): { genctr: bigint; numrec: number; recfmt: number } {
  need(b, o, 18, 'Discovery log header');
  return { genctr: rd64n(b, o), numrec: rd64(b, o + 8), recfmt: rd16(b, o + 16) };
}

/** Decode header and as many whole entries as `b` holds (at most NUMREC). */
export function decodeDiscoveryLog(b: Uint8Array, o = 0): DiscoveryLog {
  const h = decodeDiscoveryLogHeader(b, o);
  const avail = Math.max(0, Math.floor((b.length - o - DISC_LOG_HEADER_SIZE) / DISC_LOG_ENTRY_SIZE));
  const n = Math.min(h.numrec, avail);
  const entries: DiscoveryLogEntry[] = [];
  for (let i = 0; i < n; i++) entries.push(decodeDiscoveryEntry(b, o + DISC_LOG_HEADER_SIZE + i * DISC_LOG_ENTRY_SIZE));
  return { ...h, entries };
}
