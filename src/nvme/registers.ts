/**
 * Controller properties (the PCIe BAR0 registers, reached over fabrics with
 * Property Get/Set) and their bitfields (NVMe base spec 2.0 "Controller Registers").
 *
 * CAP is 64-bit and handled as bigint; the 32-bit registers as numbers.
 */

/** Property offsets. */
export const Reg = {
  Cap: 0x00,
  Vs: 0x08,
  Intms: 0x0c,
  Intmc: 0x10,
  Cc: 0x14,
  Csts: 0x1c,
  Nssr: 0x20,
  Aqa: 0x24,
  Asq: 0x28,
  Acq: 0x30,
  Cmbloc: 0x38,
  Cmbsz: 0x3c,
} as const;
export type Reg = (typeof Reg)[keyof typeof Reg];

/** Size in bytes of a property (8 for CAP/ASQ/ACQ, else 4); undefined for unknown offsets. */
export function propertySize(offset: number): 4 | 8 | undefined {
  switch (offset) {
    case Reg.Cap:
    case Reg.Asq:
    case Reg.Acq:
      return 8;
    case Reg.Vs:
    case Reg.Intms:
    case Reg.Intmc:
    case Reg.Cc:
    case Reg.Csts:
    case Reg.Nssr:
    case Reg.Aqa:
    case Reg.Cmbloc:
    case Reg.Cmbsz:
      return 4;
    default:
      return undefined;
  }
}

/** "NVMe" in ASCII, the value written to NSSR to request an NVM subsystem reset. */
export const NSSR_RESET_VALUE = 0x4e564d65;

// ---------------------------------------------------------------- VS

/** Version register value: MJR 31:16, MNR 15:8, TER 7:0. */
export function makeVersion(major: number, minor: number, tertiary = 0): number {
  return (((major & 0xffff) << 16) | ((minor & 0xff) << 8) | (tertiary & 0xff)) >>> 0;
}

export const NVME_VS_1_3 = 0x0001_0300;
export const NVME_VS_1_4 = 0x0001_0400;
export const NVME_VS_2_0 = 0x0002_0000;

/** Split a VS value into its parts. */
export function decodeVersion(vs: number): { major: number; minor: number; tertiary: number } {
  return { major: vs >>> 16, minor: (vs >>> 8) & 0xff, tertiary: vs & 0xff };
}

