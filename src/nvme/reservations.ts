/**
 * Reservations (NVMe base spec 2.0 §8.19 "Reservations", NVM command set spec
 * "Reservation Register/Acquire/Release/Report commands", base spec "Reservation
 * Notification log page (Log Identifier 80h)").
 *
 * Command dwords:
 *   Register (0Dh)  cdw10: RREGA 2:0, IEKEY 3, DISNSRS 4, CPTPL 31:30
 *                   data (16 B): CRKEY u64, NRKEY u64
 *   Acquire  (11h)  cdw10: RACQA 2:0, IEKEY 3, DISNSRS 4, RTYPE 15:8
 *                   data (16 B): CRKEY u64, PRKEY u64
 *   Release  (15h)  cdw10: RRELA 2:0, IEKEY 3, DISNSRS 4, RTYPE 15:8
 *                   data (8 B): CRKEY u64
 *   Report   (0Eh)  cdw10: NUMD (0's based dwords), cdw11: EDS bit 0
 *
 * Reservation Status data structure (Report):
 *   0 GEN u32  4 RTYPE u8  5 REGCTL u16  9 PTPLS u8, then registrant entries at
 *   24 (24 B each: CNTLID u16, RCSTS u8, HOSTID u64, RKEY u64) or, extended
 *   (EDS = 1), at 64 (64 B each: CNTLID u16, RCSTS u8, RKEY u64 at 8, HOSTID
 *   128-bit at 16).
 */

import { IoOpcode } from './opcodes.js';
import { encodeSqe, sqeCdw10, sqeCdw11, sqeCid, sqeNsid } from './sqe.js';
import { need, rd16, rd32, rd64n, wr16, wr32, wr64n } from './le.js';

/** Reservation types (RTYPE). */
export const ResvType = {
  WriteExclusive: 1,
  ExclusiveAccess: 2,
  WriteExclusiveRegistrantsOnly: 3,
  ExclusiveAccessRegistrantsOnly: 4,
  WriteExclusiveAllRegistrants: 5,
  ExclusiveAccessAllRegistrants: 6,
} as const;
export type ResvType = (typeof ResvType)[keyof typeof ResvType];

export function isResvType(v: number): v is ResvType {
  return Number.isInteger(v) && v >= ResvType.WriteExclusive && v <= ResvType.ExclusiveAccessAllRegistrants;
}

/** Types where every registrant is a reservation holder. */
export function isAllRegistrantsType(t: number): boolean {
  return t === ResvType.WriteExclusiveAllRegistrants || t === ResvType.ExclusiveAccessAllRegistrants;
}

/** Types where registrants (not only the holder) may access. */
export function isRegistrantsType(t: number): boolean {
  return t >= ResvType.WriteExclusiveRegistrantsOnly && t <= ResvType.ExclusiveAccessAllRegistrants;
}

/** Register action (RREGA). */
export const ResvRegisterAction = { Register: 0, Unregister: 1, Replace: 2 } as const;
/** Acquire action (RACQA). */
export const ResvAcquireAction = { Acquire: 0, Preempt: 1, PreemptAndAbort: 2 } as const;
/** Release action (RRELA). */
export const ResvReleaseAction = { Release: 0, Clear: 1 } as const;
/** Change Persist Through Power Loss State (CPTPL). */
export const Cptpl = { NoChange: 0, Clear: 2, Set: 3 } as const;

/** RESCAP bits (Identify Namespace byte 31). */
export const Rescap = {
  PersistThroughPowerLoss: 1 << 0,
  WriteExclusive: 1 << 1,
  ExclusiveAccess: 1 << 2,
  WriteExclusiveRegistrantsOnly: 1 << 3,
  ExclusiveAccessRegistrantsOnly: 1 << 4,
  WriteExclusiveAllRegistrants: 1 << 5,
  ExclusiveAccessAllRegistrants: 1 << 6,
  /** Ignore Existing Key used as defined in NVMe 1.3 and later. */
  IgnoreExistingKey13: 1 << 7,
} as const;
/** Every type plus the 1.3 IEKEY semantics (what Linux nvmet reports when resv_enable is set). */
export const RESCAP_ALL_TYPES = 0xfe;

