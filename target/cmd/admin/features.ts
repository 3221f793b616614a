/**
 * Set Features / Get Features for I/O controllers (Linux nvmet_execute_set/get_features):
 * Volatile Write Cache (06h), Number of Queues (07h), Asynchronous Event
 * Configuration (0Bh), Keep Alive Timer (0Fh). Anything else is Invalid Field.
 */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { FeatureCap, FeatureId, FeatureSel, featuresFid, featuresSave, featuresSel } from '../../../src/nvme/features.js';
import { SqeOff, sqeCdw11 } from '../../../src/nvme/sqe.js';
import { NVMET_AEN_CFG_ALL, NVMET_AEN_CFG_OPTIONAL } from '../../core/constants.js';


function invalidField(req: Request, loc: number): number {
  req.errorLoc = loc;
  return NvmeStatus.InvalidField | STATUS_DNR;
}

/** Set Features of the Keep Alive Timer: restart the timer with the new value (ms). */
export function setKato(req: Request): number {
  const ctrl = req.ctrl;
  ctrl.kato = sqeCdw11(req.sqe);
  ctrl.restartKeepAlive();
  return 0;
}

/** Set Features of the Asynchronous Event Configuration, restricted to `mask`. */
export function setAsyncEventConfig(req: Request, mask: number): number {
  const v = sqeCdw11(req.sqe);
  if ((v & ~mask) >>> 0 !== 0) return invalidField(req, SqeOff.Cdw11);
  req.ctrl.aenEnabled = v;
  return 0;
}

function executeSetFeatures(req: Request): void {
  req.complete(setFeature(req));
}

function setFeature(req: Request): number {
  const ctrl = req.ctrl;
  const fid = featuresFid(req.sqe);
  const cdw11 = sqeCdw11(req.sqe);
  // Save is refused: nothing here persists across resets.
  if (featuresSave(req.sqe) && isSupported(fid)) {
    req.errorLoc = SqeOff.Cdw10;
    return NvmeStatus.FeatureNotSaveable | STATUS_DNR;
  }
  switch (fid) {
    case FeatureId.VolatileWriteCache:
      ctrl.vwc = (cdw11 & 1) !== 0;
      return 0;
    case FeatureId.NumberOfQueues: {
      const nsqr = cdw11 & 0xffff;
      const ncqr = cdw11 >>> 16;
      if (nsqr === 0xffff || ncqr === 0xffff) return invalidField(req, SqeOff.Cdw11);
      // Grant what was asked for, up to what the subsystem allows; qids above it are refused at Connect.
      const granted = Math.min(nsqr + 1, ncqr + 1, ctrl.subsys.maxQid);
      ctrl.grantedQueues = granted;
      req.setResult(((granted - 1) | ((granted - 1) << 16)) >>> 0);
      return 0;
    }
    case FeatureId.AsyncEventConfig:
      return setAsyncEventConfig(req, NVMET_AEN_CFG_ALL);
    case FeatureId.KeepAliveTimer:
      return setKato(req);
    default:
      return invalidField(req, SqeOff.Cdw10);
  }
}

function isSupported(fid: number): boolean {
  return (
    fid === FeatureId.VolatileWriteCache ||
    fid === FeatureId.NumberOfQueues ||
    fid === FeatureId.AsyncEventConfig ||
    fid === FeatureId.KeepAliveTimer
  );
}

function executeGetFeatures(req: Request): void {
  req.complete(getFeature(req));
}

function getFeature(req: Request): number {
  const ctrl = req.ctrl;
  const fid = featuresFid(req.sqe);
  const sel = featuresSel(req.sqe);
  if (!isSupported(fid)) return invalidField(req, SqeOff.Cdw10);
  if (sel > FeatureSel.SupportedCapabilities) return invalidField(req, SqeOff.Cdw10);
  if (sel === FeatureSel.SupportedCapabilities) {
    req.setResult(FeatureCap.Changeable);
    return 0;
  }
  const current = sel === FeatureSel.Current;
  switch (fid) {
    case FeatureId.VolatileWriteCache:
      req.setResult(current ? (ctrl.vwc ? 1 : 0) : 1);
      return 0;
    case FeatureId.NumberOfQueues: {
      const n = (current ? ctrl.grantedQueues : ctrl.subsys.maxQid) - 1;
      req.setResult((n | (n << 16)) >>> 0);
      return 0;
    }
    case FeatureId.AsyncEventConfig:
      req.setResult(current ? ctrl.aenEnabled >>> 0 : NVMET_AEN_CFG_OPTIONAL);
      return 0;
    case FeatureId.KeepAliveTimer:
      req.setResult(current ? ctrl.kato : 0);
      return 0;
  }
  return invalidField(req, SqeOff.Cdw10);
}

export const setFeatures: Command = { name: 'Set Features', execute: executeSetFeatures };
export const getFeatures: Command = { name: 'Get Features', execute: executeGetFeatures };
