/** Identify on a discovery controller (Linux discovery.c nvmet_execute_disc_identify): CNS 01h only. */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { Cns, identifyCns } from '../../../src/nvme/identify.js';
import { encodeIdentifyController, CntrlType, Lpa } from '../../../src/nvme/identify-ctrl.js';
import { SqeOff } from '../../../src/nvme/sqe.js';
import { NVMET_DISC_AEN_CFG_OPTIONAL, NVMET_KAS, NVMET_QUEUE_SIZE } from '../../core/constants.js';
import { fabricsSgls, parseIdentify } from '../admin/identify.js';

function executeDiscoveryIdentify(req: Request): void {
  const ctrl = req.ctrl;
  if (identifyCns(req.sqe) !== Cns.Controller) {
    req.errorLoc = SqeOff.Cdw10;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
    return;
  }
  const s = ctrl.subsys;
  encodeIdentifyController(
    {
      sn: s.serial,
      mn: s.model,
      fr: s.firmwareRev,
      // No limit on data transfer sizes (the discovery log is read in pieces anyway).
      mdts: 0,
      cntlid: ctrl.cntlid,
      ver: s.version,
      lpa: Lpa.ExtendedData,
      maxcmd: NVMET_QUEUE_SIZE,
      sgls: fabricsSgls(ctrl),
      oaes: NVMET_DISC_AEN_CFG_OPTIONAL,
      cntrltype: CntrlType.Discovery,
      kas: NVMET_KAS,
      aerl: 3,
      subnqn: s.nqn,
    },
    req.data!,
  );
  req.complete(0);
}

export const discoveryIdentify: Command = { name: 'Identify', parse: parseIdentify, execute: executeDiscoveryIdentify };
