/** Property Get / Property Set (Linux nvmet_execute_prop_get/set). */

import type { Request } from '../../core/request.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { Reg } from '../../../src/nvme/registers.js';
import { rd32 } from '../../../src/nvme/le.js';

const ATTRIB_LOC = 40;
const OFFSET_LOC = 44;

export function executePropertySet(req: Request): void {
  const sqe = req.sqe;
  // Only CC is writable, and it is a 4-byte property.
  if ((sqe[ATTRIB_LOC]! & 7) !== 0) {
    req.errorLoc = ATTRIB_LOC;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
    return;
  }
  if (rd32(sqe, OFFSET_LOC) !== Reg.Cc) {
    req.errorLoc = OFFSET_LOC;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
    return;
  }
  req.ctrl.updateCc(rd32(sqe, 48));
  req.complete(0);
}

export function executePropertyGet(req: Request): void {
  const sqe = req.sqe;
  const ctrl = req.ctrl;
  const eight = (sqe[ATTRIB_LOC]! & 7) === 1;
  const off = rd32(sqe, OFFSET_LOC);
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
