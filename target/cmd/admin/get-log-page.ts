/**
 * Get Log Page for I/O controllers (Linux admin-cmd.c nvmet_execute_get_log_page):
 * Supported Log Pages, Error Information, SMART / Health, Firmware Slot, Changed
 * Namespace List, Commands Supported and Effects, ANA, Reservation Notification.
 * Every page is built whole and the host's window [LPO, LPO + NUMD*4) copied out,
 * zero-filled past the page's end.
 */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { DataDir } from '../../core/fabrics-ops.js';
import type { Controller } from '../../core/controller.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import {
  LogId,
  copyLogWindow,
  getLogPageOffset,
  getLogPageLength,
  getLogPageLid,
  getLogPageRae,
  decodeGetLogPageCommand,
  encodeErrorLogEntry,
  ERROR_LOG_ENTRY_SIZE,
  encodeSmartLog,
  bytesToDataUnits,
  celsiusToKelvin,
  encodeFirmwareSlotLog,
  encodeChangedNsList,
  CHANGED_NS_LIST_SIZE,
} from '../../../src/nvme/log-pages.js';
import { wr32 } from '../../../src/nvme/le.js';
import { SqeOff, sqeNsid } from '../../../src/nvme/sqe.js';
import { AenBit, NVMET_ERROR_LOG_SLOTS, NVMET_MAX_ADMIN_TRANSFER } from '../../core/constants.js';
import type { Namespace } from '../../core/namespace.js';
import { commandEffectsPage, supportedLogPagesPage } from './supported-logs.js';
import { ANA_LOG_RGO, encodeAnaLog, type AnaGroupDescriptor } from '../../../src/nvme/ana.js';
import { encodeResvNotificationLog } from '../../../src/nvme/reservations.js';

/** Largest admin data transfer: MDTS if the transport has one, and never more than the logs we could serve. */
function adminTransferLimit(req: Request): number {
  const mdts = req.ctrl.mdtsBytes();
  return mdts === 0 ? NVMET_MAX_ADMIN_TRANSFER : Math.min(mdts, NVMET_MAX_ADMIN_TRANSFER);
}

