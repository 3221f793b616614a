/**
 * Set Features (admin 0x09) / Get Features (admin 0x0a) (NVMe base spec 2.0
 * "Features"):
 *   Set: cdw10 FID 7:0, SV (save) bit 31; cdw11.. feature specific; cdw14 UUID index 6:0
 *   Get: cdw10 FID 7:0, SEL 10:8 (current/default/saved/supported capabilities)
 * plus the dword encodings of the features a fabrics target implements.
 */

import { AdminOpcode } from './opcodes.js';
import { encodeSqe, sqeCdw10, sqeCdw11, sqeCdw12, sqeCdw13, sqeCdw14, sqeCdw15, sqeCid, sqeNsid } from './sqe.js';

/** Feature identifiers. */
export const FeatureId = {
  Arbitration: 0x01,
  PowerManagement: 0x02,
  LbaRangeType: 0x03,
  TemperatureThreshold: 0x04,
  ErrorRecovery: 0x05,
  VolatileWriteCache: 0x06,
  NumberOfQueues: 0x07,
  InterruptCoalescing: 0x08,
  InterruptVectorConfig: 0x09,
  WriteAtomicityNormal: 0x0a,
  AsyncEventConfig: 0x0b,
  AutonomousPowerStateTransition: 0x0c,
  HostMemoryBuffer: 0x0d,
  Timestamp: 0x0e,
  KeepAliveTimer: 0x0f,
  HostControlledThermalMgmt: 0x10,
  NonOpPowerStateConfig: 0x11,
  ReadRecoveryLevelConfig: 0x12,
  PredictableLatencyModeConfig: 0x13,
  PredictableLatencyModeWindow: 0x14,
  HostBehaviorSupport: 0x16,
  SanitizeConfig: 0x17,
  EnduranceGroupEventConfig: 0x18,
  IoCommandSetProfile: 0x19,
  SoftwareProgressMarker: 0x80,
  HostIdentifier: 0x81,
  ReservationNotificationMask: 0x82,
  ReservationPersistence: 0x83,
  NsWriteProtectionConfig: 0x84,
} as const;
export type FeatureId = (typeof FeatureId)[keyof typeof FeatureId];

/** Get Features SEL values. */
export const FeatureSel = {
  Current: 0,
  Default: 1,
  Saved: 2,
  SupportedCapabilities: 3,
} as const;
export type FeatureSel = (typeof FeatureSel)[keyof typeof FeatureSel];

/** Result bits of Get Features with SEL = supported capabilities. */
export const FeatureCap = {
  Saveable: 1 << 0,
  NamespaceSpecific: 1 << 1,
  Changeable: 1 << 2,
} as const;

/** Set/Get Features command fields. */
export interface FeaturesCommand {
  cid: number;
  nsid: number;
  fid: number;
  /** Set Features: save across resets (SV). */
  save: boolean;
  /** Get Features: select (SEL). */
  sel: number;
  cdw11: number;
  cdw12: number;
  cdw13: number;
  uuidIndex: number;
  cdw15: number;
}

/** FID of a Set/Get Features SQE (in place). */
export function featuresFid(b: Uint8Array, o = 0): number {
  return sqeCdw10(b, o) & 0xff;
}

/** SEL of a Get Features SQE (in place). */
export function featuresSel(b: Uint8Array, o = 0): number {
  return (sqeCdw10(b, o) >>> 8) & 7;
}

/** SV of a Set Features SQE (in place). */
export function featuresSave(b: Uint8Array, o = 0): boolean {
  return (sqeCdw10(b, o) & 0x8000_0000) !== 0;
}

/** Decode a Set or Get Features SQE (save/sel both decoded; only one is meaningful per opcode). */
export function decodeFeaturesCommand(b: Uint8Array, o = 0): FeaturesCommand {
  return {
    cid: sqeCid(b, o),
    nsid: sqeNsid(b, o),
    fid: featuresFid(b, o),
    save: featuresSave(b, o),
    sel: featuresSel(b, o),
    cdw11: sqeCdw11(b, o),
    cdw12: sqeCdw12(b, o),
    cdw13: sqeCdw13(b, o),
    uuidIndex: sqeCdw14(b, o) & 0x7f,
    cdw15: sqeCdw15(b, o),
  };
}

/** Build a Set Features SQE. */
export function encodeSetFeatures(
  b: Uint8Array,
  c: Partial<Omit<FeaturesCommand, 'sel'>> & { fid: number },
  o = 0,
): Uint8Array {
  return encodeSqe(
    b,
    {
      opcode: AdminOpcode.SetFeatures,
      cid: c.cid ?? 0,
      nsid: c.nsid ?? 0,
      cdw10: ((c.fid & 0xff) | (c.save === true ? 0x8000_0000 : 0)) >>> 0,
      cdw11: c.cdw11 ?? 0,
      cdw12: c.cdw12 ?? 0,
      cdw13: c.cdw13 ?? 0,
      cdw14: (c.uuidIndex ?? 0) & 0x7f,
      cdw15: c.cdw15 ?? 0,
    },
    o,
  );
}

/** Build a Get Features SQE. */
export function encodeGetFeatures(
  b: Uint8Array,
  c: Partial<Omit<FeaturesCommand, 'save'>> & { fid: number },
  o = 0,
): Uint8Array {
  return encodeSqe(
    b,
    {
      opcode: AdminOpcode.GetFeatures,
      cid: c.cid ?? 0,
      nsid: c.nsid ?? 0,
      cdw10: (c.fid & 0xff) | (((c.sel ?? 0) & 7) << 8),
      cdw11: c.cdw11 ?? 0,
      cdw14: (c.uuidIndex ?? 0) & 0x7f,
    },
    o,
  );
}

