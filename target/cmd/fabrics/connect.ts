/**
 * Connect (Linux nvmet_execute_admin_connect / nvmet_execute_io_connect +
 * nvmet_install_queue + nvmet_alloc_ctrl / nvmet_ctrl_find_get).
 *
 * Errors follow Linux: Connect Invalid Parameters with IATTR/IPO in dword 0
 * pointing at the offending field (IATTR 1 = Connect data, 0 = SQE), Connect
 * Invalid Host for hosts not allowed, Controller Busy when no cntlid is left.
 */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { DataDir } from '../../core/fabrics-ops.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import {
  CNTLID_DYNAMIC,
  ConnectDataOff,
  connectCattr,
  connectInvalidParamResult,
  connectKato,
  connectQid,
  connectRecfmt,
  connectResult,
  connectSqsize,
  CATTR_DISABLE_SQ_FLOW,
  CONNECT_DATA_SIZE,
  decodeConnectData,
  FabricsOff,
} from '../../../src/nvme/fabrics.js';
import { NVMET_DISC_KATO_MS, NVMET_QUEUE_SIZE } from '../../core/constants.js';
import type { Controller } from '../../core/controller.js';
import { connectAuthreq, setupAuth } from './auth.js';

const IN_DATA = true;
const IN_SQE = false;

/** Checks common to both Connect flavours; returns a status or 0. */
function checkCommon(req: Request): number {
  if (connectRecfmt(req.sqe) !== 0) {
    req.errorLoc = FabricsOff.Recfmt;
    return NvmeStatus.ConnectIncompatibleFormat | STATUS_DNR;
  }
  return 0;
}

function invalidParam(req: Request, inData: boolean, offset: number): number {
  req.setResult(connectInvalidParamResult(inData, offset));
  return NvmeStatus.ConnectInvalidParam | STATUS_DNR;
}

/**
 * Validate the queue size and bind the queue to the controller (nvmet_install_queue).
 * SQSIZE is 0's based; 0 is invalid; I/O queues are bounded by CAP.MQES.
 */
function installQueue(req: Request, ctrl: Controller, qid: number): number {
  const sqsize = connectSqsize(req.sqe);
  if (sqsize === 0) {
    req.errorLoc = FabricsOff.Sqsize;
    return invalidParam(req, IN_SQE, FabricsOff.Sqsize);
  }
  if (ctrl.queues[qid] !== undefined) {
    req.errorLoc = FabricsOff.Qid;
    return NvmeStatus.CommandSequenceError | STATUS_DNR;
  }
  if (qid !== 0 && sqsize > NVMET_QUEUE_SIZE - 1) {
    req.errorLoc = FabricsOff.Sqsize;
    return invalidParam(req, IN_SQE, FabricsOff.Sqsize);
  }
  const disableSqFlow = (connectCattr(req.sqe) & CATTR_DISABLE_SQ_FLOW) !== 0;
  req.queue.install(ctrl, qid, sqsize + 1, disableSqFlow);
  ctrl.attachQueue(req.queue, qid);
  return 0;
}

function executeAdminConnect(req: Request): void {
  const status = adminConnect(req);
  req.complete(status);
}

