/**
 * Reservation Register / Acquire / Release / Report and the reservation
 * conflict check of other I/O commands (Linux drivers/nvme/target/pr.c:
 * nvmet_parse_pr_cmd, nvmet_execute_pr_*, nvmet_pr_check_cmd_access). The rules
 * live in core/reservation.ts; this file moves the data, maps outcomes to
 * statuses, queues notifications (log page 80h + AEN to the affected hosts'
 * controllers) and persists the state when PTPL is on before completing.
 */

import { DataDir } from '../../core/fabrics-ops.js';
import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import type { Namespace } from '../../core/namespace.js';
import { hostIdBytes, hostIdKey, type ResvAccess, type ResvOutcome, type ResvNotice } from '../../core/reservation.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { IoOpcode } from '../../../src/nvme/opcodes.js';
import { AerType } from '../../../src/nvme/async-event.js';
import { LogId } from '../../../src/nvme/log-pages.js';
import { CNTLID_DYNAMIC } from '../../../src/nvme/fabrics.js';
import {
  AER_INFO_RESV_LOG_AVAILABLE,
  RESV_ACQUIRE_DATA_SIZE,
  RESV_REGISTER_DATA_SIZE,
  RESV_RELEASE_DATA_SIZE,
  RESV_STATUS_EXT_HEADER_SIZE,
  ResvLogType,
  ResvNotifyMask,
  decodeResvAcquireCommand,
  decodeResvAcquireData,
  decodeResvRegisterCommand,
  decodeResvRegisterData,
  decodeResvReleaseCommand,
  decodeResvReleaseData,
  decodeResvReportCommand,
  encodeResvStatus,
  isAllRegistrantsType,
  resvReportLength,
} from '../../../src/nvme/reservations.js';

import { SqeOff } from '../../../src/nvme/sqe.js';

const OPCODE_LOC = SqeOff.Opcode;
const CDW10_LOC = SqeOff.Cdw10;
const CDW11_LOC = SqeOff.Cdw11;

/** Command groups of pr.c nvmet_is_req_{write,read}_cmd_group (NVM command set). */
export function resvAccessOf(opcode: number): ResvAccess {
  switch (opcode) {
    case IoOpcode.Flush:
    case IoOpcode.Write:
    case IoOpcode.WriteZeroes:
    case IoOpcode.DatasetManagement:
      return 'write';
    case IoOpcode.Read:
      return 'read';
    default:
      return 'none';
  }
}

/**
 * nvmet_pr_check_cmd_access: Reservation Conflict for a command the holder's
 * reservation type keeps from this host. Reservation commands pass (checked when
 * they execute).
 */
export function checkReservationAccess(req: Request, ns: Namespace): number {
  const pr = ns.pr;
  if (pr === null) return 0;
  const st = pr.state;
  if (st.holder === null) return 0;
  if (st.allows(hostIdKey(req.ctrl.hostid), resvAccessOf(req.opcode))) return 0;
  req.errorLoc = OPCODE_LOC;
  return NvmeStatus.ReservationConflict | STATUS_DNR;
}

/** nvmet_pr_get_ns_pc_ref: count the command under its host until it completes (Request.putNamespace). */
export function countReservationCommand(req: Request, ns: Namespace): void {
  const host = hostIdKey(req.ctrl.hostid);
  ns.pr!.commandStarted(host);
  req.prHost = host;
}

/**
 * nvmet_parse_io_cmd sends reservation commands to nvmet_parse_pr_cmd only when
 * the namespace has reservations enabled; otherwise they are unknown opcodes.
 */
function resvEnabled(req: Request): number {
  if (req.ns!.pr !== null) return 0;
  req.errorLoc = OPCODE_LOC;
  return NvmeStatus.InvalidOpcode | STATUS_DNR;
}

function parseH2C(len: number): (req: Request) => number {
  return (req) => {
    const st = resvEnabled(req);
    if (st !== 0) return st;
    req.dataDir = DataDir.H2C;
    req.transferLen = len;
    return 0;
  };
}

