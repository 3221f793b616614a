/**
 * NVMe command opcodes: admin, NVM command set I/O, and the fabrics command (0x7f)
 * with its FCTYPE sub-opcodes (NVMe base spec 2.0 fig. 28/"Opcodes for Admin
 * Commands", NVM command set spec, NVMe-oF spec "Fabrics Command Types").
 *
 * Bits 1:0 of an opcode (and of an FCTYPE) encode the data transfer direction
 * (00 none, 01 host→controller, 10 controller→host, 11 bidirectional), which the
 * core uses to decide staging before it knows anything else about a command.
 */

/** Admin command set opcodes. */
export const AdminOpcode = {
  DeleteSq: 0x00,
  CreateSq: 0x01,
  GetLogPage: 0x02,
  DeleteCq: 0x04,
  CreateCq: 0x05,
  Identify: 0x06,
  Abort: 0x08,
  SetFeatures: 0x09,
  GetFeatures: 0x0a,
  AsyncEventRequest: 0x0c,
  NamespaceManagement: 0x0d,
  FirmwareCommit: 0x10,
  FirmwareImageDownload: 0x11,
  DeviceSelfTest: 0x14,
  NamespaceAttachment: 0x15,
  KeepAlive: 0x18,
  DirectiveSend: 0x19,
  DirectiveReceive: 0x1a,
  VirtualizationManagement: 0x1c,
  NvmeMiSend: 0x1d,
  NvmeMiReceive: 0x1e,
  CapacityManagement: 0x20,
  Lockdown: 0x24,
  DoorbellBufferConfig: 0x7c,
  Fabrics: 0x7f,
  FormatNvm: 0x80,
  SecuritySend: 0x81,
  SecurityReceive: 0x82,
  Sanitize: 0x84,
  GetLbaStatus: 0x86,
} as const;
export type AdminOpcode = (typeof AdminOpcode)[keyof typeof AdminOpcode];

/** NVM command set I/O opcodes (plus the zoned ones a host may send). */
export const IoOpcode = {
  Flush: 0x00,
  Write: 0x01,
  Read: 0x02,
  WriteUncorrectable: 0x04,
  Compare: 0x05,
  WriteZeroes: 0x08,
  DatasetManagement: 0x09,
  Verify: 0x0c,
  ReservationRegister: 0x0d,
  ReservationReport: 0x0e,
  ReservationAcquire: 0x11,
  ReservationRelease: 0x15,
  Copy: 0x19,
  ZoneMgmtSend: 0x79,
  ZoneMgmtReceive: 0x7a,
  ZoneAppend: 0x7d,
  /** Fabrics commands are also legal on I/O queues (Connect, Disconnect, Auth). */
  Fabrics: 0x7f,
} as const;
export type IoOpcode = (typeof IoOpcode)[keyof typeof IoOpcode];

/** The fabrics command opcode; the command type is in FCTYPE (SQE byte 4). */
export const FABRICS_OPCODE = 0x7f;

/** Fabrics command types (FCTYPE). */
export const FabricsType = {
  PropertySet: 0x00,
  Connect: 0x01,
  PropertyGet: 0x04,
  AuthenticationSend: 0x05,
  AuthenticationReceive: 0x06,
  Disconnect: 0x08,
} as const;
export type FabricsType = (typeof FabricsType)[keyof typeof FabricsType];

/** Data transfer direction encoded in opcode/FCTYPE bits 1:0. */
export const XferDir = {
  None: 0,
  HostToCtrl: 1,
  CtrlToHost: 2,
  Bidirectional: 3,
} as const;
export type XferDir = (typeof XferDir)[keyof typeof XferDir];

/** Transfer direction of an opcode (or FCTYPE) from its low two bits. */
export function opcodeXferDir(opcodeOrFctype: number): XferDir {
  return (opcodeOrFctype & 3) as XferDir;
}

function invert(o: Record<string, number>): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(o)) if (!m.has(v)) m.set(v, k);
  return m;
}

const adminNames = invert(AdminOpcode);
const ioNames = invert(IoOpcode);
const fabricsNames = invert(FabricsType);

/** Name of an admin opcode for logs, e.g. "Identify" or "admin-0x3e". */
export function adminOpcodeName(op: number): string {
  return adminNames.get(op) ?? `admin-0x${hex2(op)}`;
}

/** Name of an I/O opcode for logs, e.g. "Read" or "io-0x3e". */
export function ioOpcodeName(op: number): string {
  return ioNames.get(op) ?? `io-0x${hex2(op)}`;
}

/** Name of a fabrics command type for logs, e.g. "Connect" or "fctype-0x3e". */
export function fabricsTypeName(fctype: number): string {
  return fabricsNames.get(fctype) ?? `fctype-0x${hex2(fctype)}`;
}

/** Name of a command for logs, choosing the opcode table by queue (admin qid 0) and fabrics FCTYPE. */
export function commandName(opcode: number, isAdminQueue: boolean, fctype?: number): string {
  if (opcode === FABRICS_OPCODE) return fctype === undefined ? 'Fabrics' : `Fabrics/${fabricsTypeName(fctype)}`;
  return isAdminQueue ? adminOpcodeName(opcode) : ioOpcodeName(opcode);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