function adminConnect(req: Request): number {
  let st = checkCommon(req);
  if (st !== 0) return st;
  const d = decodeConnectData(req.data!);
  if (d.cntlid !== CNTLID_DYNAMIC) {
    // Only the dynamic controller model: the host must let us pick the cntlid.
    req.errorLoc = ConnectDataOff.Cntlid;
    return invalidParam(req, IN_DATA, ConnectDataOff.Cntlid);
  }
  const port = req.queue.port;
  const log = port.nvmet.log;
  const subsys = port.findSubsystem(d.subnqn);
  if (subsys === undefined) {
    log.warn(`connect for unknown subsystem ${d.subnqn} on port ${port.id} from ${d.hostnqn}`);
    req.errorLoc = 24;
    return invalidParam(req, IN_DATA, ConnectDataOff.SubNqn);
  }
  // Over TLS, the host NQN named by the PSK identity is not compared with this one, as in
  // Linux: nvmet_tcp_tls_handshake_done keeps only the key (queue->tls_pskid, 6.15+
  // sq->tls_key) and nvmet_execute_admin_connect / nvmet_alloc_ctrl check the Connect host NQN
  // against allowed_hosts only. The PSK proves the host holds that identity's key; the
  // access list decides which host NQN it may use.
  if (!subsys.hostAllowed(d.hostnqn)) {
    log.info(`connect by host ${d.hostnqn} for subsystem ${d.subnqn} not allowed`);
    req.errorLoc = 24;
    req.setResult(connectInvalidParamResult(IN_DATA, ConnectDataOff.HostNqn));
    return NvmeStatus.ConnectInvalidHost | STATUS_DNR;
  }
  // Validate the queue size before allocating a cntlid for nothing.
  if (connectSqsize(req.sqe) === 0) {
    req.errorLoc = FabricsOff.Sqsize;
    return invalidParam(req, IN_SQE, FabricsOff.Sqsize);
  }
  let kato = connectKato(req.sqe);
  // Discovery controllers always get a keep-alive so abandoned sessions are reaped.
  if (subsys.isDiscovery && kato === 0) kato = NVMET_DISC_KATO_MS;
  const ctrl = subsys.createController({
    port,
    hostnqn: d.hostnqn,
    hostid: d.hostId,
    kato,
    ops: port.nvmet.transport(port.addr.trtype),
  });
  if (ctrl === null) {
    log.warn(`subsystem ${subsys.nqn}: no free cntlid in ${subsys.cntlidMin}..${subsys.cntlidMax}`);
    return NvmeStatus.ConnectControllerBusy | STATUS_DNR;
  }
  st = installQueue(req, ctrl, 0);
  if (st !== 0) {
    ctrl.delete('admin queue install failed');
    return st;
  }
  ctrl.restartKeepAlive();
  setupAuth(ctrl, subsys);
  log.info(
    `created controller ${ctrl.cntlid} for subsystem ${subsys.nqn} for host ${d.hostnqn}` +
      (ctrl.dhchap !== null ? ` (DH-HMAC-CHAP required, ${ctrl.dhchap.hash.hmac}, ${ctrl.dhchap.dhGroup.name})` : ''),
  );
  req.setResult(connectResult(ctrl.cntlid, connectAuthreq(ctrl)));
  return 0;
}

function executeIoConnect(req: Request): void {
  const status = ioConnect(req);
  req.complete(status);
}

function ioConnect(req: Request): number {
  const st = checkCommon(req);
  if (st !== 0) return st;
  const d = decodeConnectData(req.data!);
  const port = req.queue.port;
  const subsys = port.findSubsystem(d.subnqn);
  if (subsys === undefined) {
    req.errorLoc = 24;
    return invalidParam(req, IN_DATA, ConnectDataOff.SubNqn);
  }
  const ctrl = subsys.getController(d.cntlid);
  if (ctrl === undefined || ctrl.hostnqn !== d.hostnqn || ctrl.port !== port || ctrl.state === 'deleted') {
    port.nvmet.log.warn(`could not find controller ${d.cntlid} for subsystem ${d.subnqn} / host ${d.hostnqn}`);
    req.errorLoc = 24;
    return invalidParam(req, IN_DATA, ConnectDataOff.Cntlid);
  }
  const qid = connectQid(req.sqe);
  if (qid > Math.min(subsys.maxQid, ctrl.grantedQueues)) {
    req.errorLoc = FabricsOff.Qid;
    return invalidParam(req, IN_SQE, FabricsOff.Qid);
  }
  const s = installQueue(req, ctrl, qid);
  if (s !== 0) return s;
  // Every I/O queue authenticates too (nvmet_execute_io_connect sets ATR per queue).
  req.setResult(connectResult(ctrl.cntlid, connectAuthreq(ctrl)));
  return 0;
}

/** Connect carries 1 KiB of Connect data; QID picks the admin or the I/O flavour. */
function parseConnect(req: Request): number {
  req.dataDir = DataDir.H2C;
  req.transferLen = CONNECT_DATA_SIZE;
  req.executeFn = connectQid(req.sqe) === 0 ? executeAdminConnect : executeIoConnect;
  return 0;
}

export const connect: Command = { name: 'Connect', parse: parseConnect, execute: executeAdminConnect };
