/**
 * NVMe completion status (NVMe base spec 2.0 "Completion Queue Entry: Status Field").
 *
 * A status value here is the 15-bit Status Field as Linux keeps it (the CQE's last
 * word shifted right by one, i.e. without the phase tag):
 *   bits  7:0  SC   status code
 *   bits 10:8  SCT  status code type (0 generic, 1 command specific, 2 media/data
 *              integrity, 3 path related, 7 vendor specific)
 *   bits 12:11 CRD  command retry delay index
 *   bit  13    M    more (error log page has more information)
 *   bit  14    DNR  do not retry
 * so `NvmeStatus.ConnectInvalidParam` is 0x182 and with DNR 0x4182, like Linux.
 */

export const STATUS_SC_MASK = 0x00ff;
export const STATUS_SCT_MASK = 0x0700;
export const STATUS_SCT_SHIFT = 8;
export const STATUS_CRD_MASK = 0x1800;
export const STATUS_CRD_SHIFT = 11;
export const STATUS_MORE = 0x2000;
export const STATUS_DNR = 0x4000;

/** Status code types. */
export const Sct = {
  Generic: 0,
  CommandSpecific: 1,
  MediaError: 2,
  Path: 3,
  Vendor: 7,
} as const;
export type Sct = (typeof Sct)[keyof typeof Sct];

/**
 * Status values (SCT << 8 | SC, no DNR). Command-specific codes 0x180..0x1bf
 * mean different things for I/O commands and for fabrics commands; both sets are
 * listed, under distinct keys with the same numeric value.
 */
export const NvmeStatus = {
  // --- SCT 0: generic command status
  Success: 0x000,
  InvalidOpcode: 0x001,
  InvalidField: 0x002,
  CidConflict: 0x003,
  DataXferError: 0x004,
  AbortedPowerLoss: 0x005,
  InternalError: 0x006,
  AbortedByRequest: 0x007,
  AbortedSqDeletion: 0x008,
  AbortedFusedFail: 0x009,
  AbortedFusedMissing: 0x00a,
  InvalidNs: 0x00b,
  CommandSequenceError: 0x00c,
  SglInvalidLastSegment: 0x00d,
  SglInvalidCount: 0x00e,
  SglInvalidDataLength: 0x00f,
  SglInvalidMetadataLength: 0x010,
  SglInvalidType: 0x011,
  InvalidCmbUse: 0x012,
  PrpInvalidOffset: 0x013,
  AtomicWriteUnitExceeded: 0x014,
  OperationDenied: 0x015,
  SglInvalidOffset: 0x016,
  HostIdInconsistentFormat: 0x018,
  KeepAliveExpired: 0x019,
  KeepAliveInvalid: 0x01a,
  AbortedPreemptAbort: 0x01b,
  SanitizeFailed: 0x01c,
  SanitizeInProgress: 0x01d,
  SglInvalidGranularity: 0x01e,
  CmdNotSupportedCmbQueue: 0x01f,
  NsWriteProtected: 0x020,
  CommandInterrupted: 0x021,
  TransientTransportError: 0x022,
  AdminCommandMediaNotReady: 0x024,
  InvalidIoCommandSet: 0x02c,
  LbaOutOfRange: 0x080,
  CapacityExceeded: 0x081,
  NsNotReady: 0x082,
  ReservationConflict: 0x083,
  FormatInProgress: 0x084,

  // --- SCT 1: command specific (admin)
  InvalidCq: 0x100,
  InvalidQid: 0x101,
  InvalidQueueSize: 0x102,
  AbortCommandLimitExceeded: 0x103,
  AsyncEventLimitExceeded: 0x105,
  InvalidFirmwareSlot: 0x106,
  InvalidFirmwareImage: 0x107,
  InvalidInterruptVector: 0x108,
  InvalidLogPage: 0x109,
  InvalidFormat: 0x10a,
  FirmwareNeedsConvReset: 0x10b,
  InvalidQueueDeletion: 0x10c,
  FeatureNotSaveable: 0x10d,
  FeatureNotChangeable: 0x10e,
  FeatureNotNsSpecific: 0x10f,
  FirmwareNeedsSubsysReset: 0x110,
  FirmwareNeedsReset: 0x111,
  FirmwareNeedsMaxTime: 0x112,
  FirmwareActivationProhibited: 0x113,
  OverlappingRange: 0x114,
  NsInsufficientCapacity: 0x115,
  NsIdUnavailable: 0x116,
  NsAlreadyAttached: 0x118,
  NsIsPrivate: 0x119,
  NsNotAttached: 0x11a,
  ThinProvisioningNotSupported: 0x11b,
  ControllerListInvalid: 0x11c,
  AnaGroupIdInvalid: 0x124,
  AnaAttachFailed: 0x125,

  // --- SCT 1: command specific (NVM I/O commands)
  ConflictingAttributes: 0x180,
  InvalidProtectionInfo: 0x181,
  WriteToReadOnlyRange: 0x182,

  // --- SCT 1: command specific (fabrics commands)
  ConnectIncompatibleFormat: 0x180,
  ConnectControllerBusy: 0x181,
  ConnectInvalidParam: 0x182,
  ConnectRestartDiscovery: 0x183,
  ConnectInvalidHost: 0x184,
  /** A fabrics command on the wrong kind of queue (e.g. Disconnect on the admin queue). */
  InvalidQueueType: 0x185,
  DiscoveryRestart: 0x190,
  AuthRequired: 0x191,

  // --- SCT 2: media and data integrity errors
  WriteFault: 0x280,
  UnrecoveredReadError: 0x281,
  GuardCheckError: 0x282,
  AppTagCheckError: 0x283,
  RefTagCheckError: 0x284,
  CompareFailure: 0x285,
  AccessDenied: 0x286,
  DeallocatedOrUnwrittenBlock: 0x287,

  // --- SCT 3: path related
  InternalPathError: 0x300,
  AnaPersistentLoss: 0x301,
  AnaInaccessible: 0x302,
  AnaTransition: 0x303,
  ControllerPathError: 0x360,
  HostPathError: 0x370,
  HostAbortedCommand: 0x371,
} as const;
export type NvmeStatusKey = keyof typeof NvmeStatus;

