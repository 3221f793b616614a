/**
 * Get Log Page (admin 0x02) command fields and the log pages this project serves
 * or reads (NVMe base spec 2.0 "Get Log Page command" and "Log Page Identifiers"):
 *
 *   cdw10: LID 7:0, LSP 14:8, RAE 15, NUMDL 31:16
 *   cdw11: NUMDU 15:0, LSI 31:16
 *   cdw12/13: LPOL/LPOU, byte offset into the page (dword aligned)
 *   cdw14: UUID index 6:0, OT 23, CSI 31:24
 *   NUMD = (NUMDU:NUMDL) + 1 dwords.
 *
 * Pages: Supported Log Pages (1024 B), Error Information entries (64 B), SMART /
 * Health (512 B), Firmware Slot (512 B), Changed Namespace List (4096 B), Commands
 * Supported and Effects (4096 B). The Discovery log page lives in discovery-log.ts
 * (re-exported here); ANA (0Ch) in ana.ts, Reservation Notification (80h) in
 * reservations.ts.
 */

import { AdminOpcode } from './opcodes.js';
import { encodeSqe, sqeCdw10, sqeCdw11, sqeCdw12, sqeCdw13, sqeCdw14, sqeCid, sqeNsid } from './sqe.js';
import { type FieldSpec, decodeFields, encodeFields } from './layout.js';
import { need, rd16, rd32, readAscii, wr16, wr32, writeAscii } from './le.js';

export * from './discovery-log.js';

/** Log page identifiers. */
export const LogId = {
  SupportedLogPages: 0x00,
  ErrorInfo: 0x01,
  Smart: 0x02,
  FirmwareSlot: 0x03,
  ChangedNsList: 0x04,
  CommandEffects: 0x05,
  DeviceSelfTest: 0x06,
  TelemetryHost: 0x07,
  TelemetryController: 0x08,
  EnduranceGroupInfo: 0x09,
  PredictableLatencyPerSet: 0x0a,
  PredictableLatencyAggregate: 0x0b,
  Ana: 0x0c,
  PersistentEvent: 0x0d,
  LbaStatus: 0x0e,
  EnduranceGroupAggregate: 0x0f,
  FeatureIdsSupported: 0x12,
  Discovery: 0x70,
  HostDiscovery: 0x71,
  ReservationNotification: 0x80,
  SanitizeStatus: 0x81,
} as const;
export type LogId = (typeof LogId)[keyof typeof LogId];

// ---------------------------------------------------------------- Get Log Page command

/** Get Log Page command fields. */
export interface GetLogPageCommand {
  cid: number;
  nsid: number;
  lid: number;
  lsp: number;
  /** Retain Asynchronous Event. */
  rae: boolean;
  /** Number of dwords to transfer, 1-based (NUMD + 1). */
  numd: number;
  /** Log specific identifier. */
  lsi: number;
  /** Byte offset into the log page. */
  offset: number;
  uuidIndex: number;
  /** Offset type: offset is an index (of entries) instead of bytes. */
  ot: boolean;
  csi: number;
}

/** Log page id from a Get Log Page SQE (hot enough to be in place). */
export function getLogPageLid(b: Uint8Array, o = 0): number {
  return sqeCdw10(b, o) & 0xff;
}

/** Retain Asynchronous Event of a Get Log Page SQE (cdw10 bit 15). */
export function getLogPageRae(b: Uint8Array, o = 0): boolean {
  return (sqeCdw10(b, o) & 0x8000) !== 0;
}

/** Transfer length in bytes of a Get Log Page SQE: ((NUMDU:NUMDL) + 1) * 4. */
export function getLogPageLength(b: Uint8Array, o = 0): number {
  const numd = (sqeCdw10(b, o) >>> 16) + (sqeCdw11(b, o) & 0xffff) * 0x10000;
  return (numd + 1) * 4;
}

/** Byte offset of a Get Log Page SQE (LPOU:LPOL) as a number (exact below 2^53). */
export function getLogPageOffset(b: Uint8Array, o = 0): number {
  return sqeCdw12(b, o) + sqeCdw13(b, o) * 0x1_0000_0000;
}

