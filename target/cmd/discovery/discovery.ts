/**
 * Discovery controllers (Linux discovery.c): the admin subset a discovery
 * controller accepts — Identify Controller, Get Log Page 70h, Set/Get Features
 * (Keep Alive Timer, Asynchronous Event Configuration), Keep Alive and
 * Asynchronous Event Request — and the Discovery log page itself.
 */

import type { Request } from '../../core/request.js';
import type { Controller } from '../../core/controller.js';
import { AdminOpcode } from '../../../src/nvme/opcodes.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { Cns } from '../../../src/nvme/identify.js';
import { FeatureId } from '../../../src/nvme/features.js';
import { encodeIdentifyController, CntrlType, Lpa } from '../../../src/nvme/identify-ctrl.js';
import { LogId } from '../../../src/nvme/log-pages.js';
import { encodeDiscoveryLog, DiscSubtype, tcpTsas, type DiscoveryLogEntry } from '../../../src/nvme/discovery-log.js';
import { TrType } from '../../core/fabrics-ops.js';
import { CNTLID_DYNAMIC, DISCOVERY_NQN } from '../../../src/nvme/fabrics.js';
import { CSTS_RDY } from '../../../src/nvme/registers.js';
import {
  AenBit,
  NVME_AQ_DEPTH,
  NVMET_DISC_AEN_CFG_OPTIONAL,
  NVMET_KAS,
  NVMET_QUEUE_SIZE,
} from '../../core/constants.js';
import { parseGetLogPage, parseIdentify } from '../admin/parse.js';
import { executeAsyncEvent, executeKeepAlive } from '../admin/misc.js';
import { logRae, sendLogWindow } from '../admin/get-log-page.js';
import { saveRequested, setAsyncEventConfig, setKato } from '../admin/features.js';
import { fabricsSgls } from '../admin/identify.js';
import type { Port } from '../../core/port.js';

const CDW10_LOC = 40;

