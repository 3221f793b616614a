/**
 * Get Log Page on a discovery controller (Linux discovery.c
 * nvmet_execute_disc_get_log_page): only the Discovery log page (70h).
 */

import type { Request } from '../../core/request.js';
import type { Controller } from '../../core/controller.js';
import type { Port } from '../../core/port.js';
import type { Command } from '../command.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { getLogPageLid, LogId } from '../../../src/nvme/log-pages.js';
import { encodeDiscoveryLog, DiscSubtype, tcpTsas, type DiscoveryLogEntry } from '../../../src/nvme/discovery-log.js';
import { TrType } from '../../core/fabrics-ops.js';
import { CNTLID_DYNAMIC, DISCOVERY_NQN } from '../../../src/nvme/fabrics.js';
import { SqeOff } from '../../../src/nvme/sqe.js';
import { AenBit, NVME_AQ_DEPTH } from '../../core/constants.js';
import { logRae, parseGetLogPage, sendLogWindow } from '../admin/get-log-page.js';

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
function portTsas(port: Port): { tsas?: Uint8Array } {
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
      ...portTsas(port),
      portid: port.id,
      cntlid: CNTLID_DYNAMIC,
      asqsz: NVME_AQ_DEPTH,
      trsvcid: port.addr.trsvcid,
      // The discovery subsystem this controller belongs to (nvmet_disc_subsys).
      subnqn: ctrl.subsys.nqn,
      traddr,
    },
  ];
  for (const s of port.subsystems) {
    if (!s.hostAllowed(ctrl.hostnqn)) continue;
    entries.push({
      trtype: port.addr.trtype,
      adrfam: port.addr.adrfam,
      subtype: DiscSubtype.Nvme,
      treq: port.addr.treq,
      ...portTsas(port),
      portid: port.id,
      cntlid: CNTLID_DYNAMIC,
      asqsz: NVME_AQ_DEPTH,
      trsvcid: port.addr.trsvcid,
      subnqn: s.nqn,
      traddr,
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

function executeDiscoveryGetLogPage(req: Request): void {
  const ctrl = req.ctrl;
  if (getLogPageLid(req.sqe) !== LogId.Discovery) {
    req.errorLoc = SqeOff.Cdw10;
    req.complete(NvmeStatus.InvalidLogPage | STATUS_DNR);
    return;
  }
  const page = encodeDiscoveryLog(ctrl.port.nvmet.genctr, discoveryEntries(req, ctrl));
  const st = sendLogWindow(req, page);
  if (st === 0) ctrl.clearAenBit(AenBit.DiscChange, logRae(req));
  req.complete(st);
}

export const discoveryGetLogPage: Command = { name: 'Get Log Page', parse: parseGetLogPage, execute: executeDiscoveryGetLogPage };
