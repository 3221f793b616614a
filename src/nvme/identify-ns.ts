/**
 * Identify Namespace data structure (CNS 00h), 4096 bytes (NVM command set spec
 * "Identify Namespace Data Structure"). LBA formats are 4 bytes each at 128
 * (MS u16, LBADS u8 = log2 of the LBA size, RP bits 1:0), up to 64 of them.
 */

import { IDENTIFY_DATA_SIZE } from './identify.js';
import { type FieldSpec, decodeFields, encodeFields } from './layout.js';
import { need, rd16, wr16 } from './le.js';

/** One LBA format. */
export interface LbaFormat {
  /** Metadata bytes per LBA. */
  ms: number;
  /** log2 of the LBA data size (9 = 512, 12 = 4096). */
  lbads: number;
  /** Relative performance (0 best .. 3 degraded). */
  rp: number;
}

export const LBAF_OFFSET = 128;
export const LBAF_SIZE = 4;
export const LBAF_MAX = 64;
export const ID_NS_VS_OFFSET = 384;

/** Identify Namespace fields. */
export interface IdentifyNamespace {
  /** Namespace size in LBAs. */
  nsze: bigint;
  /** Namespace capacity in LBAs. */
  ncap: bigint;
  /** Namespace utilization in LBAs. */
  nuse: bigint;
  nsfeat: number;
  /** Number of LBA formats, 0-based. */
  nlbaf: number;
  /** Formatted LBA size: bits 3:0 + 6:5 format index, bit 4 extended metadata. */
  flbas: number;
  mc: number;
  dpc: number;
  dps: number;
  /** Multi-path I/O and namespace sharing: bit 0 may be shared. */
  nmic: number;
  rescap: number;
  fpi: number;
  /** Deallocate logical block features: bits 2:0 read value after deallocate (1 = zeroes). */
  dlfeat: number;
  nawun: number;
  nawupf: number;
  nacwu: number;
  nabsn: number;
  nabo: number;
  nabspf: number;
  noiob: number;
  nvmcap: bigint;
  npwg: number;
  npwa: number;
  npdg: number;
  npda: number;
  nows: number;
  mssrl: number;
  mcl: number;
  msrc: number;
  nulbaf: number;
  anagrpid: number;
  nsattr: number;
  nvmsetid: number;
  endgid: number;
  /** 16-byte namespace globally unique identifier. */
  nguid: Uint8Array;
  /** 8-byte IEEE extended unique identifier. */
  eui64: Uint8Array;
  /** LBA formats; decode returns nlbaf + 1 of them. */
  lbaf: LbaFormat[];
  /** Vendor specific area (3712 bytes at 384). */
  vs: Uint8Array;
}

export const ID_NS_FIELDS: readonly FieldSpec<IdentifyNamespace>[] = [
  { name: 'nsze', off: 0, kind: 'u64n' },
  { name: 'ncap', off: 8, kind: 'u64n' },
  { name: 'nuse', off: 16, kind: 'u64n' },
  { name: 'nsfeat', off: 24, kind: 'u8' },
  { name: 'nlbaf', off: 25, kind: 'u8' },
  { name: 'flbas', off: 26, kind: 'u8' },
  { name: 'mc', off: 27, kind: 'u8' },
  { name: 'dpc', off: 28, kind: 'u8' },
  { name: 'dps', off: 29, kind: 'u8' },
  { name: 'nmic', off: 30, kind: 'u8' },
  { name: 'rescap', off: 31, kind: 'u8' },
  { name: 'fpi', off: 32, kind: 'u8' },
  { name: 'dlfeat', off: 33, kind: 'u8' },
  { name: 'nawun', off: 34, kind: 'u16' },
  { name: 'nawupf', off: 36, kind: 'u16' },
  { name: 'nacwu', off: 38, kind: 'u16' },
  { name: 'nabsn', off: 40, kind: 'u16' },
  { name: 'nabo', off: 42, kind: 'u16' },
  { name: 'nabspf', off: 44, kind: 'u16' },
  { name: 'noiob', off: 46, kind: 'u16' },
  { name: 'nvmcap', off: 48, kind: 'u128' },
  { name: 'npwg', off: 64, kind: 'u16' },
  { name: 'npwa', off: 66, kind: 'u16' },
  { name: 'npdg', off: 68, kind: 'u16' },
  { name: 'npda', off: 70, kind: 'u16' },
  { name: 'nows', off: 72, kind: 'u16' },
  { name: 'mssrl', off: 74, kind: 'u16' },
  { name: 'mcl', off: 76, kind: 'u32' },
  { name: 'msrc', off: 80, kind: 'u8' },
  { name: 'nulbaf', off: 82, kind: 'u8' },
  { name: 'anagrpid', off: 92, kind: 'u32' },
  { name: 'nsattr', off: 99, kind: 'u8' },
  { name: 'nvmsetid', off: 100, kind: 'u16' },
  { name: 'endgid', off: 102, kind: 'u16' },
  { name: 'nguid', off: 104, kind: 'bytes', len: 16 },
  { name: 'eui64', off: 120, kind: 'bytes', len: 8 },
  { name: 'vs', off: ID_NS_VS_OFFSET, kind: 'bytes', len: IDENTIFY_DATA_SIZE - ID_NS_VS_OFFSET },
];