/** Reservation Notification Mask feature (FID 82h) bits / log page types. */
export const ResvNotifyMask = {
  RegistrationPreempted: 1 << 1,
  ReservationReleased: 1 << 2,
  ReservationPreempted: 1 << 3,
} as const;
export const RESV_NOTIFY_MASK_ALL =
  ResvNotifyMask.RegistrationPreempted | ResvNotifyMask.ReservationReleased | ResvNotifyMask.ReservationPreempted;

/** Reservation Notification log page type. */
export const ResvLogType = {
  Empty: 0,
  RegistrationPreempted: 1,
  ReservationReleased: 2,
  ReservationPreempted: 3,
} as const;

/** Asynchronous event information (type I/O command specific): reservation log page available. */
export const AER_INFO_RESV_LOG_AVAILABLE = 0x00;

// ---------------------------------------------------------------- command dwords

export interface ResvRegisterCommand {
  cid: number;
  nsid: number;
  rrega: number;
  iekey: boolean;
  disnsrs: boolean;
  cptpl: number;
}

export interface ResvAcquireCommand {
  cid: number;
  nsid: number;
  racqa: number;
  iekey: boolean;
  disnsrs: boolean;
  rtype: number;
}

export interface ResvReleaseCommand {
  cid: number;
  nsid: number;
  rrela: number;
  iekey: boolean;
  disnsrs: boolean;
  rtype: number;
}

export interface ResvReportCommand {
  cid: number;
  nsid: number;
  /** Transfer length in dwords (NUMD + 1). */
  numd: number;
  /** Extended data structure (128-bit host identifiers). */
  eds: boolean;
}

/** Data lengths the commands carry. */
export const RESV_REGISTER_DATA_SIZE = 16;
export const RESV_ACQUIRE_DATA_SIZE = 16;
export const RESV_RELEASE_DATA_SIZE = 8;

const iekeyBits = (iekey: boolean | undefined, disnsrs: boolean | undefined): number =>
  (iekey === true ? 1 << 3 : 0) | (disnsrs === true ? 1 << 4 : 0);

export function decodeResvRegisterCommand(b: Uint8Array, o = 0): ResvRegisterCommand {
  const d = sqeCdw10(b, o);
  return { cid: sqeCid(b, o), nsid: sqeNsid(b, o), rrega: d & 7, iekey: (d & 8) !== 0, disnsrs: (d & 16) !== 0, cptpl: d >>> 30 };
}

export function encodeResvRegisterCommand(b: Uint8Array, c: Partial<ResvRegisterCommand> & { nsid: number; rrega: number }, o = 0): Uint8Array {
  return encodeSqe(b, {
    opcode: IoOpcode.ReservationRegister,
    cid: c.cid ?? 0,
    nsid: c.nsid,
    cdw10: ((c.rrega & 7) | iekeyBits(c.iekey, c.disnsrs) | (((c.cptpl ?? 0) & 3) << 30)) >>> 0,
  }, o);
}

export function decodeResvAcquireCommand(b: Uint8Array, o = 0): ResvAcquireCommand {
  const d = sqeCdw10(b, o);
  return { cid: sqeCid(b, o), nsid: sqeNsid(b, o), racqa: d & 7, iekey: (d & 8) !== 0, disnsrs: (d & 16) !== 0, rtype: (d >>> 8) & 0xff };
}

export function encodeResvAcquireCommand(b: Uint8Array, c: Partial<ResvAcquireCommand> & { nsid: number; racqa: number; rtype: number }, o = 0): Uint8Array {
  return encodeSqe(b, {
    opcode: IoOpcode.ReservationAcquire,
    cid: c.cid ?? 0,
    nsid: c.nsid,
    cdw10: ((c.racqa & 7) | iekeyBits(c.iekey, c.disnsrs) | ((c.rtype & 0xff) << 8)) >>> 0,
  }, o);
}

export function decodeResvReleaseCommand(b: Uint8Array, o = 0): ResvReleaseCommand {
  const d = sqeCdw10(b, o);
  return { cid: sqeCid(b, o), nsid: sqeNsid(b, o), rrela: d & 7, iekey: (d & 8) !== 0, disnsrs: (d & 16) !== 0, rtype: (d >>> 8) & 0xff };
}