// ---------------------------------------------------------------- feature value encodings

/**
 * Number of Queues (07h): cdw11 and the completion dw0 share one layout,
 * NSQ 15:0 and NCQ 31:16, both 0-based (request: NSQR/NCQR; result: NSQA/NCQA).
 * 0xffff in a request is invalid (65536 queues).
 */
export function encodeNumQueues(nsq0: number, ncq0: number): number {
  return ((nsq0 & 0xffff) | ((ncq0 & 0xffff) << 16)) >>> 0;
}

/** Decode a Number of Queues dword into 0-based counts. */
export function decodeNumQueues(dw: number): { nsq: number; ncq: number } {
  return { nsq: dw & 0xffff, ncq: dw >>> 16 };
}

/** Arbitration (01h) dword: AB 2:0 (burst, log2), LPW 15:8, MPW 23:16, HPW 31:24. */
export function encodeArbitration(a: { ab: number; lpw: number; mpw: number; hpw: number }): number {
  return ((a.ab & 7) | ((a.lpw & 0xff) << 8) | ((a.mpw & 0xff) << 16) | ((a.hpw & 0xff) << 24)) >>> 0;
}

/** Decode an Arbitration dword. */
export function decodeArbitration(dw: number): { ab: number; lpw: number; mpw: number; hpw: number } {
  return { ab: dw & 7, lpw: (dw >>> 8) & 0xff, mpw: (dw >>> 16) & 0xff, hpw: dw >>> 24 };
}

/** Power Management (02h) dword: PS 4:0, WH 7:5. */
export function encodePowerManagement(ps: number, wh = 0): number {
  return (ps & 0x1f) | ((wh & 7) << 5);
}

/** Temperature Threshold (04h) dword: TMPTH 15:0 (kelvin), TMPSEL 19:16, THSEL 21:20 (0 over, 1 under). */
export function encodeTemperatureThreshold(t: { tmpth: number; tmpsel?: number; thsel?: number }): number {
  return ((t.tmpth & 0xffff) | (((t.tmpsel ?? 0) & 0xf) << 16) | (((t.thsel ?? 0) & 3) << 20)) >>> 0;
}

/** Decode a Temperature Threshold dword. */
export function decodeTemperatureThreshold(dw: number): { tmpth: number; tmpsel: number; thsel: number } {
  return { tmpth: dw & 0xffff, tmpsel: (dw >>> 16) & 0xf, thsel: (dw >>> 20) & 3 };
}

/** Error Recovery (05h) dword: TLER 15:0 (100 ms units), DULBE bit 16. */
export function encodeErrorRecovery(tler: number, dulbe = false): number {
  return ((tler & 0xffff) | (dulbe ? 1 << 16 : 0)) >>> 0;
}

/** Volatile Write Cache (06h) dword: WCE bit 0. */
export function encodeVolatileWriteCache(enabled: boolean): number {
  return enabled ? 1 : 0;
}

/** WCE from a Volatile Write Cache dword. */
export function decodeVolatileWriteCache(dw: number): boolean {
  return (dw & 1) === 1;
}

/** Interrupt Coalescing (08h) dword: THR 7:0 (0-based entries), TIME 15:8 (100 µs units). */
export function encodeInterruptCoalescing(thr: number, time: number): number {
  return (thr & 0xff) | ((time & 0xff) << 8);
}

/** Decode an Interrupt Coalescing dword. */
export function decodeInterruptCoalescing(dw: number): { thr: number; time: number } {
  return { thr: dw & 0xff, time: (dw >>> 8) & 0xff };
}

/** Write Atomicity Normal (0Ah) dword: DN bit 0. */
export function encodeWriteAtomicity(disableNormal: boolean): number {
  return disableNormal ? 1 : 0;
}

/**
 * Asynchronous Event Configuration (0Bh) bits. The bit positions equal the
 * Identify Controller OAES bits (Oaes in identify-ctrl.ts) for notices; bits 7:0
 * select SMART / health critical warnings.
 */
export const AsyncEventConfig = {
  SmartMask: 0xff,
  NsAttributeNotices: 1 << 8,
  FirmwareActivationNotices: 1 << 9,
  TelemetryLogNotices: 1 << 10,
  AnaChangeNotices: 1 << 11,
  PredictableLatencyNotices: 1 << 12,
  LbaStatusNotices: 1 << 13,
  EnduranceGroupNotices: 1 << 14,
  NormalSubsystemShutdownNotices: 1 << 15,
  // 0x8000_0000 rather than 1 << 31, which is negative in JS.
  DiscoveryLogChangeNotices: 0x8000_0000,
} as const;

/** Keep Alive Timer (0Fh): cdw11 is KATO in milliseconds. */
export function encodeKeepAliveTimer(katoMs: number): number {
  return katoMs >>> 0;
}

/** Host Identifier (81h): cdw11 bit 0 EXHID selects a 128-bit (16-byte) host id instead of 64-bit. */
export const HOST_ID_EXHID = 1 << 0;

/** Data length of a Host Identifier Set/Get for a given cdw11. */
export function hostIdLength(cdw11: number): 8 | 16 {
  return (cdw11 & HOST_ID_EXHID) !== 0 ? 16 : 8;
}