/** Which command family a status belongs to, to name ambiguous command-specific codes. */
export type StatusContext = 'admin' | 'io' | 'fabrics';

/** Build a status value from SCT/SC and optional DNR/MORE/CRD. */
export function makeStatus(
  sct: number,
  sc: number,
  opts: { dnr?: boolean; more?: boolean; crd?: number } = {},
): number {
  let s = ((sct & 7) << STATUS_SCT_SHIFT) | (sc & 0xff);
  if (opts.crd !== undefined) s |= (opts.crd & 3) << STATUS_CRD_SHIFT;
  if (opts.more === true) s |= STATUS_MORE;
  if (opts.dnr === true) s |= STATUS_DNR;
  return s;
}

/** Status with the DNR bit set. */
export function withDnr(status: number): number {
  return status | STATUS_DNR;
}

/** Status code (SC, bits 7:0). */
export function statusSc(status: number): number {
  return status & STATUS_SC_MASK;
}

/** Status code type (SCT, bits 10:8). */
export function statusSct(status: number): number {
  return (status & STATUS_SCT_MASK) >>> STATUS_SCT_SHIFT;
}

/** Status without DNR/MORE/CRD: the SCT<<8|SC value to compare against `NvmeStatus`. */
export function statusCode(status: number): number {
  return status & (STATUS_SCT_MASK | STATUS_SC_MASK);
}

/** True if the Do Not Retry bit is set. */
export function isDnr(status: number): boolean {
  return (status & STATUS_DNR) !== 0;
}

/** True if the More bit is set. */
export function isMore(status: number): boolean {
  return (status & STATUS_MORE) !== 0;
}

/** Command retry delay index (CRD, bits 12:11). */
export function statusCrd(status: number): number {
  return (status & STATUS_CRD_MASK) >>> STATUS_CRD_SHIFT;
}