/** NSFEAT bits. */
export const Nsfeat = {
  ThinProvisioning: 1 << 0,
  /** NAWUN/NAWUPF/NACWU are valid. */
  NsAtomics: 1 << 1,
  DeallocatedErrors: 1 << 2,
  /** NGUID/EUI64 never reused. */
  UidReuse: 1 << 3,
  /** NPWG..NOWS valid. */
  OptPerf: 1 << 4,
} as const;

/** NMIC bits. */
export const Nmic = {
  Shared: 1 << 0,
} as const;

/** FLBAS bit 4: metadata transferred at the end of the data LBA (extended). */
export const FLBAS_EXTENDED_METADATA = 1 << 4;

/** LBA format index selected by FLBAS (bits 3:0 low, 6:5 high). */
export function flbasIndex(flbas: number): number {
  return (flbas & 0xf) | ((flbas >>> 5) & 3) << 4;
}

/** FLBAS value selecting format `index` (0..63). */
export function makeFlbas(index: number, extendedMetadata = false): number {
  return (index & 0xf) | (((index >>> 4) & 3) << 5) | (extendedMetadata ? FLBAS_EXTENDED_METADATA : 0);
}

/** LBA size in bytes of the active format of a decoded namespace. */
export function activeLbaSize(ns: Pick<IdentifyNamespace, 'flbas' | 'lbaf'>): number {
  const f = ns.lbaf[flbasIndex(ns.flbas)];
  if (f === undefined) throw new RangeError(`FLBAS selects format ${flbasIndex(ns.flbas)}, not reported`);
  return 2 ** f.lbads;
}

/** Encode Identify Namespace into a fresh 4096-byte buffer (or `into` at `o`). */
export function encodeIdentifyNamespace(ns: Partial<IdentifyNamespace>, into?: Uint8Array, o = 0): Uint8Array {
  const b = into ?? new Uint8Array(IDENTIFY_DATA_SIZE);
  need(b, o, IDENTIFY_DATA_SIZE, 'Identify Namespace');
  b.fill(0, o, o + IDENTIFY_DATA_SIZE);
  encodeFields(b, o, ID_NS_FIELDS, ns);
  const lbaf = ns.lbaf ?? [];
  if (lbaf.length > LBAF_MAX) throw new RangeError(`at most ${LBAF_MAX} LBA formats, got ${lbaf.length}`);
  lbaf.forEach((f, i) => {
    const at = o + LBAF_OFFSET + i * LBAF_SIZE;
    wr16(b, at, f.ms);
    b[at + 2] = f.lbads & 0xff;
    b[at + 3] = f.rp & 3;
  });
  return b;
}

/** Decode Identify Namespace (returns nlbaf + 1 LBA formats). */
export function decodeIdentifyNamespace(b: Uint8Array, o = 0): IdentifyNamespace {
  need(b, o, IDENTIFY_DATA_SIZE, 'Identify Namespace');
  const ns = decodeFields(b, o, ID_NS_FIELDS);
  ns.lbaf = [];
  for (let i = 0; i <= ns.nlbaf && i < LBAF_MAX; i++) {
    const at = o + LBAF_OFFSET + i * LBAF_SIZE;
    ns.lbaf.push({ ms: rd16(b, at), lbads: b[at + 2]!, rp: b[at + 3]! & 3 });
  }
  return ns;
}