export function encodeResvReleaseCommand(b: Uint8Array, c: Partial<ResvReleaseCommand> & { nsid: number; rrela: number; rtype: number }, o = 0): Uint8Array {
  return encodeSqe(b, {
    opcode: IoOpcode.ReservationRelease,
    cid: c.cid ?? 0,
    nsid: c.nsid,
    cdw10: ((c.rrela & 7) | iekeyBits(c.iekey, c.disnsrs) | ((c.rtype & 0xff) << 8)) >>> 0,
  }, o);
}

export function decodeResvReportCommand(b: Uint8Array, o = 0): ResvReportCommand {
  return { cid: sqeCid(b, o), nsid: sqeNsid(b, o), numd: sqeCdw10(b, o) + 1, eds: (sqeCdw11(b, o) & 1) !== 0 };
}

/** Report transfer length in bytes: (NUMD + 1) × 4. */
export function resvReportLength(b: Uint8Array, o = 0): number {
  return (sqeCdw10(b, o) + 1) * 4;
}

export function encodeResvReportCommand(b: Uint8Array, c: Partial<ResvReportCommand> & { nsid: number; length: number }, o = 0): Uint8Array {
  if (!Number.isInteger(c.length) || c.length < 4 || c.length % 4 !== 0 || c.length > 0x4_0000_0000) {
    throw new RangeError(`report length ${c.length} is not a positive whole number of dwords`);
  }
  return encodeSqe(b, {
    opcode: IoOpcode.ReservationReport,
    cid: c.cid ?? 0,
    nsid: c.nsid,
    cdw10: c.length / 4 - 1,
    cdw11: c.eds === false ? 0 : 1,
  }, o);
}

// ---------------------------------------------------------------- command data

/** Register data: current and new reservation keys. */
export interface ResvRegisterData {
  crkey: bigint;
  nrkey: bigint;
}
/** Acquire data: current key and the key to preempt. */
export interface ResvAcquireData {
  crkey: bigint;
  prkey: bigint;
}

export function encodeResvKeys(a: bigint, b2: bigint): Uint8Array {
  const b = new Uint8Array(16);
  wr64n(b, 0, a);
  wr64n(b, 8, b2);
  return b;
}

export function decodeResvRegisterData(b: Uint8Array, o = 0): ResvRegisterData {
  need(b, o, RESV_REGISTER_DATA_SIZE, 'Reservation Register data');
  return { crkey: rd64n(b, o), nrkey: rd64n(b, o + 8) };
}

export function decodeResvAcquireData(b: Uint8Array, o = 0): ResvAcquireData {
  need(b, o, RESV_ACQUIRE_DATA_SIZE, 'Reservation Acquire data');
  return { crkey: rd64n(b, o), prkey: rd64n(b, o + 8) };
}

export function encodeResvReleaseData(crkey: bigint): Uint8Array {
  const b = new Uint8Array(RESV_RELEASE_DATA_SIZE);
  wr64n(b, 0, crkey);
  return b;
}

export function decodeResvReleaseData(b: Uint8Array, o = 0): { crkey: bigint } {
  need(b, o, RESV_RELEASE_DATA_SIZE, 'Reservation Release data');
  return { crkey: rd64n(b, o) };
}

// ---------------------------------------------------------------- Reservation Status (Report data)

export const RESV_STATUS_HEADER_SIZE = 24;
export const RESV_STATUS_EXT_HEADER_SIZE = 64;
export const RESV_REGCTL_SIZE = 24;
export const RESV_REGCTL_EXT_SIZE = 64;

export interface RegisteredController {
  /** CNTLID_DYNAMIC (0xffff) for registrants of the dynamic controller model, as Linux reports. */
  cntlid: number;
  /** RCSTS bit 0: this registrant holds the reservation. */
  holder: boolean;
  /** 8 bytes (standard) or 16 bytes (extended). */
  hostid: Uint8Array;
  rkey: bigint;
}