/** True for successful completion (SCT 0, SC 0; flag bits ignored). */
export function isSuccess(status: number): boolean {
  return statusCode(status) === 0;
}

const NAMES: Record<number, string> = {
  0x000: 'Successful Completion',
  0x001: 'Invalid Command Opcode',
  0x002: 'Invalid Field in Command',
  0x003: 'Command ID Conflict',
  0x004: 'Data Transfer Error',
  0x005: 'Commands Aborted due to Power Loss Notification',
  0x006: 'Internal Error',
  0x007: 'Command Abort Requested',
  0x008: 'Command Aborted due to SQ Deletion',
  0x009: 'Command Aborted due to Failed Fused Command',
  0x00a: 'Command Aborted due to Missing Fused Command',
  0x00b: 'Invalid Namespace or Format',
  0x00c: 'Command Sequence Error',
  0x00d: 'Invalid SGL Segment Descriptor',
  0x00e: 'Invalid Number of SGL Descriptors',
  0x00f: 'Data SGL Length Invalid',
  0x010: 'Metadata SGL Length Invalid',
  0x011: 'SGL Descriptor Type Invalid',
  0x012: 'Invalid Use of Controller Memory Buffer',
  0x013: 'PRP Offset Invalid',
  0x014: 'Atomic Write Unit Exceeded',
  0x015: 'Operation Denied',
  0x016: 'SGL Offset Invalid',
  0x018: 'Host Identifier Inconsistent Format',
  0x019: 'Keep Alive Timer Expired',
  0x01a: 'Keep Alive Timeout Invalid',
  0x01b: 'Command Aborted due to Preempt and Abort',
  0x01c: 'Sanitize Failed',
  0x01d: 'Sanitize In Progress',
  0x01e: 'SGL Data Block Granularity Invalid',
  0x01f: 'Command Not Supported for Queue in CMB',
  0x020: 'Namespace is Write Protected',
  0x021: 'Command Interrupted',
  0x022: 'Transient Transport Error',
  0x024: 'Admin Command Media Not Ready',
  0x02c: 'Invalid I/O Command Set',
  0x080: 'LBA Out of Range',
  0x081: 'Capacity Exceeded',
  0x082: 'Namespace Not Ready',
  0x083: 'Reservation Conflict',
  0x084: 'Format In Progress',
  0x100: 'Completion Queue Invalid',
  0x101: 'Invalid Queue Identifier',
  0x102: 'Invalid Queue Size',
  0x103: 'Abort Command Limit Exceeded',
  0x105: 'Asynchronous Event Request Limit Exceeded',
  0x106: 'Invalid Firmware Slot',
  0x107: 'Invalid Firmware Image',
  0x108: 'Invalid Interrupt Vector',
  0x109: 'Invalid Log Page',
  0x10a: 'Invalid Format',
  0x10b: 'Firmware Activation Requires Conventional Reset',
  0x10c: 'Invalid Queue Deletion',
  0x10d: 'Feature Identifier Not Saveable',
  0x10e: 'Feature Not Changeable',
  0x10f: 'Feature Not Namespace Specific',
  0x110: 'Firmware Activation Requires NVM Subsystem Reset',
  0x111: 'Firmware Activation Requires Controller Level Reset',
  0x112: 'Firmware Activation Requires Maximum Time Violation',
  0x113: 'Firmware Activation Prohibited',
  0x114: 'Overlapping Range',
  0x115: 'Namespace Insufficient Capacity',
  0x116: 'Namespace Identifier Unavailable',
  0x118: 'Namespace Already Attached',
  0x119: 'Namespace Is Private',
  0x11a: 'Namespace Not Attached',
  0x11b: 'Thin Provisioning Not Supported',
  0x11c: 'Controller List Invalid',
  0x124: 'ANA Group Identifier Invalid',
  0x125: 'ANA Attach Failed',
  0x280: 'Write Fault',
  0x281: 'Unrecovered Read Error',
  0x282: 'End-to-end Guard Check Error',
  0x283: 'End-to-end Application Tag Check Error',
  0x284: 'End-to-end Reference Tag Check Error',
  0x285: 'Compare Failure',
  0x286: 'Access Denied',
  0x287: 'Deallocated or Unwritten Logical Block',
  0x300: 'Internal Path Error',
  0x301: 'Asymmetric Access Persistent Loss',
  0x302: 'Asymmetric Access Inaccessible',
  0x303: 'Asymmetric Access Transition',
  0x360: 'Controller Pathing Error',
  0x370: 'Host Pathing Error',
  0x371: 'Command Aborted By Host',
};

