/**
 * Identify (Linux admin-cmd.c nvmet_execute_identify*): CNS 00h namespace,
 * 01h controller, 02h active namespace list, 03h namespace descriptors, and the
 * command-set specific 05h/06h/08h structures hosts ask for on NVMe 2.0 stacks.
 */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { DataDir } from '../../core/fabrics-ops.js';
import type { Controller } from '../../core/controller.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { Cns, Csi, IDENTIFY_DATA_SIZE, identifyCns, identifyCsi } from '../../../src/nvme/identify.js';
import { SqeOff, sqeNsid } from '../../../src/nvme/sqe.js';
import {
  encodeIdentifyController,
  CntrlType,
  Cmic,
  Ctratt,
  Lpa,
  Oncs,
  Vwc,
  Sgls,
  Ofcs,
  type IdentifyController,
} from '../../../src/nvme/identify-ctrl.js';
import { encodeIdentifyNamespace, Nmic } from '../../../src/nvme/identify-ns.js';
import { encodeActiveNsList, encodeNsDescList, Nidt, type NsIdDescriptor } from '../../../src/nvme/identify-lists.js';
import { wr32 } from '../../../src/nvme/le.js';
import { AnaState, Anacap } from '../../../src/nvme/ana.js';
import { RESCAP_ALL_TYPES, Rescap } from '../../../src/nvme/reservations.js';
import { NVMET_ANATT, NVMET_MAX_ANAGRPS } from '../../core/ana.js';
import { TrType } from '../../core/fabrics-ops.js';
import {
  NVMET_AEN_CFG_OPTIONAL,
  NVMET_ASYNC_EVENTS,
  NVMET_ERROR_LOG_SLOTS,
  NVMET_KAS,
  NVMET_QUEUE_SIZE,
} from '../../core/constants.js';

const NSID_ALL = 0xffffffff;

/** SGLS as Linux reports it for fabrics: byte-aligned SGLs, keyed for RDMA, offsets for in-capsule data. */
export function fabricsSgls(ctrl: Controller): number {
  let sgls = Sgls.Supported;
  if (ctrl.port.addr.trtype === TrType.RDMA) sgls |= Sgls.KeyedDataBlock;
  if (ctrl.port.inlineDataSize > 0) sgls |= Sgls.AddressAsOffset;
  return sgls >>> 0;
}

/** Identify Controller of an I/O controller (nvmet_execute_identify_ctrl). */
export function identifyController(ctrl: Controller): Partial<IdentifyController> {
  const s = ctrl.subsys;
  const inline = ctrl.port.inlineDataSize;
  return {
    vid: 0,
    ssvid: 0,
    sn: s.serial,
    mn: s.model,
    fr: s.firmwareRev,
    rab: 6,
    ieee: s.ieeeOui,
    // Multiple ports, multiple controllers and ANA reporting, as Linux.
    cmic: Cmic.MultiPort | Cmic.MultiController | Cmic.Ana,
    mdts: ctrl.mdts(),
    cntlid: ctrl.cntlid,
    ver: s.version,
    oaes: NVMET_AEN_CFG_OPTIONAL,
    ctratt: Ctratt.HostId128 | Ctratt.TrafficBasedKeepAlive,
    cntrltype: CntrlType.Io,
    oacs: 0,
    acl: 3,
    aerl: NVMET_ASYNC_EVENTS - 1,
    // One read-only firmware slot.
    frmw: (1 << 0) | (1 << 1),
    // Bit 1: hosts read the Commands Supported and Effects log (Linux sets 0x7 too).
    lpa: Lpa.SmartPerNamespace | Lpa.CommandEffects | Lpa.ExtendedData,
    elpe: NVMET_ERROR_LOG_SLOTS - 1,
    npss: 0,
    kas: NVMET_KAS,
    sqes: 0x66,
    cqes: 0x44,
    maxcmd: NVMET_QUEUE_SIZE,
    nn: s.maxNamespaces,
    mnan: s.maxNamespaces,
    // Reservations are per namespace (resv_enable); Linux sets the ONCS bit regardless.
    oncs: Oncs.DatasetManagement | Oncs.WriteZeroes | Oncs.Reservations,
    vwc: Vwc.Present,
    sgls: fabricsSgls(ctrl),
    subnqn: s.nqn,
    // Command capsule = SQE + in-capsule data; response capsule = CQE.
    ioccsz: (64 + inline) / 16,
    iorcsz: 16 / 16,
    icdoff: 0,
    msdbd: 1,
    ofcs: Ofcs.Disconnect,
    // Every ANA state (Linux: 0x1f), its ANATT and group limits (NVMET_MAX_ANAGRPS).
    anacap: Anacap.Optimized | Anacap.NonOptimized | Anacap.Inaccessible | Anacap.PersistentLoss | Anacap.Change,
    anatt: NVMET_ANATT,
    anagrpmax: NVMET_MAX_ANAGRPS,
    nanagrpid: NVMET_MAX_ANAGRPS,
    // qemu's numbers, as Linux: we have no power states to speak of.
    psd: [{ mp: 0x9c4, flags: 0, enlat: 0x10, exlat: 0x4, rrt: 0, rrl: 0, rwt: 0, rwl: 0, idlp: 0, ips: 0, actp: 0, apwAps: 0 }],
  };
}

