/**
 * Set Features / Get Features on a discovery controller (Linux discovery.c
 * nvmet_execute_disc_set_features / _get_features): Keep Alive Timer and
 * Asynchronous Event Configuration only.
 */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { FeatureId, featuresFid, featuresSave } from '../../../src/nvme/features.js';
import { SqeOff } from '../../../src/nvme/sqe.js';
import { NVMET_DISC_AEN_CFG_OPTIONAL } from '../../core/constants.js';
import { setAsyncEventConfig, setKato } from '../admin/features.js';

function executeDiscoverySetFeatures(req: Request): void {
  const fid = featuresFid(req.sqe);
  let st: number;
  if (featuresSave(req.sqe) && (fid === FeatureId.KeepAliveTimer || fid === FeatureId.AsyncEventConfig)) {
    req.errorLoc = SqeOff.Cdw10;
    st = NvmeStatus.FeatureNotSaveable | STATUS_DNR;
  } else if (fid === FeatureId.KeepAliveTimer) {
    st = setKato(req);
  } else if (fid === FeatureId.AsyncEventConfig) {
    st = setAsyncEventConfig(req, NVMET_DISC_AEN_CFG_OPTIONAL);
  } else {
    req.errorLoc = SqeOff.Cdw10;
    st = NvmeStatus.InvalidField | STATUS_DNR;
  }
  req.complete(st);
}

function executeDiscoveryGetFeatures(req: Request): void {
  const ctrl = req.ctrl;
  const fid = featuresFid(req.sqe);
  if (fid === FeatureId.KeepAliveTimer) {
    req.setResult(ctrl.kato);
    req.complete(0);
  } else if (fid === FeatureId.AsyncEventConfig) {
    req.setResult(ctrl.aenEnabled >>> 0);
    req.complete(0);
  } else {
    req.errorLoc = SqeOff.Cdw10;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
  }
}

export const discoverySetFeatures: Command = { name: 'Set Features', execute: executeDiscoverySetFeatures };
export const discoveryGetFeatures: Command = { name: 'Get Features', execute: executeDiscoveryGetFeatures };
