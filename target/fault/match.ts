/** Does a command match a rule's `match`? Pure, over the SQE and where it came from. */

import type { FaultMatch, CommandSet } from './rule.js';
import { FABRICS_OPCODE, IoOpcode } from '../../src/nvme/opcodes.js';
import { sqeCdw10, sqeFctype, sqeNlb, sqeNsid, sqeOpcode, sqeSlba } from '../../src/nvme/sqe.js';

/** Where a command came from (a Request gives these; the unit tests build them). */
export interface CommandOrigin {
  readonly sqe: Uint8Array;
  readonly qid: number;
  readonly port: number;
  /** null before Connect bound the queue to a controller. */
  readonly hostnqn: string | null;
  readonly subsysnqn: string | null;
}

/** NVM commands whose CDW10-11 is the SLBA and CDW12 bits 15:0 the 0's based NLB. */
const LBA_OPCODES: ReadonlySet<number> = new Set([IoOpcode.Read, IoOpcode.Write, IoOpcode.WriteZeroes, IoOpcode.Compare, IoOpcode.Verify, IoOpcode.WriteUncorrectable]);

export function commandSet(sqe: Uint8Array, qid: number): CommandSet {
  if (sqeOpcode(sqe) === FABRICS_OPCODE) return 'fabrics';
  return qid === 0 ? 'admin' : 'io';
}

export function matchesCommand(m: FaultMatch, c: CommandOrigin): boolean {
  const sqe = c.sqe;
  if (m.port !== undefined && m.port !== c.port) return false;
  if (m.qid !== undefined && m.qid !== c.qid) return false;
  if (m.hostnqn !== undefined && m.hostnqn !== c.hostnqn) return false;
  if (m.subsysnqn !== undefined && m.subsysnqn !== c.subsysnqn) return false;
  const set = commandSet(sqe, c.qid);
  if (m.set !== undefined && m.set !== set) return false;
  if (m.opcode !== undefined && m.opcode !== (set === 'fabrics' ? sqeFctype(sqe) : sqeOpcode(sqe))) return false;
  if (m.nsid !== undefined && m.nsid !== sqeNsid(sqe)) return false;
  if (m.cdw10 !== undefined && ((sqeCdw10(sqe) ^ m.cdw10.value) & m.cdw10.mask) !== 0) return false;
  if (m.lba !== undefined) {
    if (set !== 'io' || !LBA_OPCODES.has(sqeOpcode(sqe))) return false;
    const first = sqeSlba(sqe);
    const last = first + sqeNlb(sqe);
    if (last < m.lba.first || first > m.lba.last) return false;
  }
  return true;
}
