/**
 * Set Features / Get Features for I/O controllers (Linux nvmet_execute_set/get_features):
 * Volatile Write Cache (06h), Number of Queues (07h), Asynchronous Event
 * Configuration (0Bh), Keep Alive Timer (0Fh), and for namespaces with
 * reservations Reservation Notification Mask (82h, pr.c) and Reservation
 * Persistence (83h, the PTPL state). Anything else is Invalid Field.
 */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { FeatureCap, FeatureId, FeatureSel, featuresFid, featuresSave, featuresSel } from '../../../src/nvme/features.js';
import { SqeOff, sqeCdw11, sqeNsid } from '../../../src/nvme/sqe.js';
import { NVMET_AEN_CFG_ALL, NVMET_AEN_CFG_OPTIONAL } from '../../core/constants.js';
import { RESV_NOTIFY_MASK_ALL } from '../../../src/nvme/reservations.js';
import type { Namespace } from '../../core/namespace.js';

const NSID_ALL = 0xffff_ffff;

/** The namespace of a reservation feature, held for the command (nvmet_req_find_ns); a status if none. */
function resvNamespace(req: Request): Namespace | number {
  const ns = req.ctrl.subsys.findNamespaceRef(sqeNsid(req.sqe));
  if (ns === null) {
    req.errorLoc = SqeOff.Nsid;
    return NvmeStatus.InvalidNs | STATUS_DNR;
  }
  req.ns = ns;
  if (ns.pr === null) return invalidField(req, SqeOff.Nsid);
  return ns;
}

/** nvmet_set_feat_resv_notif_mask: one namespace, or every namespace with reservations (NSID FFFFFFFFh). */
function setResvNotifyMask(req: Request, mask: number): number {
  if ((mask & ~RESV_NOTIFY_MASK_ALL) !== 0) return invalidField(req, SqeOff.Cdw11);
  if (sqeNsid(req.sqe) === NSID_ALL) {
    for (const ns of req.ctrl.subsys.namespaces) if (ns.pr !== null) ns.pr.notifyMask = mask;
  } else {
    const ns = resvNamespace(req);
    if (typeof ns === 'number') return ns;
    ns.pr!.notifyMask = mask;
  }
  req.setResult(mask);
  return 0;
}

/** Reservation Persistence: PTPL (cdw11 bit 0) of one namespace; only a file-backed one can persist. */
async function setResvPersistence(req: Request, cdw11: number): Promise<number> {
  const ns = resvNamespace(req);
  if (typeof ns === 'number') return ns;
  if (!ns.pr!.state.setPtpl((cdw11 & 1) !== 0)) return invalidField(req, SqeOff.Cdw11);
  await ns.pr!.persist();
  return 0;
}


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

function executeSetFeatures(req: Request): void | Promise<void> {
  if (featuresFid(req.sqe) === FeatureId.ReservationPersistence && !featuresSave(req.sqe)) {
    return setResvPersistence(req, sqeCdw11(req.sqe)).then((st) => req.complete(st));
  }
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
    case FeatureId.ReservationNotificationMask:
      return setResvNotifyMask(req, cdw11);
    default:
      return invalidField(req, SqeOff.Cdw10);
  }
}

function isSupported(fid: number): boolean {
  return (
    fid === FeatureId.VolatileWriteCache ||
    fid === FeatureId.NumberOfQueues ||
    fid === FeatureId.AsyncEventConfig ||
    fid === FeatureId.KeepAliveTimer ||
    fid === FeatureId.ReservationNotificationMask ||
    fid === FeatureId.ReservationPersistence
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
    case FeatureId.ReservationNotificationMask: {
      const ns = resvNamespace(req);
      if (typeof ns === 'number') return ns;
      req.setResult(current ? ns.pr!.notifyMask : 0);
      return 0;
    }
    case FeatureId.ReservationPersistence: {
      const ns = resvNamespace(req);
      if (typeof ns === 'number') return ns;
      req.setResult(current && ns.pr!.state.ptpl ? 1 : 0);
      return 0;
    }
  }
  return invalidField(req, SqeOff.Cdw10);
}

export const setFeatures: Command = { name: 'Set Features', execute: executeSetFeatures };
export const getFeatures: Command = { name: 'Get Features', execute: executeGetFeatures };