export function parseDiscoveryCmd(req: Request): number {
  const ctrl = req.ctrl;
  if ((ctrl.csts & CSTS_RDY) === 0) {
    req.errorLoc = 0;
    return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
  switch (req.opcode) {
    case AdminOpcode.SetFeatures:
      req.executeFn = executeDiscSetFeatures;
      return 0;
    case AdminOpcode.GetFeatures:
      req.executeFn = executeDiscGetFeatures;
      return 0;
    case AdminOpcode.AsyncEventRequest:
      req.executeFn = executeAsyncEvent;
      return 0;
    case AdminOpcode.KeepAlive:
      req.executeFn = executeKeepAlive;
      return 0;
    case AdminOpcode.GetLogPage:
      return parseGetLogPage(req, executeDiscGetLogPage);
    case AdminOpcode.Identify:
      return parseIdentify(req, executeDiscIdentify);
    default:
      req.errorLoc = 0;
      return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
}

/**
 * Address to report for `port` in a discovery log read through `req`: a port
 * bound to a wildcard address reports the address the host actually reached
 * (Linux .disc_traddr).
 */
function discTraddr(req: Request, port: Port): string {
  const t = port.addr.traddr;
  if ((t === '0.0.0.0' || t === '::') && req.queue.port === port) {
    const local = req.queue.transport.localAddr;
    if (local !== undefined && local !== '') return local;
  }
  return t;
}

/**
 * Discovery log entries `ctrl`'s host may see through its port, in Linux (>= 5.19)
 * order: first the current discovery subsystem itself (SUBTYPE 3, TP8014), then the
 * linked subsystems the host may access, then referrals. EFLAGS stay 0 on every
 * entry: nvmet advertises neither DUPRETINFO nor EPCSD.
 */
/** TSAS of an NVMe/TCP port's entries: SECTYPE (nvmet_port_init_tsas_tcp); other transports keep theirs. */
function portTsas(port: Controller['port']): { tsas?: Uint8Array } {
  return port.addr.trtype === TrType.TCP ? { tsas: tcpTsas(port.addr.tsas) } : {};
}

export function discoveryEntries(req: Request, ctrl: Controller): Partial<DiscoveryLogEntry>[] {
  const port = ctrl.port;
  const traddr = discTraddr(req, port);
  const entries: Partial<DiscoveryLogEntry>[] = [
    {
      trtype: port.addr.trtype,
      adrfam: port.addr.adrfam,
      subtype: DiscSubtype.CurrentDiscovery,
      treq: port.addr.treq,
      portid: port.id,
      cntlid: CNTLID_DYNAMIC,
      asqsz: NVME_AQ_DEPTH,
      trsvcid: port.addr.trsvcid,
      // The discovery subsystem this controller belongs to (nvmet_disc_subsys).
      subnqn: ctrl.subsys.nqn,
      traddr,
      ...portTsas(port),
    },
  ];
  for (const s of port.subsystems) {
    if (!s.hostAllowed(ctrl.hostnqn)) continue;
    entries.push({
      trtype: port.addr.trtype,
      adrfam: port.addr.adrfam,
      subtype: DiscSubtype.Nvme,
      treq: port.addr.treq,
      portid: port.id,
      cntlid: CNTLID_DYNAMIC,
      asqsz: NVME_AQ_DEPTH,
      trsvcid: port.addr.trsvcid,
      subnqn: s.nqn,
      traddr,
      ...portTsas(port),
    });
  }
  for (const r of port.referrals) {
    entries.push({
      trtype: r.trtype,
      adrfam: r.adrfam,
      subtype: DiscSubtype.Referral,
      treq: r.treq,
      portid: r.portId,
      cntlid: CNTLID_DYNAMIC,
      asqsz: NVME_AQ_DEPTH,
      trsvcid: r.trsvcid,
      subnqn: DISCOVERY_NQN,
      traddr: r.traddr,
    });
  }
  return entries;
}

function executeDiscGetLogPage(req: Request): void {
  const ctrl = req.ctrl;
  if (req.sqe[CDW10_LOC] !== LogId.Discovery) {
    req.errorLoc = CDW10_LOC;
    req.complete(NvmeStatus.InvalidLogPage | STATUS_DNR);
    return;
  }
  const page = encodeDiscoveryLog(ctrl.port.nvmet.genctr, discoveryEntries(req, ctrl));
  const st = sendLogWindow(req, page);
  if (st === 0) ctrl.clearAenBit(AenBit.DiscChange, logRae(req));
  req.complete(st);
}

function executeDiscIdentify(req: Request): void {
  const ctrl = req.ctrl;
  if (req.sqe[CDW10_LOC] !== Cns.Controller) {
    req.errorLoc = CDW10_LOC;
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

function executeDiscSetFeatures(req: Request): void {
  const fid = req.sqe[CDW10_LOC]!;
  let st: number;
  if (saveRequested(req) && (fid === FeatureId.KeepAliveTimer || fid === FeatureId.AsyncEventConfig)) {
    req.errorLoc = CDW10_LOC;
    st = NvmeStatus.FeatureNotSaveable | STATUS_DNR;
  } else if (fid === FeatureId.KeepAliveTimer) {
    st = setKato(req);
  } else if (fid === FeatureId.AsyncEventConfig) {
    st = setAsyncEventConfig(req, NVMET_DISC_AEN_CFG_OPTIONAL);
  } else {
    req.errorLoc = CDW10_LOC;
    st = NvmeStatus.InvalidField | STATUS_DNR;
  }
  req.complete(st);
}

function executeDiscGetFeatures(req: Request): void {
  const ctrl = req.ctrl;
  const fid = req.sqe[CDW10_LOC]!;
  if (fid === FeatureId.KeepAliveTimer) {
    req.setResult(ctrl.kato);
    req.complete(0);
  } else if (fid === FeatureId.AsyncEventConfig) {
    req.setResult(ctrl.aenEnabled >>> 0);
    req.complete(0);
  } else {
    req.errorLoc = CDW10_LOC;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
  }
}