export interface ResvStatus {
  gen: number;
  rtype: number;
  /** Number of registrants (REGCTL) — may exceed `regctls.length` when the buffer was short. */
  regctl: number;
  ptpls: boolean;
  regctls: RegisteredController[];
}

/**
 * Encode the Reservation Status data structure into `len` bytes: as many
 * registrant entries as fit, REGCTL always counting all of them (Linux
 * nvmet_execute_pr_report). `eds` selects the extended (128-bit host ID) form.
 */
export function encodeResvStatus(s: Omit<ResvStatus, 'regctl'>, eds: boolean, len: number): Uint8Array {
  const b = new Uint8Array(len);
  const hdr = eds ? RESV_STATUS_EXT_HEADER_SIZE : RESV_STATUS_HEADER_SIZE;
  const ent = eds ? RESV_REGCTL_EXT_SIZE : RESV_REGCTL_SIZE;
  const hostidLen = eds ? 16 : 8;
  if (len >= 10) {
    wr32(b, 0, s.gen >>> 0);
    b[4] = s.rtype & 0xff;
    wr16(b, 5, s.regctls.length);
    b[9] = s.ptpls ? 1 : 0;
  } else {
    // Shorter than the header: the fixed part is cut like any other window.
    const full = encodeResvStatus(s, eds, hdr);
    b.set(full.subarray(0, len));
    return b;
  }
  let o = hdr;
  for (const r of s.regctls) {
    if (o + ent > len) break;
    if (r.hostid.length !== hostidLen) throw new RangeError(`host identifier must be ${hostidLen} bytes for ${eds ? 'extended' : 'standard'} data`);
    wr16(b, o, r.cntlid);
    b[o + 2] = r.holder ? 1 : 0;
    if (eds) {
      wr64n(b, o + 8, r.rkey);
      b.set(r.hostid, o + 16);
    } else {
      b.set(r.hostid, o + 8);
      wr64n(b, o + 16, r.rkey);
    }
    o += ent;
  }
  return b;
}

export function decodeResvStatus(b: Uint8Array, eds: boolean, o = 0): ResvStatus {
  need(b, o, 10, 'Reservation Status header');
  const hdr = eds ? RESV_STATUS_EXT_HEADER_SIZE : RESV_STATUS_HEADER_SIZE;
  const ent = eds ? RESV_REGCTL_EXT_SIZE : RESV_REGCTL_SIZE;
  const regctl = rd16(b, o + 5);
  const regctls: RegisteredController[] = [];
  for (let i = 0, p = o + hdr; i < regctl && p + ent <= b.length; i++, p += ent) {
    regctls.push(
      eds
        ? { cntlid: rd16(b, p), holder: (b[p + 2]! & 1) !== 0, rkey: rd64n(b, p + 8), hostid: b.slice(p + 16, p + 32) }
        : { cntlid: rd16(b, p), holder: (b[p + 2]! & 1) !== 0, hostid: b.slice(p + 8, p + 16), rkey: rd64n(b, p + 16) },
    );
  }
  return { gen: rd32(b, o), rtype: b[o + 4]!, regctl, ptpls: (b[o + 9]! & 1) !== 0, regctls };
}

// ---------------------------------------------------------------- Reservation Notification log (80h)

export const RESV_NOTIFICATION_LOG_SIZE = 64;

export interface ResvNotificationLog {
  /** Log Page Count: 64-bit, increments per log created, 0 = no log (wraps to 1). */
  count: bigint;
  type: number;
  /** Number of further logs available (saturates at 255). */
  available: number;
  nsid: number;
}

export function encodeResvNotificationLog(l: ResvNotificationLog): Uint8Array {
  const b = new Uint8Array(RESV_NOTIFICATION_LOG_SIZE);
  wr64n(b, 0, l.count);
  b[8] = l.type & 0xff;
  b[9] = Math.min(l.available, 0xff);
  wr32(b, 12, l.nsid);
  return b;
}

export function decodeResvNotificationLog(b: Uint8Array, o = 0): ResvNotificationLog {
  need(b, o, 16, 'Reservation Notification log');
  return { count: rd64n(b, o), type: b[o + 8]!, available: b[o + 9]!, nsid: rd32(b, o + 12) };
}

