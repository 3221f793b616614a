/**
 * Asymmetric Namespace Access (NVMe base spec 2.0 "Asymmetric Namespace Access
 * Reporting", "Asymmetric Namespace Access log page (Log Identifier 0Ch)").
 *
 * Log page layout (little endian):
 *   header (16 B):  0 CHGCNT u64   8 NGRPS u16   10..15 reserved
 *   per group:      0 ANAGRPID u32 4 NNSID u32   8 CHGCNT u64   16 ANAS u8 (state in bits 3:0)
 *                   17..31 reserved   32.. NNSID × NSID u32
 * With the RGO ("return groups only", LSP bit 0) flag a controller reports no NSIDs
 * (NNSID 0) — Linux admin-cmd.c nvmet_format_ana_group.
 */

import { need, rd16, rd32, rd64n, wr16, wr32, wr64n } from './le.js';

/** ANA states as they appear in the ANAS field. */
export const AnaState = {
  Optimized: 0x01,
  NonOptimized: 0x02,
  Inaccessible: 0x03,
  PersistentLoss: 0x04,
  Change: 0x0f,
} as const;
export type AnaState = (typeof AnaState)[keyof typeof AnaState];

/** The names nvmetcli / configfs use for each state (ana_groups/N/ana/state). */
export const ANA_STATE_NAMES: Readonly<Record<AnaState, string>> = {
  [AnaState.Optimized]: 'optimized',
  [AnaState.NonOptimized]: 'non-optimized',
  [AnaState.Inaccessible]: 'inaccessible',
  [AnaState.PersistentLoss]: 'persistent-loss',
  [AnaState.Change]: 'change',
};

/** State for a configfs name; undefined for anything else. */
export function anaStateFromName(name: string): AnaState | undefined {
  for (const [v, n] of Object.entries(ANA_STATE_NAMES)) if (n === name) return Number(v) as AnaState;
  return undefined;
}

/** Get Log Page LSP bit 0 for LID 0Ch: return groups only (no NSID lists). */
export const ANA_LOG_RGO = 1 << 0;

/** ANACAP bits (Identify Controller byte 343). */
export const Anacap = {
  Optimized: 1 << 0,
  NonOptimized: 1 << 1,
  Inaccessible: 1 << 2,
  PersistentLoss: 1 << 3,
  Change: 1 << 4,
  /** ANAGRPID does not change while the namespace is attached. */
  GrpidNotChanged: 1 << 6,
  /** Non-zero ANAGRPID supported in Namespace Management. */
  GrpidMgmt: 1 << 7,
} as const;

export const ANA_LOG_HEADER_SIZE = 16;
export const ANA_GROUP_DESC_SIZE = 32;

/** One ANA Group Descriptor. */
export interface AnaGroupDescriptor {
  grpid: number;
  /** Change count of this group (Linux reports the global count in every descriptor). */
  chgcnt: bigint;
  state: number;
  /** Member namespaces (empty with RGO). */
  nsids: readonly number[];
}

/** The whole ANA log page. */
export interface AnaLog {
  chgcnt: bigint;
  groups: AnaGroupDescriptor[];
}

/** Byte size of the page for these groups. */
export function anaLogSize(groups: readonly Pick<AnaGroupDescriptor, 'nsids'>[]): number {
  let n = ANA_LOG_HEADER_SIZE;
  for (const g of groups) n += ANA_GROUP_DESC_SIZE + 4 * g.nsids.length;
  return n;
}

/** Encode the ANA log page (exactly `anaLogSize` bytes). */
export function encodeAnaLog(log: AnaLog): Uint8Array {
  if (log.groups.length > 0xffff) throw new RangeError(`${log.groups.length} ANA groups do not fit NGRPS`);
  const b = new Uint8Array(anaLogSize(log.groups));
  wr64n(b, 0, log.chgcnt);
  wr16(b, 8, log.groups.length);
  let o = ANA_LOG_HEADER_SIZE;
  for (const g of log.groups) {
    if (!Number.isInteger(g.grpid) || g.grpid < 1 || g.grpid > 0xffff_ffff) throw new RangeError(`ANA group id ${g.grpid} out of range`);
    wr32(b, o, g.grpid);
    wr32(b, o + 4, g.nsids.length);
    wr64n(b, o + 8, g.chgcnt);
    b[o + 16] = g.state & 0x0f;
    o += ANA_GROUP_DESC_SIZE;
    for (const nsid of g.nsids) {
      wr32(b, o, nsid);
      o += 4;
    }
  }
  return b;
}

/**
 * Decode an ANA log page. Descriptors that would run past the buffer end the
 * walk (a host that read a short window sees what fits), so `groups.length` may
 * be less than `ngrps`.
 */
export function decodeAnaLog(b: Uint8Array, o = 0): AnaLog & { ngrps: number } {
  need(b, o, ANA_LOG_HEADER_SIZE, 'ANA log header');
  const chgcnt = rd64n(b, o);
  const ngrps = rd16(b, o + 8);
  const groups: AnaGroupDescriptor[] = [];
  let p = o + ANA_LOG_HEADER_SIZE;
  for (let i = 0; i < ngrps; i++) {
    if (p + ANA_GROUP_DESC_SIZE > b.length) break;
    const n = rd32(b, p + 4);
    if (p + ANA_GROUP_DESC_SIZE + 4 * n > b.length) break;
    const nsids: number[] = [];
    for (let k = 0; k < n; k++) nsids.push(rd32(b, p + ANA_GROUP_DESC_SIZE + 4 * k));
    groups.push({ grpid: rd32(b, p), chgcnt: rd64n(b, p + 8), state: b[p + 16]! & 0x0f, nsids });
    p += ANA_GROUP_DESC_SIZE + 4 * n;
  }
  return { chgcnt, ngrps, groups };
}