/** VS as "major.minor[.tertiary]". */
export function formatVersion(vs: number): string {
  const v = decodeVersion(vs);
  return v.tertiary === 0 ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.tertiary}`;
}

// ---------------------------------------------------------------- CAP

/** CAP.CSS bits (command sets supported). */
export const CapCss = {
  Nvm: 1 << 0,
  /** One or more I/O command sets (CC.CSS = 110b allowed). */
  IoCommandSets: 1 << 6,
  /** No I/O command set (admin only; discovery controllers report this). */
  NoIo: 1 << 7,
} as const;

/** Decoded CAP fields. */
export interface Cap {
  /** Maximum queue entries supported, 0-based. */
  mqes: number;
  /** Contiguous queues required. */
  cqr: boolean;
  /** Arbitration mechanisms supported (bit 0 WRR with urgent, bit 1 vendor). */
  ams: number;
  /** Worst-case time to CSTS.RDY change, in 500 ms units. */
  to: number;
  /** Doorbell stride: 2^(2+dstrd) bytes. */
  dstrd: number;
  /** NVM subsystem reset supported. */
  nssrs: boolean;
  /** Command sets supported (CapCss bits). */
  css: number;
  /** Boot partition support. */
  bps: boolean;
  /** Memory page size minimum: 2^(12+mpsmin). */
  mpsmin: number;
  /** Memory page size maximum: 2^(12+mpsmax). */
  mpsmax: number;
  /** Persistent memory region supported. */
  pmrs: boolean;
  /** Controller memory buffer supported. */
  cmbs: boolean;
  /** NVM subsystem shutdown supported. */
  nsss: boolean;
  /** Controller ready modes supported (bit 0 with media, bit 1 independent of media). */
  crms: number;
}

/** Encode CAP (missing fields zero). */
export function encodeCap(c: Partial<Cap>): bigint {
  let v = 0n;
  v |= BigInt((c.mqes ?? 0) & 0xffff);
  if (c.cqr === true) v |= 1n << 16n;
  v |= BigInt((c.ams ?? 0) & 3) << 17n;
  v |= BigInt((c.to ?? 0) & 0xff) << 24n;
  v |= BigInt((c.dstrd ?? 0) & 0xf) << 32n;
  if (c.nssrs === true) v |= 1n << 36n;
  v |= BigInt((c.css ?? 0) & 0xff) << 37n;
  if (c.bps === true) v |= 1n << 45n;
  v |= BigInt((c.mpsmin ?? 0) & 0xf) << 48n;
  v |= BigInt((c.mpsmax ?? 0) & 0xf) << 52n;
  if (c.pmrs === true) v |= 1n << 56n;
  if (c.cmbs === true) v |= 1n << 57n;
  if (c.nsss === true) v |= 1n << 58n;
  v |= BigInt((c.crms ?? 0) & 3) << 59n;
  return v;
}

/** Decode CAP. */
export function decodeCap(v: bigint): Cap {
  const f = (shift: bigint, mask: bigint): number => Number((v >> shift) & mask);
  return {
    mqes: f(0n, 0xffffn),
    cqr: f(16n, 1n) === 1,
    ams: f(17n, 3n),
    to: f(24n, 0xffn),
    dstrd: f(32n, 0xfn),
    nssrs: f(36n, 1n) === 1,
    css: f(37n, 0xffn),
    bps: f(45n, 1n) === 1,
    mpsmin: f(48n, 0xfn),
    mpsmax: f(52n, 0xfn),
    pmrs: f(56n, 1n) === 1,
    cmbs: f(57n, 1n) === 1,
    nsss: f(58n, 1n) === 1,
    crms: f(59n, 3n),
  };
}

/** CAP.MQES (0-based max queue entries). */
export function capMqes(cap: bigint): number {
  return Number(cap & 0xffffn);
}

/** CAP.TO in 500 ms units. */
export function capTimeout(cap: bigint): number {
  return Number((cap >> 24n) & 0xffn);
}

// ---------------------------------------------------------------- CC

export const CC_EN = 1 << 0;
export const CC_CSS_SHIFT = 4;
export const CC_MPS_SHIFT = 7;
export const CC_AMS_SHIFT = 11;
export const CC_SHN_SHIFT = 14;
export const CC_IOSQES_SHIFT = 16;
export const CC_IOCQES_SHIFT = 20;
export const CC_CRIME = 1 << 24;

/** CC.CSS values. */
export const CcCss = {
  Nvm: 0,
  /** All supported I/O command sets. */
  AllIo: 6,
  AdminOnly: 7,
} as const;

/** CC.SHN values. */
export const Shn = {
  None: 0,
  Normal: 1,
  Abrupt: 2,
} as const;

/** Decoded CC fields. */
export interface Cc {
  en: boolean;
  /** I/O command set selected. */
  css: number;
  /** Host memory page size: 2^(12+mps). */
  mps: number;
  /** Arbitration mechanism selected. */
  ams: number;
  /** Shutdown notification (Shn). */
  shn: number;
  /** I/O SQ entry size: 2^iosqes (6 → 64 bytes). */
  iosqes: number;
  /** I/O CQ entry size: 2^iocqes (4 → 16 bytes). */
  iocqes: number;
  /** Controller ready independent of media enable. */
  crime: boolean;
}

/** Encode CC (missing fields zero). */
export function encodeCc(c: Partial<Cc>): number {
  let v = 0;
  if (c.en === true) v |= CC_EN;
  v |= ((c.css ?? 0) & 7) << CC_CSS_SHIFT;
  v |= ((c.mps ?? 0) & 0xf) << CC_MPS_SHIFT;
  v |= ((c.ams ?? 0) & 7) << CC_AMS_SHIFT;
  v |= ((c.shn ?? 0) & 3) << CC_SHN_SHIFT;
  v |= ((c.iosqes ?? 0) & 0xf) << CC_IOSQES_SHIFT;
  v |= ((c.iocqes ?? 0) & 0xf) << CC_IOCQES_SHIFT;
  if (c.crime === true) v |= CC_CRIME;
  return v >>> 0;
}

/** Decode CC. */
export function decodeCc(v: number): Cc {
  return {
    en: (v & CC_EN) !== 0,
    css: (v >>> CC_CSS_SHIFT) & 7,
    mps: (v >>> CC_MPS_SHIFT) & 0xf,
    ams: (v >>> CC_AMS_SHIFT) & 7,
    shn: (v >>> CC_SHN_SHIFT) & 3,
    iosqes: (v >>> CC_IOSQES_SHIFT) & 0xf,
    iocqes: (v >>> CC_IOCQES_SHIFT) & 0xf,
    crime: (v & CC_CRIME) !== 0,
  };
}

/** CC.EN. */
export function ccEnabled(cc: number): boolean {
  return (cc & CC_EN) !== 0;
}

/** CC.SHN. */
export function ccShn(cc: number): number {
  return (cc >>> CC_SHN_SHIFT) & 3;
}

// ---------------------------------------------------------------- CSTS

export const CSTS_RDY = 1 << 0;
export const CSTS_CFS = 1 << 1;
export const CSTS_SHST_SHIFT = 2;
export const CSTS_NSSRO = 1 << 4;
export const CSTS_PP = 1 << 5;
export const CSTS_ST = 1 << 6;

/** CSTS.SHST values. */
export const Shst = {
  Normal: 0,
  Occurring: 1,
  Complete: 2,
} as const;

/** Decoded CSTS fields. */
export interface Csts {
  rdy: boolean;
  cfs: boolean;
  shst: number;
  nssro: boolean;
  pp: boolean;
  st: boolean;
}

/** Encode CSTS (missing fields zero). */
export function encodeCsts(c: Partial<Csts>): number {
  let v = 0;
  if (c.rdy === true) v |= CSTS_RDY;
  if (c.cfs === true) v |= CSTS_CFS;
  v |= ((c.shst ?? 0) & 3) << CSTS_SHST_SHIFT;
  if (c.nssro === true) v |= CSTS_NSSRO;
  if (c.pp === true) v |= CSTS_PP;
  if (c.st === true) v |= CSTS_ST;
  return v;
}

/** Decode CSTS. */
export function decodeCsts(v: number): Csts {
  return {
    rdy: (v & CSTS_RDY) !== 0,
    cfs: (v & CSTS_CFS) !== 0,
    shst: (v >>> CSTS_SHST_SHIFT) & 3,
    nssro: (v & CSTS_NSSRO) !== 0,
    pp: (v & CSTS_PP) !== 0,
    st: (v & CSTS_ST) !== 0,
  };
}

// ---------------------------------------------------------------- AQA

/** Encode AQA (admin SQ/CQ sizes, both 0-based). */
export function encodeAqa(asqs: number, acqs: number): number {
  return ((asqs & 0xfff) | ((acqs & 0xfff) << 16)) >>> 0;
}

/** Decode AQA into 0-based admin SQ/CQ sizes. */
export function decodeAqa(v: number): { asqs: number; acqs: number } {
  return { asqs: v & 0xfff, acqs: (v >>> 16) & 0xfff };
}
