/**
 * Fabrics command parsing (Linux fabrics-cmd.c nvmet_parse_connect_cmd /
 * nvmet_parse_fabrics_admin_cmd / nvmet_parse_fabrics_io_cmd).
 */

import { DataDir } from '../../core/fabrics-ops.js';
import type { Request } from '../../core/request.js';
import { FABRICS_OPCODE, FabricsType } from '../../../src/nvme/opcodes.js';
import { CONNECT_DATA_SIZE } from '../../../src/nvme/fabrics.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { executeAdminConnect, executeIoConnect } from './connect.js';
import { executePropertyGet, executePropertySet } from './property.js';
import { executeDisconnect } from './disconnect.js';
import { FabricsStatus } from './status.js';
import { AUTH_REQUIRED_STATUS, authOk, parseAuthReceive, parseAuthSend } from './auth.js';

/** SQE offsets used as error locations. */
const OPCODE_LOC = 0;
const FCTYPE_LOC = 4;
const QID_LOC = 42;

/** A queue that is not connected yet accepts exactly one command: Connect. */
export function parseConnectCmd(req: Request): number {
  const sqe = req.sqe;
  if (sqe[0] !== FABRICS_OPCODE) {
    req.errorLoc = OPCODE_LOC;
    return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
  if (sqe[4] !== FabricsType.Connect) {
    req.errorLoc = FCTYPE_LOC;
    return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
  req.dataDir = DataDir.H2C;
  req.transferLen = CONNECT_DATA_SIZE;
  const qid = sqe[QID_LOC]! | (sqe[QID_LOC + 1]! << 8);
  req.executeFn = qid === 0 ? executeAdminConnect : executeIoConnect;
  return 0;
}

/**
 * Fabrics commands on a connected admin queue: Property Get/Set, Authentication Send/Receive
 * (Disconnect is not for the admin queue). Property Get/Set wait for authentication as the
 * spec requires of every command but Connect, Authentication Send/Receive and Disconnect
 * (Linux lets them through; no Linux host sends them before authenticating).
 */
export function parseFabricsAdminCmd(req: Request): number {
  switch (req.sqe[4]) {
    case FabricsType.PropertySet:
      if (!authOk(req)) return AUTH_REQUIRED_STATUS;
      req.executeFn = executePropertySet;
      return 0;
    case FabricsType.PropertyGet:
      if (!authOk(req)) return AUTH_REQUIRED_STATUS;
      req.executeFn = executePropertyGet;
      return 0;
    case FabricsType.AuthenticationSend:
      return parseAuthSend(req);
    case FabricsType.AuthenticationReceive:
      return parseAuthReceive(req);
    case FabricsType.Disconnect:
      // Disconnect deletes an I/O queue; the association ends with the admin queue's connection.
      req.errorLoc = FCTYPE_LOC;
      return FabricsStatus.InvalidQueueType | STATUS_DNR;
    default:
      req.errorLoc = FCTYPE_LOC;
      return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
}

/** Fabrics commands on a connected I/O queue: Disconnect and Authentication Send/Receive. */
export function parseFabricsIoCmd(req: Request): number {
  switch (req.sqe[4]) {
    case FabricsType.Disconnect:
      req.executeFn = executeDisconnect;
      return 0;
    case FabricsType.AuthenticationSend:
      return parseAuthSend(req);
    case FabricsType.AuthenticationReceive:
      return parseAuthReceive(req);
    case FabricsType.PropertyGet:
    case FabricsType.PropertySet:
      req.errorLoc = FCTYPE_LOC;
      return FabricsStatus.InvalidQueueType | STATUS_DNR;
    default:
      req.errorLoc = FCTYPE_LOC;
      return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
}
