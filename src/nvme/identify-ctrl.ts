/**
 * Identify Controller data structure (CNS 01h), 4096 bytes (NVMe base spec 2.0
 * fig. "Identify Controller Data Structure"; fabrics fields at 1792..1806).
 *
 * `encodeIdentifyController` takes only the fields a caller cares about; the
 * rest stay zero. SN/MN/FR are space padded ASCII, SUBNQN NUL padded UTF-8.
 */

import { IDENTIFY_DATA_SIZE } from './identify.js';
import { type FieldSpec, decodeFields, encodeFields } from './layout.js';
import { need } from './le.js';

/** Power State Descriptor (32 bytes each, 32 of them at offset 2048). */
export interface PowerStateDescriptor {
  /** Maximum power, in 0.01 W (or 0.0001 W when flags bit 0 MXPS is set). */
  mp: number;
  /** Bit 0 MXPS (max power scale), bit 1 NOPS (non-operational state). */
  flags: number;
  /** Entry latency, µs. */
  enlat: number;
  /** Exit latency, µs. */
  exlat: number;
  rrt: number;
  rrl: number;
  rwt: number;
  rwl: number;
  idlp: number;
  /** Idle power scale (bits 7:6). */
  ips: number;
  actp: number;
  /** Active power workload (bits 2:0) and scale (bits 7:6). */
  apwAps: number;
}

export const PSD_SIZE = 32;
export const PSD_OFFSET = 2048;
export const PSD_COUNT = 32;
export const VS_OFFSET = 3072;
export const VS_SIZE = 1024;

const PSD_FIELDS: readonly FieldSpec<PowerStateDescriptor>[] = [
  { name: 'mp', off: 0, kind: 'u16' },
  { name: 'flags', off: 3, kind: 'u8' },
  { name: 'enlat', off: 4, kind: 'u32' },
  { name: 'exlat', off: 8, kind: 'u32' },
  { name: 'rrt', off: 12, kind: 'u8' },
  { name: 'rrl', off: 13, kind: 'u8' },
  { name: 'rwt', off: 14, kind: 'u8' },
  { name: 'rwl', off: 15, kind: 'u8' },
  { name: 'idlp', off: 16, kind: 'u16' },
  { name: 'ips', off: 18, kind: 'u8' },
  { name: 'actp', off: 20, kind: 'u16' },
  { name: 'apwAps', off: 22, kind: 'u8' },
];

/** Identify Controller fields (names as in the spec, lowercased). */
export interface IdentifyController {
  vid: number;
  ssvid: number;
  sn: string;
  mn: string;
  fr: string;
  rab: number;
  /** IEEE OUI, 24 bits, stored least significant byte first. */
  ieee: number;
  cmic: number;
  /** Maximum data transfer size, 2^mdts units of CAP.MPSMIN (0 = no limit). */
  mdts: number;
  cntlid: number;
  ver: number;
  rtd3r: number;
  rtd3e: number;
  oaes: number;
  ctratt: number;
  rrls: number;
  cntrltype: number;
  fguid: Uint8Array;
  crdt1: number;
  crdt2: number;
  crdt3: number;
  nvmsr: number;
  vwci: number;
  mec: number;
  oacs: number;
  acl: number;
  aerl: number;
  frmw: number;
  lpa: number;
  elpe: number;
  npss: number;
  avscc: number;
  apsta: number;
  wctemp: number;
  cctemp: number;
  mtfa: number;
  hmpre: number;
  hmmin: number;
  tnvmcap: bigint;
  unvmcap: bigint;
  rpmbs: number;
  edstt: number;
  dsto: number;
  fwug: number;
  /** Keep alive granularity, 100 ms units. */
  kas: number;
  hctma: number;
  mntmt: number;
  mxtmt: number;
  sanicap: number;
  hmminds: number;
  hmmaxd: number;
  nsetidmax: number;
  endgidmax: number;
  anatt: number;
  anacap: number;
  anagrpmax: number;
  nanagrpid: number;
  pels: number;
  domainid: number;
  megcap: bigint;
  /** Bits 3:0 required, 7:4 maximum SQ entry size (log2); 0x66 for 64 bytes. */
  sqes: number;
  /** Bits 3:0 required, 7:4 maximum CQ entry size (log2); 0x44 for 16 bytes. */
  cqes: number;
  maxcmd: number;
  nn: number;
  oncs: number;
  fuses: number;
  fna: number;
  vwc: number;
  awun: number;
  awupf: number;
  icsvscc: number;
  nwpc: number;
  acwu: number;
  ocfs: number;
  sgls: number;
  mnan: number;
  maxdna: bigint;
  maxcna: number;
  subnqn: string;
  /** I/O queue command capsule size, 16-byte units (fabrics). */
  ioccsz: number;
  /** I/O queue response capsule size, 16-byte units (fabrics). */
  iorcsz: number;
  /** In-capsule data offset, 16-byte units (fabrics). */
  icdoff: number;
  /** Fabrics controller attributes: bit 0 static controller model. */
  fcatt: number;
  /** Maximum SGL data block descriptors per command (0 = no limit). */
  msdbd: number;
  /** Optional fabrics commands supported: bit 0 Disconnect. */
  ofcs: number;
  /** Discovery controller type (Dctype). */
  dctype: number;
  /** Power state descriptors; decode returns npss + 1 of them. */
  psd: PowerStateDescriptor[];
  /** Vendor specific area (1024 bytes). */
  vs: Uint8Array;
}