/** Get Log Page (admin and discovery): C2H transfer of NUMD dwords, bounded by the admin transfer limit. */
export function parseGetLogPage(req: Request): number {
  const len = getLogPageLength(req.sqe);
  if (len > adminTransferLimit(req)) {
    req.errorLoc = SqeOff.Cdw10;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  req.dataDir = DataDir.C2H;
  req.transferLen = len;
  return 0;
}

/** Retain Asynchronous Event (cdw10 bit 15). */
export function logRae(req: Request): boolean {
  return getLogPageRae(req.sqe);
}

/**
 * Validate the Log Page Offset against a page of `pageLen` bytes and copy the
 * window into req.data. Returns a status.
 */
export function sendLogWindow(req: Request, page: Uint8Array): number {
  const off = getLogPageOffset(req.sqe);
  // Offsets are dword aligned; starting past the page's end is an error (the page has no such byte).
  if (off % 4 !== 0 || (off !== 0 && off >= page.length)) {
    req.errorLoc = SqeOff.Cdw12;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  copyLogWindow(page, off, req.data!);
  return 0;
}

function errorLogPage(ctrl: Controller): Uint8Array {
  const page = new Uint8Array(NVMET_ERROR_LOG_SLOTS * ERROR_LOG_ENTRY_SIZE);
  // Newest first (entry 0 is the most recent error).
  let slot = ctrl.errorCount % NVMET_ERROR_LOG_SLOTS;
  for (let i = 0; i < NVMET_ERROR_LOG_SLOTS; i++) {
    const s = ctrl.errorSlots[slot]!;
    if (s.errorCount !== 0) {
      encodeErrorLogEntry(
        {
          errorCount: BigInt(s.errorCount),
          sqid: s.sqid,
          cid: s.cid,
          status: s.status,
          paramErrorLocation: s.paramErrorLocation,
          lba: BigInt(s.lba),
          nsid: s.nsid,
          trtype: ctrl.port.addr.trtype,
        },
        page,
        i * ERROR_LOG_ENTRY_SIZE,
      );
    }
    slot = slot === 0 ? NVMET_ERROR_LOG_SLOTS - 1 : slot - 1;
  }
  return page;
}

function smartLogPage(ctrl: Controller, nss: readonly Namespace[]): Uint8Array {
  let reads = 0;
  let writes = 0;
  let bytesRead = 0;
  let bytesWritten = 0;
  for (const ns of nss) {
    reads += ns.stats.readCommands;
    writes += ns.stats.writeCommands;
    bytesRead += ns.stats.bytesRead;
    bytesWritten += ns.stats.bytesWritten;
  }
  return encodeSmartLog({
    temperature: celsiusToKelvin(35),
    availableSpare: 100,
    availableSpareThreshold: 10,
    dataUnitsRead: bytesToDataUnits(bytesRead),
    dataUnitsWritten: bytesToDataUnits(bytesWritten),
    hostReadCommands: BigInt(reads),
    hostWriteCommands: BigInt(writes),
    powerOnHours: BigInt(Math.floor((Date.now() - ctrl.subsys.nvmet.startedAt) / 3_600_000)),
    errorLogEntries: BigInt(ctrl.errorCount),
  });
}

function executeSmart(req: Request): void | Promise<void> {
  const sync = req.ctrl.subsys.nvmet.statsSync;
  // Reactors' commands count too: the log waits for their counters (bounded by the pool's timeout).
  if (sync !== null) return sync().then(() => smartNow(req));
  smartNow(req);
}

function smartNow(req: Request): void {
  const ctrl = req.ctrl;
  const nsid = sqeNsid(req.sqe);
  let nss: readonly Namespace[];
  if (nsid === 0xffffffff || nsid === 0) {
    nss = ctrl.subsys.enabledNamespaces();
  } else {
    const ns = ctrl.subsys.findNamespaceRef(nsid);
    if (ns === null) {
      req.errorLoc = SqeOff.Nsid;
      req.complete(NvmeStatus.InvalidNs | STATUS_DNR);
      return;
    }
    req.ns = ns;
    nss = [ns];
  }
  req.complete(sendLogWindow(req, smartLogPage(ctrl, nss)));
}

function executeChangedNs(req: Request): void {
  const ctrl = req.ctrl;
  const list = ctrl.changedNsList();
  let page: Uint8Array;
  if (list.length === 1 && list[0] === 0xffffffff) {
    page = new Uint8Array(CHANGED_NS_LIST_SIZE);
    wr32(page, 0, 0xffffffff);
  } else {
    page = encodeChangedNsList(list);
  }
  const st = sendLogWindow(req, page);
  if (st === 0) {
    const rae = logRae(req);
    // Reading clears the log and re-arms the event, unless the host retains the event.
    if (!rae) ctrl.clearChangedNsList();
    ctrl.clearAenBit(AenBit.NsAttr, rae);
  }
  req.complete(st);
}

const CSI_NVM = 0x00;
const CSI_ZNS = 0x02;

/** nvmet_execute_get_log_cmd_effects_ns: NVM only; ZNS is a known set we do not implement. */
function executeCommandEffects(req: Request): void {
  const csi = decodeGetLogPageCommand(req.sqe).csi;
  if (csi === CSI_ZNS) {
    req.complete(NvmeStatus.InvalidIoCommandSet);
    return;
  }
  if (csi !== CSI_NVM) {
    req.complete(NvmeStatus.InvalidLogPage);
    return;
  }
  req.complete(sendLogWindow(req, commandEffectsPage()));
}

/**
 * nvmet_execute_get_log_page_ana: every group enabled target-wide, with the state
 * the host's port reports, the target-wide change count, and (unless RGO) the
 * enabled namespaces of the subsystem in each group. Reading re-arms the ANA
 * change event unless RAE.
 */
function executeAna(req: Request): void {
  const ctrl = req.ctrl;
  const nvmet = ctrl.subsys.nvmet;
  const rgo = (decodeGetLogPageCommand(req.sqe).lsp & ANA_LOG_RGO) !== 0;
  const nss = rgo ? [] : ctrl.subsys.enabledNamespaces();
  const chgcnt = nvmet.ana.chgcnt;
  const groups: AnaGroupDescriptor[] = nvmet.ana.enabledGroups().map((grpid) => ({
    grpid,
    chgcnt,
    state: ctrl.port.ana.state(grpid),
    nsids: nss.filter((n) => n.anaGrpid === grpid).map((n) => n.nsid),
  }));
  const st = sendLogWindow(req, encodeAnaLog({ chgcnt, groups }));
  if (st === 0) ctrl.clearAenBit(AenBit.AnaChange, logRae(req));
  req.complete(st);
}

function executeGetLogPage(req: Request): void | Promise<void> {
  const ctrl = req.ctrl;
  const lid = getLogPageLid(req.sqe);
  switch (lid) {
    case LogId.SupportedLogPages:
      req.complete(sendLogWindow(req, supportedLogPagesPage()));
      return;
    case LogId.CommandEffects:
      executeCommandEffects(req);
      return;
    case LogId.Ana:
      executeAna(req);
      return;
    case LogId.ReservationNotification:
      // pr.c nvmet_execute_get_log_page_resv: one entry per read, oldest first.
      req.complete(sendLogWindow(req, encodeResvNotificationLog(ctrl.resvLog.take())));
      return;
    case LogId.ErrorInfo:
      req.complete(sendLogWindow(req, errorLogPage(ctrl)));
      return;
    case LogId.Smart:
      return executeSmart(req);
    case LogId.FirmwareSlot:
      // One read-only slot, active: AFI = slot 1.
      req.complete(sendLogWindow(req, encodeFirmwareSlotLog({ afi: 1, frs: [ctrl.subsys.firmwareRev] })));
      return;
    case LogId.ChangedNsList:
      executeChangedNs(req);
      return;
    default:
      req.errorLoc = SqeOff.Cdw10;
      req.complete(NvmeStatus.InvalidLogPage | STATUS_DNR);
  }
}

export const getLogPage: Command = { name: 'Get Log Page', parse: parseGetLogPage, execute: executeGetLogPage };
