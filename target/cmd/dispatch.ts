/**
 * The one dispatch point (the command-set choice of Linux core.c nvmet_req_init):
 * which command set a request belongs to — a queue not connected yet takes only
 * Connect, fabrics commands by FCTYPE, a discovery controller's admin subset, the
 * admin set, the NVM I/O set — the state that set requires, then the set's table
 * gives the request its `execute` (and its parse sets what data moves).
 *
 * The core does not import this module: the assembler (../create-nvmet.ts) hands
 * `parseCommand` to Nvmet, and every queue calls it after the checks that hold for
 * any command (FUSE, PSDT) and before the transfer-length check (core/queue.ts).
 */

import type { Request } from '../core/request.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { FABRICS_OPCODE } from '../../src/nvme/opcodes.js';
import { SqeOff, sqeFctype, sqeNsid, sqeOpcode } from '../../src/nvme/sqe.js';
import { CSTS_RDY } from '../../src/nvme/registers.js';
import { dispatchFrom } from './command.js';
import { adminCommands } from './admin/commands.js';
import { connectCommands, fabricsAdminCommands, fabricsIoCommands } from './fabrics/commands.js';
import { discoveryCommands } from './discovery/commands.js';
import { ioCommands } from './io/commands.js';
import { AUTH_REQUIRED_STATUS, authOk } from './fabrics/auth.js';
import { anaIoStatus } from '../core/ana.js';
import { checkReservationAccess, countReservationCommand } from './io/reservation.js';

/** Parse `req` (SQE copied in): set its execute, data direction and length; return an NVMe status (0 = accepted). */
export function parseCommand(req: Request): number {
  const q = req.queue;
  const ctrl = q.ctrl;
  const sqe = req.sqe;
  const op = sqeOpcode(sqe);
  if (ctrl === null) {
    // nvmet_parse_connect_cmd: nothing but Connect before the queue is bound.
    if (op !== FABRICS_OPCODE) {
      req.errorLoc = SqeOff.Opcode;
      return NvmeStatus.InvalidOpcode | STATUS_DNR;
    }
    return dispatchFrom(connectCommands, sqeFctype(sqe), SqeOff.Fctype, req);
  }
  if (op === FABRICS_OPCODE) {
    return dispatchFrom(q.qid === 0 ? fabricsAdminCommands : fabricsIoCommands, sqeFctype(sqe), SqeOff.Fctype, req);
  }
  // nvmet_check_auth_status: nothing but fabrics commands before DH-HMAC-CHAP completed on this queue.
  if (!authOk(req)) return AUTH_REQUIRED_STATUS;
  if (q.qid === 0 && ctrl.isDiscovery) {
    // nvmet_parse_discovery_cmd: nothing before CSTS.RDY.
    if ((ctrl.csts & CSTS_RDY) === 0) {
      req.errorLoc = SqeOff.Opcode;
      return NvmeStatus.InvalidOpcode | STATUS_DNR;
    }
    return dispatchFrom(discoveryCommands, op, SqeOff.Opcode, req);
  }
  if (!ctrl.isReady()) {
    // nvmet_check_ctrl_status: nothing but fabrics commands before CC.EN = 1 / CSTS.RDY = 1.
    req.errorLoc = SqeOff.Opcode;
    return NvmeStatus.CommandSequenceError | STATUS_DNR;
  }
  if (q.qid === 0) return dispatchFrom(adminCommands, op, SqeOff.Opcode, req);
  // nvmet_parse_io_cmd: the namespace must be active (and is held until completion).
  const ns = ctrl.subsys.findNamespaceRef(sqeNsid(sqe));
  if (ns === null) {
    req.errorLoc = SqeOff.Nsid;
    return NvmeStatus.InvalidNs | STATUS_DNR;
  }
  req.ns = ns;
  // nvmet_check_ana_state: no DNR, so a multipath host retries on another path.
  const ana = anaIoStatus(ctrl.port.ana.state(ns.anaGrpid));
  if (ana !== null) {
    req.errorLoc = SqeOff.Nsid;
    return ana === 'inaccessible' ? NvmeStatus.AnaInaccessible : ana === 'persistent-loss' ? NvmeStatus.AnaPersistentLoss : NvmeStatus.AnaTransition;
  }
  // nvmet_pr_check_cmd_access: a reservation holder's type keeps this host out.
  if (ns.pr !== null) {
    const st = checkReservationAccess(req, ns);
    if (st !== 0) return st;
    countReservationCommand(req, ns);
  }
  return dispatchFrom(ioCommands, op, SqeOff.Opcode, req);
}