const IO_SPECIFIC: Record<number, string> = {
  0x180: 'Conflicting Attributes',
  0x181: 'Invalid Protection Information',
  0x182: 'Attempted Write to Read Only Range',
};

const FABRICS_SPECIFIC: Record<number, string> = {
  0x180: 'Connect Incompatible Format',
  0x181: 'Connect Controller Busy',
  0x182: 'Connect Invalid Parameters',
  0x183: 'Connect Restart Discovery',
  0x184: 'Connect Invalid Host',
  0x185: 'Invalid Queue Type',
  0x190: 'Discovery Restart',
  0x191: 'Authentication Required',
};

/**
 * Human-readable name of a status (flags ignored). Codes 0x180..0x1bf are named
 * by `ctx`; without it the fabrics meaning is used (this is a fabrics target).
 */
export function statusName(status: number, ctx?: StatusContext): string {
  const code = statusCode(status);
  if (code >= 0x180 && code < 0x1c0) {
    const n = ctx === 'io' ? IO_SPECIFIC[code] : ctx === 'admin' ? undefined : FABRICS_SPECIFIC[code];
    if (n !== undefined) return n;
  }
  const n = NAMES[code];
  if (n !== undefined) return n;
  return `Unknown Status (sct 0x${statusSct(code).toString(16)} sc 0x${statusSc(code).toString(16).padStart(2, '0')})`;
}

/** One-line description for logs: name, hex value and flags, e.g. "Invalid Field in Command (0x4002, DNR)". */
export function formatStatus(status: number, ctx?: StatusContext): string {
  const flags: string[] = [];
  if (isDnr(status)) flags.push('DNR');
  if (isMore(status)) flags.push('MORE');
  const crd = statusCrd(status);
  if (crd !== 0) flags.push(`CRD${crd}`);
  const hex = `0x${(status & 0x7fff).toString(16).padStart(3, '0')}`;
  return `${statusName(status, ctx)} (${[hex, ...flags].join(', ')})`;
}

/**
 * An NVMe status raised as an exception at an edge (initiator API, command
 * handlers) and turned back into a CQE status by whoever catches it.
 */
export class NvmeStatusError extends Error {
  override readonly name = 'NvmeStatusError';
  /** 15-bit status including DNR/MORE/CRD. */
  readonly status: number;
  /** Completion dword 0 when it carries error detail (e.g. Connect IPO/IATTR). */
  readonly result: number;

  constructor(status: number, message?: string, opts: { result?: number; ctx?: StatusContext } = {}) {
    const desc = formatStatus(status, opts.ctx);
    super(message === undefined ? desc : `${message}: ${desc}`);
    this.status = status & 0x7fff;
    this.result = opts.result ?? 0;
  }

  /** SCT<<8|SC without flags. */
  get code(): number {
    return statusCode(this.status);
  }

  get sct(): number {
    return statusSct(this.status);
  }

  get sc(): number {
    return statusSc(this.status);
  }

  get dnr(): boolean {
    return isDnr(this.status);
  }
}

/** True if `e` is an NvmeStatusError (works across module copies via the name tag). */
export function isNvmeStatusError(e: unknown): e is NvmeStatusError {
  return e instanceof NvmeStatusError || (e instanceof Error && e.name === 'NvmeStatusError' && 'status' in e);
}

/** Status to complete with for an arbitrary thrown value: its NVMe status, else Internal Error. */
export function statusFromError(e: unknown): number {
  return isNvmeStatusError(e) ? e.status : NvmeStatus.InternalError;
}