/** Decode a Get Log Page SQE. */
export function decodeGetLogPageCommand(b: Uint8Array, o = 0): GetLogPageCommand {
  const cdw10 = sqeCdw10(b, o);
  const cdw11 = sqeCdw11(b, o);
  const cdw14 = sqeCdw14(b, o);
  return {
    cid: sqeCid(b, o),
    nsid: sqeNsid(b, o),
    lid: cdw10 & 0xff,
    lsp: (cdw10 >>> 8) & 0x7f,
    rae: ((cdw10 >>> 15) & 1) === 1,
    numd: getLogPageLength(b, o) / 4,
    lsi: cdw11 >>> 16,
    offset: getLogPageOffset(b, o),
    uuidIndex: cdw14 & 0x7f,
    ot: ((cdw14 >>> 23) & 1) === 1,
    csi: cdw14 >>> 24,
  };
}

/**
 * Build a Get Log Page SQE. Give either `numd` (dwords) or `length` (bytes, a
 * multiple of 4). DPTR is left zero for the transport.
 */
export function encodeGetLogPageCommand(
  b: Uint8Array,
  c: Partial<GetLogPageCommand> & { lid: number; length?: number },
  o = 0,
): Uint8Array {
  const numd = c.numd ?? (c.length !== undefined ? c.length / 4 : 0);
  if (!Number.isInteger(numd) || numd < 1 || numd > 0x1_0000_0000) {
    throw new RangeError(`log page transfer of ${numd} dwords is not a positive whole number of dwords`);
  }
  const z = numd - 1;
  const offset = c.offset ?? 0;
  if (offset % 4 !== 0 && c.ot !== true) throw new RangeError(`log page offset ${offset} not dword aligned`);
  const lpol = offset % 0x1_0000_0000;
  return encodeSqe(
    b,
    {
      opcode: AdminOpcode.GetLogPage,
      cid: c.cid ?? 0,
      nsid: c.nsid ?? 0,
      cdw10: ((c.lid & 0xff) | ((c.lsp ?? 0) & 0x7f) << 8 | (c.rae === true ? 1 << 15 : 0) | ((z & 0xffff) << 16)) >>> 0,
      cdw11: ((Math.floor(z / 0x10000) & 0xffff) | (((c.lsi ?? 0) & 0xffff) << 16)) >>> 0,
      cdw12: lpol,
      cdw13: (offset - lpol) / 0x1_0000_0000,
      cdw14: (((c.uuidIndex ?? 0) & 0x7f) | (c.ot === true ? 1 << 23 : 0) | (((c.csi ?? 0) & 0xff) << 24)) >>> 0,
    },
    o,
  );
}

/**
 * Copy the window [offset, offset + dest.length) of a log page into `dest`,
 * zero-filling whatever lies past the page's end (hosts may over-read). Returns
 * the number of page bytes copied.
 */
export function copyLogWindow(page: Uint8Array, offset: number, dest: Uint8Array): number {
  const start = Math.min(offset, page.length);
  const n = Math.min(dest.length, page.length - start);
  if (n > 0) dest.set(page.subarray(start, start + n), 0);
  dest.fill(0, Math.max(n, 0));
  return Math.max(n, 0);
}

// ---------------------------------------------------------------- Supported Log Pages (00h)

/** Supported Log Pages: one LID Supported and Effects dword per LID 00h..FFh. */
export const SUPPORTED_LOG_PAGES_SIZE = 1024;

/** LID Supported and Effects bits (NVMe 2.0 Figure "LID Supported and Effects Data Structure"). */
export const LidEffects = {
  /** LSUPP: the log page is supported. */
  Supported: 1 << 0,
  /** IOS: the Index Offset (OT) form of LPO is supported for this page. */
  IndexOffset: 1 << 1,
} as const;

/** Encode the Supported Log Pages page from LID → LID Supported and Effects. */
export function encodeSupportedLogPages(lids: ReadonlyMap<number, number>): Uint8Array {
  const b = new Uint8Array(SUPPORTED_LOG_PAGES_SIZE);
  for (const [lid, fx] of lids) {
    if (!Number.isInteger(lid) || lid < 0 || lid > 0xff) throw new RangeError(`log page id ${lid} out of range 0..255`);
    wr32(b, lid * 4, fx);
  }
  return b;
}

/** Decode the Supported Log Pages page into a map of its non-zero entries. */
export function decodeSupportedLogPages(b: Uint8Array, o = 0): Map<number, number> {
  need(b, o, SUPPORTED_LOG_PAGES_SIZE, 'Supported log pages');
  const out = new Map<number, number>();
  for (let lid = 0; lid < 256; lid++) {
    const v = rd32(b, o + lid * 4);
    if (v !== 0) out.set(lid, v);
  }
  return out;
}