function parseReport(req: Request): number {
  const st = resvEnabled(req);
  if (st !== 0) return st;
  const len = resvReportLength(req.sqe);
  const max = req.ctrl.mdtsBytes();
  if (max !== 0 && len > max) {
    req.errorLoc = CDW10_LOC;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  req.dataDir = DataDir.C2H;
  req.transferLen = len;
  return 0;
}

/** Notification-mask bit of a log type (Set Features 82h bits 1..3 = log types 1..3). */
function maskBit(type: number): number {
  switch (type) {
    case ResvLogType.RegistrationPreempted:
      return ResvNotifyMask.RegistrationPreempted;
    case ResvLogType.ReservationReleased:
      return ResvNotifyMask.ReservationReleased;
    default:
      return ResvNotifyMask.ReservationPreempted;
  }
}

/** nvmet_pr_send_event_to_host / nvmet_pr_resv_released: every controller of the host. */
function notify(ns: Namespace, notices: readonly ResvNotice[]): void {
  const mask = ns.pr!.notifyMask;
  for (const n of notices) {
    if ((mask & maskBit(n.type)) !== 0) continue;
    for (const c of ns.subsys.controllers) {
      if (c.state === 'deleted' || hostIdKey(c.hostid) !== n.hostid) continue;
      c.resvLog.add(n.type, ns.nsid);
      c.addAsyncEvent(AerType.IoCommandSpecific, AER_INFO_RESV_LOG_AVAILABLE, LogId.ReservationNotification);
    }
  }
}

async function finish(req: Request, out: ResvOutcome): Promise<void> {
  const ns = req.ns!;
  switch (out.status) {
    case 'ok':
      break;
    case 'conflict':
      req.complete(NvmeStatus.ReservationConflict | STATUS_DNR);
      return;
    case 'invalid-field':
      req.errorLoc = CDW10_LOC;
      req.complete(NvmeStatus.InvalidField | STATUS_DNR);
      return;
    case 'invalid-opcode':
      // pr.c answers an unknown action with Invalid Opcode.
      req.errorLoc = CDW10_LOC;
      req.complete(NvmeStatus.InvalidOpcode | STATUS_DNR);
      return;
  }
  notify(ns, out.notices);
  // PTPL: the new state is on disk before the host hears it succeeded.
  if (out.changed) await ns.pr!.persist();
  // Preempt-and-abort completes once the preempted hosts' commands on this namespace are done.
  const self = hostIdKey(req.ctrl.hostid);
  const others = out.aborted.filter((h) => h !== self);
  if (others.length > 0 && !(await ns.pr!.drain(others))) {
    ns.subsys.nvmet.log.warn(`nsid ${ns.nsid}: preempt-and-abort: commands of preempted hosts still running after 30 s`);
  }
  req.complete(0);
}

function executeRegister(req: Request): Promise<void> {
  const c = decodeResvRegisterCommand(req.sqe);
  const d = decodeResvRegisterData(req.data!);
  const out = req.ns!.pr!.state.register(hostIdKey(req.ctrl.hostid), c.rrega, c.iekey, c.cptpl, d.crkey, d.nrkey);
  return finish(req, out);
}

function executeAcquire(req: Request): Promise<void> {
  const c = decodeResvAcquireCommand(req.sqe);
  const d = decodeResvAcquireData(req.data!);
  const out = req.ns!.pr!.state.acquire(hostIdKey(req.ctrl.hostid), c.racqa, c.rtype, c.iekey, d.crkey, d.prkey);
  return finish(req, out);
}

function executeRelease(req: Request): Promise<void> {
  const c = decodeResvReleaseCommand(req.sqe);
  const d = decodeResvReleaseData(req.data!);
  const out = req.ns!.pr!.state.release(hostIdKey(req.ctrl.hostid), c.rrela, c.rtype, c.iekey, d.crkey);
  return finish(req, out);
}

/** nvmet_execute_pr_report: extended data only (the host identifiers are 128-bit). */
function executeReport(req: Request): void {
  const c = decodeResvReportCommand(req.sqe);
  if (!c.eds) {
    req.errorLoc = CDW11_LOC;
    req.complete(NvmeStatus.HostIdInconsistentFormat | STATUS_DNR);
    return;
  }
  const len = req.transferLen;
  if (len < RESV_STATUS_EXT_HEADER_SIZE) {
    req.errorLoc = CDW10_LOC;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
    return;
  }
  const st = req.ns!.pr!.state;
  const all = isAllRegistrantsType(st.rtype);
  const page = encodeResvStatus(
    {
      gen: st.generation,
      rtype: st.rtype,
      ptpls: st.ptpl,
      regctls: st.registrants.map((r) => ({
        cntlid: CNTLID_DYNAMIC,
        holder: st.holder !== null && (all || r.hostid === st.holder),
        hostid: hostIdBytes(r.hostid),
        rkey: r.rkey,
      })),
    },
    true,
    len,
  );
  req.data!.set(page);
  req.complete(0);
}

export const reservationRegister: Command = { name: 'Reservation Register', parse: parseH2C(RESV_REGISTER_DATA_SIZE), execute: executeRegister };
export const reservationAcquire: Command = { name: 'Reservation Acquire', parse: parseH2C(RESV_ACQUIRE_DATA_SIZE), execute: executeAcquire };
export const reservationRelease: Command = { name: 'Reservation Release', parse: parseH2C(RESV_RELEASE_DATA_SIZE), execute: executeRelease };
export const reservationReport: Command = { name: 'Reservation Report', parse: parseReport, execute: executeReport };
