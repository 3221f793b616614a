/** Property Get / Property Set (Linux nvmet_execute_prop_get/set). */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { requireAuth } from './auth.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { Reg } from '../../../src/nvme/registers.js';
import { FabricsOff, propAttrib, propertyAttribSize, propOffset, propValue32 } from '../../../src/nvme/fabrics.js';

const ATTRIB_LOC = FabricsOff.PropAttrib;
const OFFSET_LOC = FabricsOff.PropOffset;

function executePropertySet(req: Request): void {
  const sqe = req.sqe;
  // Only CC is writable, and it is a 4-byte property.
  if ((propAttrib(sqe) & 7) !== 0) {
    req.errorLoc = ATTRIB_LOC;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
    return;
  }
  if (propOffset(sqe) !== Reg.Cc) {
    req.errorLoc = OFFSET_LOC;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
    return;
  }
  req.ctrl.updateCc(propValue32(sqe));
  req.complete(0);
}

function executePropertyGet(req: Request): void {
  const sqe = req.sqe;
  const ctrl = req.ctrl;
  const eight = propertyAttribSize(propAttrib(sqe)) === 8;
  const off = propOffset(sqe);
  if (eight) {
    if (off === Reg.Cap) {
      req.setResult64(ctrl.cap);
      req.complete(0);
      return;
    }
  } else {
    switch (off) {
      case Reg.Vs:
        req.setResult(ctrl.subsys.version);
        req.complete(0);
        return;
      case Reg.Cc:
        req.setResult(ctrl.cc);
        req.complete(0);
        return;
      case Reg.Csts:
        req.setResult(ctrl.csts);
        req.complete(0);
        return;
    }
  }
  req.errorLoc = OFFSET_LOC;
  req.complete(NvmeStatus.InvalidField | STATUS_DNR);
}

// Both wait for authentication, as the spec requires of every command but Connect,
// Authentication Send/Receive and Disconnect (Linux lets them through; no Linux host
// sends them before authenticating).
export const propertySet: Command = { name: 'Property Set', parse: requireAuth, execute: executePropertySet };
export const propertyGet: Command = { name: 'Property Get', parse: requireAuth, execute: executePropertyGet };
