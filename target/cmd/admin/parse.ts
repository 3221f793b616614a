/**
 * Admin command parsing for I/O controllers (Linux admin-cmd.c nvmet_parse_admin_cmd).
 * Fabrics commands and discovery controllers are routed to their own parsers.
 */

import { DataDir } from '../../core/fabrics-ops.js';
import type { ExecuteFn, Request } from '../../core/request.js';
import { AdminOpcode, FABRICS_OPCODE } from '../../../src/nvme/opcodes.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { IDENTIFY_DATA_SIZE } from '../../../src/nvme/identify.js';
import { getLogPageLength } from '../../../src/nvme/log-pages.js';
import { NVMET_MAX_ADMIN_TRANSFER } from '../../core/constants.js';
import { parseFabricsAdminCmd } from '../fabrics/parse.js';
import { AUTH_REQUIRED_STATUS, authOk } from '../fabrics/auth.js';
import { parseDiscoveryCmd } from '../discovery/discovery.js';
import { executeIdentify } from './identify.js';
import { executeGetLogPage } from './get-log-page.js';
import { executeGetFeatures, executeSetFeatures } from './features.js';
import { executeAbort, executeAsyncEvent, executeKeepAlive } from './misc.js';

/** Largest admin data transfer: MDTS if the transport has one, and never more than the logs we could serve. */
export function adminTransferLimit(req: Request): number {
  const mdts = req.ctrl.mdtsBytes();
  return mdts === 0 ? NVMET_MAX_ADMIN_TRANSFER : Math.min(mdts, NVMET_MAX_ADMIN_TRANSFER);
}

/** Get Log Page (admin and discovery): C2H transfer of NUMD dwords, bounded by the admin transfer limit. */
export function parseGetLogPage(req: Request, execute: ExecuteFn): number {
  const len = getLogPageLength(req.sqe);
  if (len > adminTransferLimit(req)) {
    req.errorLoc = 40;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  req.dataDir = DataDir.C2H;
  req.transferLen = len;
  req.executeFn = execute;
  return 0;
}

/** Identify (admin and discovery): every CNS returns one 4 KiB data structure. */
export function parseIdentify(req: Request, execute: ExecuteFn): number {
  req.dataDir = DataDir.C2H;
  req.transferLen = IDENTIFY_DATA_SIZE;
  req.executeFn = execute;
  return 0;
}

export function parseAdminCmd(req: Request): number {
  const op = req.opcode;
  if (op === FABRICS_OPCODE) return parseFabricsAdminCmd(req);
  if (!authOk(req)) return AUTH_REQUIRED_STATUS;
  const ctrl = req.ctrl;
  if (ctrl.isDiscovery) return parseDiscoveryCmd(req);
  if (!ctrl.isReady()) {
    // nvmet_check_ctrl_status: nothing but fabrics commands before CC.EN = 1 / CSTS.RDY = 1.
    req.errorLoc = 0;
    return NvmeStatus.CommandSequenceError | STATUS_DNR;
  }
  switch (op) {
    case AdminOpcode.Identify:
      return parseIdentify(req, executeIdentify);
    case AdminOpcode.GetLogPage:
      return parseGetLogPage(req, executeGetLogPage);
    case AdminOpcode.SetFeatures:
      req.executeFn = executeSetFeatures;
      return 0;
    case AdminOpcode.GetFeatures:
      req.executeFn = executeGetFeatures;
      return 0;
    case AdminOpcode.AsyncEventRequest:
      req.executeFn = executeAsyncEvent;
      return 0;
    case AdminOpcode.KeepAlive:
      req.executeFn = executeKeepAlive;
      return 0;
    case AdminOpcode.Abort:
      req.executeFn = executeAbort;
      return 0;
    default:
      req.errorLoc = 0;
      return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
}