/** Byte offsets and kinds of every scalar/string field. */
export const ID_CTRL_FIELDS: readonly FieldSpec<IdentifyController>[] = [
  { name: 'vid', off: 0, kind: 'u16' },
  { name: 'ssvid', off: 2, kind: 'u16' },
  { name: 'sn', off: 4, kind: 'ascii', len: 20 },
  { name: 'mn', off: 24, kind: 'ascii', len: 40 },
  { name: 'fr', off: 64, kind: 'ascii', len: 8 },
  { name: 'rab', off: 72, kind: 'u8' },
  { name: 'ieee', off: 73, kind: 'u24' },
  { name: 'cmic', off: 76, kind: 'u8' },
  { name: 'mdts', off: 77, kind: 'u8' },
  { name: 'cntlid', off: 78, kind: 'u16' },
  { name: 'ver', off: 80, kind: 'u32' },
  { name: 'rtd3r', off: 84, kind: 'u32' },
  { name: 'rtd3e', off: 88, kind: 'u32' },
  { name: 'oaes', off: 92, kind: 'u32' },
  { name: 'ctratt', off: 96, kind: 'u32' },
  { name: 'rrls', off: 100, kind: 'u16' },
  { name: 'cntrltype', off: 111, kind: 'u8' },
  { name: 'fguid', off: 112, kind: 'bytes', len: 16 },
  { name: 'crdt1', off: 128, kind: 'u16' },
  { name: 'crdt2', off: 130, kind: 'u16' },
  { name: 'crdt3', off: 132, kind: 'u16' },
  { name: 'nvmsr', off: 253, kind: 'u8' },
  { name: 'vwci', off: 254, kind: 'u8' },
  { name: 'mec', off: 255, kind: 'u8' },
  { name: 'oacs', off: 256, kind: 'u16' },
  { name: 'acl', off: 258, kind: 'u8' },
  { name: 'aerl', off: 259, kind: 'u8' },
  { name: 'frmw', off: 260, kind: 'u8' },
  { name: 'lpa', off: 261, kind: 'u8' },
  { name: 'elpe', off: 262, kind: 'u8' },
  { name: 'npss', off: 263, kind: 'u8' },
  { name: 'avscc', off: 264, kind: 'u8' },
  { name: 'apsta', off: 265, kind: 'u8' },
  { name: 'wctemp', off: 266, kind: 'u16' },
  { name: 'cctemp', off: 268, kind: 'u16' },
  { name: 'mtfa', off: 270, kind: 'u16' },
  { name: 'hmpre', off: 272, kind: 'u32' },
  { name: 'hmmin', off: 276, kind: 'u32' },
  { name: 'tnvmcap', off: 280, kind: 'u128' },
  { name: 'unvmcap', off: 296, kind: 'u128' },
  { name: 'rpmbs', off: 312, kind: 'u32' },
  { name: 'edstt', off: 316, kind: 'u16' },
  { name: 'dsto', off: 318, kind: 'u8' },
  { name: 'fwug', off: 319, kind: 'u8' },
  { name: 'kas', off: 320, kind: 'u16' },
  { name: 'hctma', off: 322, kind: 'u16' },
  { name: 'mntmt', off: 324, kind: 'u16' },
  { name: 'mxtmt', off: 326, kind: 'u16' },
  { name: 'sanicap', off: 328, kind: 'u32' },
  { name: 'hmminds', off: 332, kind: 'u32' },
  { name: 'hmmaxd', off: 336, kind: 'u16' },
  { name: 'nsetidmax', off: 338, kind: 'u16' },
  { name: 'endgidmax', off: 340, kind: 'u16' },
  { name: 'anatt', off: 342, kind: 'u8' },
  { name: 'anacap', off: 343, kind: 'u8' },
  { name: 'anagrpmax', off: 344, kind: 'u32' },
  { name: 'nanagrpid', off: 348, kind: 'u32' },
  { name: 'pels', off: 352, kind: 'u32' },
  { name: 'domainid', off: 356, kind: 'u16' },
  { name: 'megcap', off: 368, kind: 'u128' },
  { name: 'sqes', off: 512, kind: 'u8' },
  { name: 'cqes', off: 513, kind: 'u8' },
  { name: 'maxcmd', off: 514, kind: 'u16' },
  { name: 'nn', off: 516, kind: 'u32' },
  { name: 'oncs', off: 520, kind: 'u16' },
  { name: 'fuses', off: 522, kind: 'u16' },
  { name: 'fna', off: 524, kind: 'u8' },
  { name: 'vwc', off: 525, kind: 'u8' },
  { name: 'awun', off: 526, kind: 'u16' },
  { name: 'awupf', off: 528, kind: 'u16' },
  { name: 'icsvscc', off: 530, kind: 'u8' },
  { name: 'nwpc', off: 531, kind: 'u8' },
  { name: 'acwu', off: 532, kind: 'u16' },
  { name: 'ocfs', off: 534, kind: 'u16' },
  { name: 'sgls', off: 536, kind: 'u32' },
  { name: 'mnan', off: 540, kind: 'u32' },
  { name: 'maxdna', off: 544, kind: 'u128' },
  { name: 'maxcna', off: 560, kind: 'u32' },
  { name: 'subnqn', off: 768, kind: 'utf8', len: 256 },
  { name: 'ioccsz', off: 1792, kind: 'u32' },
  { name: 'iorcsz', off: 1796, kind: 'u32' },
  { name: 'icdoff', off: 1800, kind: 'u16' },
  { name: 'fcatt', off: 1802, kind: 'u8' },
  { name: 'msdbd', off: 1803, kind: 'u8' },
  { name: 'ofcs', off: 1804, kind: 'u16' },
  { name: 'dctype', off: 1806, kind: 'u8' },
  { name: 'vs', off: VS_OFFSET, kind: 'bytes', len: VS_SIZE },
];

