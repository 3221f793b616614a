/**
 * Identify command (admin 0x06): CNS values and the command dwords
 * (NVMe base spec 2.0 "Identify command"):
 *   cdw10 bits 7:0 CNS, bits 31:16 CNTID
 *   cdw11 bits 15:0 CNS specific identifier (NVM set / endurance group), bits 31:24 CSI
 *   cdw14 bits 6:0 UUID index
 * Every Identify data structure is 4096 bytes.
 */

import { AdminOpcode } from './opcodes.js';
import { encodeSqe, sqeCdw10, sqeCdw11, sqeCdw14, sqeNsid, sqeCid } from './sqe.js';

export const IDENTIFY_DATA_SIZE = 4096;

/** Controller or Namespace Structure (CNS) values. */
export const Cns = {
  Namespace: 0x00,
  Controller: 0x01,
  ActiveNsList: 0x02,
  NsDescList: 0x03,
  NvmSetList: 0x04,
  CsNamespace: 0x05,
  CsController: 0x06,
  CsActiveNsList: 0x07,
  CsIndependentNamespace: 0x08,
  AllocatedNsList: 0x10,
  AllocatedNamespace: 0x11,
  NsControllerList: 0x12,
  ControllerList: 0x13,
  PrimaryCtrlCaps: 0x14,
  SecondaryCtrlList: 0x15,
  NsGranularity: 0x16,
  UuidList: 0x17,
  DomainList: 0x18,
  EnduranceGroupList: 0x19,
  CsAllocatedNsList: 0x1a,
  CsAllocatedNamespace: 0x1b,
  CommandSetStructure: 0x1c,
} as const;
export type Cns = (typeof Cns)[keyof typeof Cns];

/** Command Set Identifiers (CSI). */
export const Csi = {
  Nvm: 0x00,
  KeyValue: 0x01,
  Zoned: 0x02,
} as const;
export type Csi = (typeof Csi)[keyof typeof Csi];

/** Identify command fields. */
export interface IdentifyCommand {
  cid: number;
  nsid: number;
  cns: number;
  cntid: number;
  /** CNS specific identifier (NVM set id / endurance group id). */
  cnssid: number;
  csi: number;
  uuidIndex: number;
}

/** CNS from an Identify SQE (cdw10 bits 7:0). */
export function identifyCns(b: Uint8Array, o = 0): number {
  return sqeCdw10(b, o) & 0xff;
}

/** CSI from an Identify SQE (cdw11 bits 31:24). */
export function identifyCsi(b: Uint8Array, o = 0): number {
  return sqeCdw11(b, o) >>> 24;
}

/** Decode an Identify SQE. */
export function decodeIdentifyCommand(b: Uint8Array, o = 0): IdentifyCommand {
  const cdw10 = sqeCdw10(b, o);
  const cdw11 = sqeCdw11(b, o);
  return {
    cid: sqeCid(b, o),
    nsid: sqeNsid(b, o),
    cns: cdw10 & 0xff,
    cntid: cdw10 >>> 16,
    cnssid: cdw11 & 0xffff,
    csi: cdw11 >>> 24,
    uuidIndex: sqeCdw14(b, o) & 0x7f,
  };
}

/** Build an Identify SQE (zeroes it; DPTR left for the transport). */
export function encodeIdentifyCommand(
  b: Uint8Array,
  c: Partial<IdentifyCommand> & { cns: number },
  o = 0,
): Uint8Array {
  return encodeSqe(
    b,
    {
      opcode: AdminOpcode.Identify,
      cid: c.cid ?? 0,
      nsid: c.nsid ?? 0,
      cdw10: ((c.cns & 0xff) | ((c.cntid ?? 0) << 16)) >>> 0,
      cdw11: (((c.cnssid ?? 0) & 0xffff) | (((c.csi ?? 0) & 0xff) << 24)) >>> 0,
      cdw14: (c.uuidIndex ?? 0) & 0x7f,
    },
    o,
  );
}