// ---------------------------------------------------------------- Error Information (01h)

export const ERROR_LOG_ENTRY_SIZE = 64;

/** One Error Information log entry. */
export interface ErrorLogEntry {
  /** Unique, incrementing error count (0 = entry invalid). */
  errorCount: bigint;
  sqid: number;
  cid: number;
  /** 15-bit status of the failed command (stored shifted left by one, phase in bit 0). */
  status: number;
  /** Byte (7:0) and bit (10:8) of the SQE field in error; 0xffff if not applicable. */
  paramErrorLocation: number;
  lba: bigint;
  nsid: number;
  vendorInfo: number;
  trtype: number;
  commandSpecific: bigint;
  trtypeSpecific: number;
}

export const ERROR_LOG_FIELDS: readonly FieldSpec<ErrorLogEntry>[] = [
  { name: 'errorCount', off: 0, kind: 'u64n' },
  { name: 'sqid', off: 8, kind: 'u16' },
  { name: 'cid', off: 10, kind: 'u16' },
  { name: 'paramErrorLocation', off: 14, kind: 'u16' },
  { name: 'lba', off: 16, kind: 'u64n' },
  { name: 'nsid', off: 24, kind: 'u32' },
  { name: 'vendorInfo', off: 28, kind: 'u8' },
  { name: 'trtype', off: 29, kind: 'u8' },
  { name: 'commandSpecific', off: 32, kind: 'u64n' },
  { name: 'trtypeSpecific', off: 40, kind: 'u16' },
];

/** Encode one error entry into `b` at `o` (64 bytes, zeroed first). */
export function encodeErrorLogEntry(e: Partial<ErrorLogEntry>, b: Uint8Array, o = 0): Uint8Array {
  need(b, o, ERROR_LOG_ENTRY_SIZE, 'Error log entry');
  b.fill(0, o, o + ERROR_LOG_ENTRY_SIZE);
  encodeFields(b, o, ERROR_LOG_FIELDS, e);
  wr16(b, o + 12, ((e.status ?? 0) & 0x7fff) << 1);
  return b;
}

/** Decode one error entry. */
export function decodeErrorLogEntry(b: Uint8Array, o = 0): ErrorLogEntry {
  need(b, o, ERROR_LOG_ENTRY_SIZE, 'Error log entry');
  const e = decodeFields(b, o, ERROR_LOG_FIELDS);
  e.status = rd16(b, o + 12) >>> 1;
  return e;
}

/** Encode a list of error entries into a page of `count` entries (newest first, as given). */
export function encodeErrorLog(entries: readonly Partial<ErrorLogEntry>[], count = entries.length): Uint8Array {
  const b = new Uint8Array(Math.max(count, 1) * ERROR_LOG_ENTRY_SIZE);
  entries.slice(0, count).forEach((e, i) => encodeErrorLogEntry(e, b, i * ERROR_LOG_ENTRY_SIZE));
  return b;
}

// ---------------------------------------------------------------- SMART / Health Information (02h)

export const SMART_LOG_SIZE = 512;

/** Critical Warning bits. */
export const CriticalWarning = {
  SpareBelowThreshold: 1 << 0,
  Temperature: 1 << 1,
  Reliability: 1 << 2,
  ReadOnly: 1 << 3,
  VolatileBackupFailed: 1 << 4,
  PmrReadOnly: 1 << 5,
} as const;

/** SMART / Health Information log. Counters are 128-bit (bigint). */
export interface SmartLog {
  criticalWarning: number;
  /** Composite temperature in kelvin. */
  temperature: number;
  /** Available spare, percent. */
  availableSpare: number;
  availableSpareThreshold: number;
  percentageUsed: number;
  enduranceGroupCriticalWarning: number;
  /** In units of 1000 × 512 bytes, rounded up. */
  dataUnitsRead: bigint;
  /** In units of 1000 × 512 bytes, rounded up. */
  dataUnitsWritten: bigint;
  hostReadCommands: bigint;
  hostWriteCommands: bigint;
  /** Minutes. */
  controllerBusyTime: bigint;
  powerCycles: bigint;
  powerOnHours: bigint;
  unsafeShutdowns: bigint;
  mediaErrors: bigint;
  errorLogEntries: bigint;
  warningTempTime: number;
  criticalTempTime: number;
  temperatureSensor1: number;
  temperatureSensor2: number;
  temperatureSensor3: number;
  temperatureSensor4: number;
  temperatureSensor5: number;
  temperatureSensor6: number;
  temperatureSensor7: number;
  temperatureSensor8: number;
  thermalMgmtTemp1TransitionCount: number;
  thermalMgmtTemp2TransitionCount: number;
  thermalMgmtTemp1TotalTime: number;
  thermalMgmtTemp2TotalTime: number;
}