/** Offsets most code needs by name (the rest are in ID_CTRL_FIELDS). */
export const IdCtrlOff = Object.fromEntries(ID_CTRL_FIELDS.map((f) => [f.name, f.off])) as Readonly<
  Record<Exclude<keyof IdentifyController, 'psd'>, number>
>;

/** CNTRLTYPE values. */
export const CntrlType = {
  NotReported: 0,
  Io: 1,
  Discovery: 2,
  Administrative: 3,
} as const;

/** DCTYPE values (discovery controller type). */
export const DcType = {
  NotReported: 0,
  Direct: 1,
  Central: 2,
} as const;

/** CMIC bits. */
export const Cmic = {
  MultiPort: 1 << 0,
  MultiController: 1 << 1,
  SrIov: 1 << 2,
  Ana: 1 << 3,
} as const;

/** OAES bits (also the Asynchronous Event Configuration feature bits). */
export const Oaes = {
  NsAttributeNotices: 1 << 8,
  FirmwareActivation: 1 << 9,
  AnaChange: 1 << 11,
  // 0x8000_0000 rather than 1 << 31, which is negative in JS.
  DiscoveryLogChange: 0x8000_0000,
} as const;

/** CTRATT bits. */
export const Ctratt = {
  HostId128: 1 << 0,
  NonOpPowerStatePermissive: 1 << 1,
  NvmSets: 1 << 2,
  ReadRecoveryLevels: 1 << 3,
  EnduranceGroups: 1 << 4,
  PredictableLatency: 1 << 5,
  TrafficBasedKeepAlive: 1 << 6,
  NsGranularity: 1 << 7,
  SqAssociations: 1 << 8,
  UuidList: 1 << 9,
} as const;