function invalidNs(req: Request): void {
  req.errorLoc = SqeOff.Nsid;
  req.complete(NvmeStatus.InvalidNs | STATUS_DNR);
}

/** Find the command's namespace and hold it for the command's lifetime; null if not active. */
function findNs(req: Request): boolean {
  const nsid = sqeNsid(req.sqe);
  const ns = req.ctrl.subsys.findNamespaceRef(nsid);
  if (ns === null) return false;
  req.ns = ns;
  return true;
}

function identifyNamespace(req: Request): void {
  const data = req.data!;
  const nsid = sqeNsid(req.sqe);
  if (nsid === NSID_ALL) {
    invalidNs(req);
    return;
  }
  // An inactive (or unknown) nsid returns a zeroed structure, as Linux does.
  if (!findNs(req)) {
    data.fill(0);
    req.complete(0);
    return;
  }
  const ns = req.ns!;
  const nsze = BigInt(ns.nsze);
  const dealloc = ns.backend.deallocatedReadsZeroes;
  // Linux reports NUSE 0 through a path whose group is inaccessible or lost.
  const anaState = req.ctrl.port.ana.state(ns.anaGrpid);
  const reachable = anaState !== AnaState.Inaccessible && anaState !== AnaState.PersistentLoss;
  encodeIdentifyNamespace(
    {
      nsze,
      ncap: nsze,
      nuse: reachable ? nsze : 0n,
      anagrpid: ns.anaGrpid,
      // Every type with 1.3 IEKEY semantics (Linux), plus PTPL where a backing file can keep it.
      rescap: ns.pr === null ? 0 : RESCAP_ALL_TYPES | (ns.pr.state.ptplCapable ? Rescap.PersistThroughPowerLoss : 0),
      nlbaf: 0,
      flbas: 0,
      nmic: Nmic.Shared,
      // DLFEAT: deallocated blocks read as zeroes (001b); Write Zeroes' Deallocate bit honoured (bit 3).
      dlfeat: dealloc ? 0x09 : 0,
      nguid: ns.nguid,
      eui64: ns.eui64,
      lbaf: [{ ms: 0, lbads: ns.blockShift, rp: 0 }],
    },
    data,
  );
  req.complete(0);
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function nsDescList(req: Request): void {
  if (!findNs(req)) {
    invalidNs(req);
    return;
  }
  const ns = req.ns!;
  const descs: NsIdDescriptor[] = [];
  if (!isZero(ns.eui64)) descs.push({ nidt: Nidt.Eui64, nid: ns.eui64 });
  if (!isZero(ns.nguid)) descs.push({ nidt: Nidt.Nguid, nid: ns.nguid });
  if (!isZero(ns.uuid)) descs.push({ nidt: Nidt.Uuid, nid: ns.uuid });
  descs.push({ nidt: Nidt.Csi, nid: new Uint8Array([Csi.Nvm]) });
  encodeNsDescList(descs, req.data!);
  req.complete(0);
}

function activeNsList(req: Request): void {
  const after = sqeNsid(req.sqe);
  // 0xfffffffe and 0xffffffff cannot start a list (no nsid can follow them).
  if (after >= 0xfffffffe) {
    invalidNs(req);
    return;
  }
  const nsids = req.ctrl.subsys.enabledNamespaces().map((n) => n.nsid);
  encodeActiveNsList(nsids, after, req.data!);
  req.complete(0);
}

/** I/O Command Set Independent Identify Namespace (CNS 08h). */
function csIndependentNamespace(req: Request): void {
  if (!findNs(req)) {
    invalidNs(req);
    return;
  }
  const d = req.data!;
  d.fill(0);
  d[1] = Nmic.Shared;
  wr32(d, 4, req.ns!.anaGrpid);
  // NSTAT bit 0: namespace ready.
  d[14] = 1;
  req.complete(0);
}

/** Identify (admin and discovery): every CNS returns one 4 KiB data structure. */
export function parseIdentify(req: Request): number {
  req.dataDir = DataDir.C2H;
  req.transferLen = IDENTIFY_DATA_SIZE;
  return 0;
}

function executeIdentify(req: Request): void {
  const cns = identifyCns(req.sqe);
  const csi = identifyCsi(req.sqe);
  switch (cns) {
    case Cns.Namespace:
      identifyNamespace(req);
      return;
    case Cns.Controller:
      encodeIdentifyController(identifyController(req.ctrl), req.data!);
      req.complete(0);
      return;
    case Cns.ActiveNsList:
      activeNsList(req);
      return;
    case Cns.NsDescList:
      nsDescList(req);
      return;
    case Cns.CsNamespace:
      if (csi !== Csi.Nvm) break;
      // The NVM command set specific namespace structure has nothing we support: zeroes.
      if (!findNs(req)) {
        invalidNs(req);
        return;
      }
      req.data!.fill(0);
      req.complete(0);
      return;
    case Cns.CsController:
      if (csi !== Csi.Nvm) break;
      req.data!.fill(0);
      req.complete(0);
      return;
    case Cns.CsIndependentNamespace:
      csIndependentNamespace(req);
      return;
  }
  req.errorLoc = SqeOff.Cdw10;
  req.complete(NvmeStatus.InvalidField | STATUS_DNR);
}

export const identify: Command = { name: 'Identify', parse: parseIdentify, execute: executeIdentify };