export const SMART_LOG_FIELDS: readonly FieldSpec<SmartLog>[] = [
  { name: 'criticalWarning', off: 0, kind: 'u8' },
  { name: 'temperature', off: 1, kind: 'u16' },
  { name: 'availableSpare', off: 3, kind: 'u8' },
  { name: 'availableSpareThreshold', off: 4, kind: 'u8' },
  { name: 'percentageUsed', off: 5, kind: 'u8' },
  { name: 'enduranceGroupCriticalWarning', off: 6, kind: 'u8' },
  { name: 'dataUnitsRead', off: 32, kind: 'u128' },
  { name: 'dataUnitsWritten', off: 48, kind: 'u128' },
  { name: 'hostReadCommands', off: 64, kind: 'u128' },
  { name: 'hostWriteCommands', off: 80, kind: 'u128' },
  { name: 'controllerBusyTime', off: 96, kind: 'u128' },
  { name: 'powerCycles', off: 112, kind: 'u128' },
  { name: 'powerOnHours', off: 128, kind: 'u128' },
  { name: 'unsafeShutdowns', off: 144, kind: 'u128' },
  { name: 'mediaErrors', off: 160, kind: 'u128' },
  { name: 'errorLogEntries', off: 176, kind: 'u128' },
  { name: 'warningTempTime', off: 192, kind: 'u32' },
  { name: 'criticalTempTime', off: 196, kind: 'u32' },
  { name: 'temperatureSensor1', off: 200, kind: 'u16' },
  { name: 'temperatureSensor2', off: 202, kind: 'u16' },
  { name: 'temperatureSensor3', off: 204, kind: 'u16' },
  { name: 'temperatureSensor4', off: 206, kind: 'u16' },
  { name: 'temperatureSensor5', off: 208, kind: 'u16' },
  { name: 'temperatureSensor6', off: 210, kind: 'u16' },
  { name: 'temperatureSensor7', off: 212, kind: 'u16' },
  { name: 'temperatureSensor8', off: 214, kind: 'u16' },
  { name: 'thermalMgmtTemp1TransitionCount', off: 216, kind: 'u32' },
  { name: 'thermalMgmtTemp2TransitionCount', off: 220, kind: 'u32' },
  { name: 'thermalMgmtTemp1TotalTime', off: 224, kind: 'u32' },
  { name: 'thermalMgmtTemp2TotalTime', off: 228, kind: 'u32' },
];

/** Encode the SMART / Health log into a fresh 512-byte buffer. */
export function encodeSmartLog(s: Partial<SmartLog>): Uint8Array {
  const b = new Uint8Array(SMART_LOG_SIZE);
  encodeFields(b, 0, SMART_LOG_FIELDS, s);
  return b;
}

/** Decode the SMART / Health log. */
export function decodeSmartLog(b: Uint8Array, o = 0): SmartLog {
  need(b, o, SMART_LOG_SIZE, 'SMART log');
  return decodeFields(b, o, SMART_LOG_FIELDS);
}

/** Data units (1000 × 512 bytes, rounded up) for a byte count, as SMART reports them. */
export function bytesToDataUnits(bytes: bigint | number): bigint {
  const b = BigInt(bytes);
  return (b + 512_000n - 1n) / 512_000n;
}

/** Celsius to the kelvin value SMART reports (rounded to nearest). */
export function celsiusToKelvin(c: number): number {
  return Math.round(c + 273.15);
}

// ---------------------------------------------------------------- Firmware Slot Information (03h)

export const FW_SLOT_LOG_SIZE = 512;
export const FW_SLOTS = 7;

/** Firmware Slot Information log. */
export interface FirmwareSlotLog {
  /** Active firmware info: bits 2:0 active slot, 6:4 slot activated at next reset. */
  afi: number;
  /** Revision per slot 1..7 ('' = empty slot, encoded as zeros). */
  frs: string[];
}

