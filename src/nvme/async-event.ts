/**
 * Asynchronous Event Request (admin 0x0c) completion dw0 (NVMe base spec 2.0
 * "Asynchronous Event Request command"):
 *   bits 2:0   Asynchronous Event Type
 *   bits 15:8  Asynchronous Event Information
 *   bits 23:16 Log Page Identifier the host reads (with RAE clear) to clear the event
 */

/** Asynchronous Event Types. */
export const AerType = {
  Error: 0,
  SmartHealth: 1,
  Notice: 2,
  Immediate: 3,
  IoCommandSpecific: 6,
  Vendor: 7,
} as const;
export type AerType = (typeof AerType)[keyof typeof AerType];

/** Asynchronous Event Information for type Notice. */
export const AerNotice = {
  NsAttributeChanged: 0x00,
  FirmwareActivationStarting: 0x01,
  TelemetryLogChanged: 0x02,
  AnaChange: 0x03,
  PredictableLatencyAggregateChange: 0x04,
  LbaStatusAlert: 0x05,
  EnduranceGroupAggregateChange: 0x06,
  NormalSubsystemShutdown: 0x07,
  DiscoveryLogChange: 0xf0,
} as const;

/** Asynchronous Event Information for type Error. */
export const AerError = {
  InvalidSubmissionQueue: 0x00,
  InvalidDoorbellWrite: 0x01,
  DiagnosticFailure: 0x02,
  PersistentInternalError: 0x03,
  TransientInternalError: 0x04,
  FirmwareImageLoadError: 0x05,
} as const;

/** Asynchronous Event Information for type SMART / Health. */
export const AerSmart = {
  Reliability: 0x00,
  TemperatureThreshold: 0x01,
  SpareBelowThreshold: 0x02,
} as const;

/** Decoded AER completion dw0. */
export interface AerResult {
  type: number;
  info: number;
  lid: number;
}

/** Build AER completion dw0 from type, information and log page id. */
export function encodeAerResult(type: number, info: number, lid: number): number {
  return ((type & 7) | ((info & 0xff) << 8) | ((lid & 0xff) << 16)) >>> 0;
}

/** Decode AER completion dw0. */
export function decodeAerResult(dw0: number): AerResult {
  return { type: dw0 & 7, info: (dw0 >>> 8) & 0xff, lid: (dw0 >>> 16) & 0xff };
}

/** dw0 of the "namespace attribute changed" notice (points at the Changed Namespace List, LID 04h). */
export const AER_NS_CHANGED = encodeAerResult(AerType.Notice, AerNotice.NsAttributeChanged, 0x04);

/** dw0 of the "discovery log page changed" notice (LID 70h). */
export const AER_DISCOVERY_CHANGED = encodeAerResult(AerType.Notice, AerNotice.DiscoveryLogChange, 0x70);

/** dw0 of the "ANA change" notice (LID 0Ch). */
export const AER_ANA_CHANGED = encodeAerResult(AerType.Notice, AerNotice.AnaChange, 0x0c);