/** OACS bits (optional admin commands). */
export const Oacs = {
  Security: 1 << 0,
  FormatNvm: 1 << 1,
  Firmware: 1 << 2,
  NsManagement: 1 << 3,
  DeviceSelfTest: 1 << 4,
  Directives: 1 << 5,
  NvmeMi: 1 << 6,
  Virtualization: 1 << 7,
  DoorbellBufferConfig: 1 << 8,
  GetLbaStatus: 1 << 9,
  Lockdown: 1 << 10,
} as const;

/** LPA bits (log page attributes). */
export const Lpa = {
  SmartPerNamespace: 1 << 0,
  CommandEffects: 1 << 1,
  /** Extended data for Get Log Page (NUMDU, LPOL/LPOU). */
  ExtendedData: 1 << 2,
  Telemetry: 1 << 3,
  PersistentEvent: 1 << 4,
} as const;

/** ONCS bits (optional NVM commands). */
export const Oncs = {
  Compare: 1 << 0,
  WriteUncorrectable: 1 << 1,
  DatasetManagement: 1 << 2,
  WriteZeroes: 1 << 3,
  SaveSelectFeatures: 1 << 4,
  Reservations: 1 << 5,
  Timestamp: 1 << 6,
  Verify: 1 << 7,
  Copy: 1 << 8,
} as const;

/** VWC bits: bit 0 volatile write cache present; bits 2:1 flush-all-NSID behaviour. */
export const Vwc = {
  Present: 1 << 0,
  /** Flush with NSID FFFFFFFFh is supported. */
  FlushBroadcastSupported: 3 << 1,
} as const;

/** SGLS bits. */
export const Sgls = {
  /** SGLs supported, no alignment requirement (bits 1:0 = 01b). */
  Supported: 1 << 0,
  /** SGLs supported, dword alignment required (bits 1:0 = 10b). */
  SupportedDwordAligned: 2 << 0,
  KeyedDataBlock: 1 << 2,
  BitBucket: 1 << 16,
  ByteAlignedMetadata: 1 << 17,
  LengthLargerThanData: 1 << 18,
  MptrSgl: 1 << 19,
  /** Address field may be an offset (needed for in-capsule data). */
  AddressAsOffset: 1 << 20,
  TransportDataBlock: 1 << 21,
} as const;

/** FCATT bits. */
export const Fcatt = {
  StaticControllerModel: 1 << 0,
} as const;

/** OFCS bits. */
export const Ofcs = {
  Disconnect: 1 << 0,
} as const;

/** Encode Identify Controller into a fresh 4096-byte buffer (or `into` at `o`). */
export function encodeIdentifyController(c: Partial<IdentifyController>, into?: Uint8Array, o = 0): Uint8Array {
  const b = into ?? new Uint8Array(IDENTIFY_DATA_SIZE);
  need(b, o, IDENTIFY_DATA_SIZE, 'Identify Controller');
  b.fill(0, o, o + IDENTIFY_DATA_SIZE);
  encodeFields(b, o, ID_CTRL_FIELDS, c);
  const psd = c.psd ?? [];
  if (psd.length > PSD_COUNT) throw new RangeError(`at most ${PSD_COUNT} power states, got ${psd.length}`);
  psd.forEach((p, i) => encodeFields(b, o + PSD_OFFSET + i * PSD_SIZE, PSD_FIELDS, p));
  return b;
}

/** Decode Identify Controller (returns npss + 1 power state descriptors). */
export function decodeIdentifyController(b: Uint8Array, o = 0): IdentifyController {
  need(b, o, IDENTIFY_DATA_SIZE, 'Identify Controller');
  const c = decodeFields(b, o, ID_CTRL_FIELDS);
  c.psd = [];
  for (let i = 0; i <= c.npss && i < PSD_COUNT; i++) {
    c.psd.push(decodeFields(b, o + PSD_OFFSET + i * PSD_SIZE, PSD_FIELDS));
  }
  return c;
}

/** Layout table for power state descriptors (exported for layout tests). */
export const POWER_STATE_FIELDS = PSD_FIELDS;

/** MDTS in bytes for a given minimum page size (0 = unlimited). */
export function mdtsBytes(mdts: number, mpsminBytes = 4096): number {
  return mdts === 0 ? 0 : mpsminBytes * 2 ** mdts;
}