/** Encode the Firmware Slot log into a fresh 512-byte buffer. */
export function encodeFirmwareSlotLog(l: FirmwareSlotLog): Uint8Array {
  const b = new Uint8Array(FW_SLOT_LOG_SIZE);
  b[0] = l.afi & 0xff;
  if (l.frs.length > FW_SLOTS) throw new RangeError(`at most ${FW_SLOTS} firmware slots`);
  l.frs.forEach((r, i) => {
    if (r !== '') writeAscii(b, 8 + i * 8, 8, r, 0x20);
  });
  return b;
}

/** Decode the Firmware Slot log (always 7 slots). */
export function decodeFirmwareSlotLog(b: Uint8Array, o = 0): FirmwareSlotLog {
  need(b, o, 64, 'Firmware slot log');
  const frs: string[] = [];
  for (let i = 0; i < FW_SLOTS; i++) frs.push(readAscii(b, o + 8 + i * 8, 8));
  return { afi: b[o]!, frs };
}

// ---------------------------------------------------------------- Changed Namespace List (04h)

export const CHANGED_NS_LIST_SIZE = 4096;
export const CHANGED_NS_LIST_MAX = 1024;
/** First entry meaning "more than 1024 namespaces changed". */
export const CHANGED_NS_OVERFLOW = 0xffff_ffff;

/** Encode the Changed Namespace List (ascending, de-duplicated; overflow marker above 1024). */
export function encodeChangedNsList(nsids: Iterable<number>): Uint8Array {
  const b = new Uint8Array(CHANGED_NS_LIST_SIZE);
  const list = [...new Set(nsids)].filter((n) => n > 0).sort((x, y) => x - y);
  if (list.length > CHANGED_NS_LIST_MAX) {
    wr32(b, 0, CHANGED_NS_OVERFLOW);
    return b;
  }
  list.forEach((n, i) => wr32(b, i * 4, n));
  return b;
}

/** Decode the Changed Namespace List. */
export function decodeChangedNsList(b: Uint8Array, o = 0): { overflow: boolean; nsids: number[] } {
  need(b, o, 4, 'Changed NS list');
  if (rd32(b, o) === CHANGED_NS_OVERFLOW) return { overflow: true, nsids: [] };
  const nsids: number[] = [];
  const n = Math.min(CHANGED_NS_LIST_MAX, Math.floor((b.length - o) / 4));
  for (let i = 0; i < n; i++) {
    const v = rd32(b, o + i * 4);
    if (v === 0) break;
    nsids.push(v);
  }
  return { overflow: false, nsids };
}

// ---------------------------------------------------------------- Commands Supported and Effects (05h)

export const COMMAND_EFFECTS_LOG_SIZE = 4096;

/** Command effects bits. */
export const CmdEffects = {
  Supported: 1 << 0,
  LbaContentChange: 1 << 1,
  NsCapabilityChange: 1 << 2,
  NsInventoryChange: 1 << 3,
  ControllerCapabilityChange: 1 << 4,
  /** CSE bits 18:16: 1 = no other command for this namespace, 2 = no other command at all. */
  CseNamespace: 1 << 16,
  CseController: 2 << 16,
} as const;

/** Encode the Commands Supported and Effects log from opcode → effects maps. */
export function encodeCommandEffectsLog(admin: ReadonlyMap<number, number>, io: ReadonlyMap<number, number>): Uint8Array {
  const b = new Uint8Array(COMMAND_EFFECTS_LOG_SIZE);
  for (const [op, fx] of admin) wr32(b, (op & 0xff) * 4, fx);
  for (const [op, fx] of io) wr32(b, 1024 + (op & 0xff) * 4, fx);
  return b;
}

/** Decode the Commands Supported and Effects log into maps of non-zero entries. */
export function decodeCommandEffectsLog(b: Uint8Array, o = 0): { admin: Map<number, number>; io: Map<number, number> } {
  need(b, o, 2048, 'Command effects log');
  const admin = new Map<number, number>();
  const io = new Map<number, number>();
  for (let op = 0; op < 256; op++) {
    const a = rd32(b, o + op * 4);
    if (a !== 0) admin.set(op, a);
    const i = rd32(b, o + 1024 + op * 4);
    if (i !== 0) io.set(op, i);
  }
  return { admin, io };
}
