/**
 * A fabrics controller (Linux struct nvmet_ctrl): created by an admin-queue
 * Connect, joined by I/O-queue Connects, gone when its admin queue goes, its
 * keep-alive expires, or the subsystem/port it lives on is removed.
 *
 * Controller state machine, driven by Property Set of CC (nvmet_update_cc) and by
 * fatal errors:
 *
 *   disabled ──CC.EN 0→1 (valid CC)──▶ ready ──CC.SHN≠0──▶ shutdown
 *      ▲  └──CC.EN 0→1 (bad CC)──▶ failed (CSTS.CFS)          │
 *      └──────────────CC.EN 1→0 (reset: I/O queues torn down)─┘
 *   any ──keep-alive expiry / fatal error──▶ failed ──▶ deleted
 *   any ──admin queue lost / subsystem or port removed──▶ deleted
 */

import { bumpStateEpoch } from './state-epoch.js';
import type { DhchapCtrlConfig } from '../../src/nvme/auth/controller-session.js';
import type { FabricsOps } from './fabrics-ops.js';
import type { CoreQueueImpl } from './queue.js';
import type { Request } from './request.js';
import type { Subsystem } from './subsystem.js';
import type { Port } from './port.js';
import type { Logger } from './log.js';
import {
  AenBit,
  NVMET_AEN_CFG_OPTIONAL,
  NVMET_ASYNC_EVENTS,
  NVMET_ERROR_LOG_SLOTS,
  NVMET_QUEUE_SIZE,
  NVME_MAX_CHANGED_NAMESPACES,
} from './constants.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { AerNotice, AerType } from '../../src/nvme/async-event.js';
import { ResvLogQueue } from './reservation-log.js';
import {
  CC_EN,
  CC_SHN_SHIFT,
  CC_CSS_SHIFT,
  CC_MPS_SHIFT,
  CC_AMS_SHIFT,
  CC_IOSQES_SHIFT,
  CC_IOCQES_SHIFT,
  CSTS_RDY,
  CSTS_CFS,
  CSTS_SHST_SHIFT,
  Shst,
  encodeCap,
  CapCss,
} from '../../src/nvme/registers.js';

export type ControllerState = 'disabled' | 'ready' | 'failed' | 'shutdown' | 'deleted';

/** 64-byte SQ entries (CC.IOSQES) and 16-byte CQ entries (CC.IOCQES) are all fabrics knows. */
const NVME_NVM_IOSQES = 6;
const NVME_NVM_IOCQES = 4;
const SHST_MASK = 3 << CSTS_SHST_SHIFT;

/** One Error Information log entry, mutated in place (no churn on error storms). */
export interface ErrorSlot {
  errorCount: number;
  sqid: number;
  cid: number;
  status: number;
  paramErrorLocation: number;
  lba: number;
  nsid: number;
}

export interface ControllerInit {
  cntlid: number;
  subsys: Subsystem;
  port: Port;
  hostnqn: string;
  hostid: Uint8Array;
  /** Keep Alive Timeout from Connect, in ms (0 = none). */
  kato: number;
  ops: FabricsOps | undefined;
}

export class Controller {
  readonly cntlid: number;
  readonly subsys: Subsystem;
  readonly port: Port;
  readonly hostnqn: string;
  readonly hostid: Uint8Array;
  readonly ops: FabricsOps | undefined;
  readonly cap: bigint;
  cc = 0;
  csts = 0;
  state: ControllerState = 'disabled';
  /** Keep Alive Timeout in ms (0 = disabled). */
  kato: number;
  /** I/O queues the host may connect: qid 1..grantedQueues (Set Features Number of Queues). */
  grantedQueues: number;
  /** Volatile write cache enabled (feature 0x06). */
  vwc = true;
  /** Asynchronous Event Configuration (feature 0x0b). */
  aenEnabled: number = NVMET_AEN_CFG_OPTIONAL;
  /** Queues by qid (0 = admin). */
  readonly queues: (CoreQueueImpl | undefined)[];
  readonly errorSlots: ErrorSlot[] = [];
  errorCount = 0;
  readonly createdAt = Date.now();
  /** Reservation Notification log entries waiting for the host (pr_log_mgr). */
  readonly resvLog = new ResvLogQueue();
  /**
   * DH-HMAC-CHAP settings when the host must authenticate (Linux ctrl->host_key set by
   * nvmet_setup_auth at Connect, reloaded on re-authentication of the admin queue).
   */
  dhchap: DhchapCtrlConfig | null = null;

  private aenMasked = 0;
  private readonly aerCmds: Request[] = [];
  private readonly events: number[] = [];
  private aenScheduled = false;
  private changedNs: number[] = [];
  private changedNsOverflow = false;
  private trafficSeen = false;
  private kaTimer: NodeJS.Timeout | null = null;

  constructor(init: ControllerInit) {
    this.cntlid = init.cntlid;
    this.subsys = init.subsys;
    this.port = init.port;
    this.hostnqn = init.hostnqn;
    this.hostid = init.hostid;
    this.ops = init.ops;
    this.kato = init.kato;
    this.grantedQueues = init.subsys.maxQid;
    this.queues = new Array<CoreQueueImpl | undefined>(init.subsys.maxQid + 1);
    // NVM command set only, CC.EN timeout 15 × 500 ms, MQES 0-based (nvmet_init_cap without bit 43:
    // we implement one I/O command set, so hosts keep CC.CSS = NVM).
    this.cap = encodeCap({ mqes: NVMET_QUEUE_SIZE - 1, to: 15, css: CapCss.Nvm });
    for (let i = 0; i < NVMET_ERROR_LOG_SLOTS; i++) {
      this.errorSlots.push({ errorCount: 0, sqid: 0, cid: 0, status: 0, paramErrorLocation: 0, lba: 0, nsid: 0 });
    }
  }

  get log(): Logger {
    return this.port.nvmet.log;
  }

  get isDiscovery(): boolean {
    return this.subsys.isDiscovery;
  }

  get adminQueue(): CoreQueueImpl | undefined {
    return this.queues[0];
  }

  /** Number of connected I/O queues. */
  get ioQueueCount(): number {
    let n = 0;
    for (let i = 1; i < this.queues.length; i++) if (this.queues[i] !== undefined) n++;
    return n;
  }

  private mdtsCached = -1;
  private mdtsBytesCached = 0;

  /** Largest data transfer per command in bytes (0 = no limit), from the port's transport and the target option. */
  maxTransferSize(): number {
    const t = this.ops?.maxTransferSize() ?? 0;
    const o = this.port.nvmet.maxDataTransferSize;
    if (t === 0) return o;
    if (o === 0) return t;
    return Math.min(t, o);
  }

  /**
   * Identify MDTS: log2 of the largest transfer in CAP.MPSMIN (4 KiB) units, 0 = no
   * limit. The smallest expressible limit is 8 KiB (MDTS 1).
   */
  mdts(): number {
    if (this.mdtsCached < 0) {
      // Fixed for the controller's life (the transport's and the target's limits are
      // constants, and a host reads Identify once): computed once, not per command.
      const t = this.maxTransferSize();
      let m = 0;
      if (t !== 0) {
        m = 1;
        while (m < 255 && 4096 * 2 ** (m + 1) <= t) m++;
      }
      this.mdtsCached = m;
      this.mdtsBytesCached = m === 0 ? 0 : 4096 * 2 ** m;
    }
    return this.mdtsCached;
  }

  /** The transfer limit hosts are told (MDTS) and that the core enforces, in bytes (0 = none). */
  mdtsBytes(): number {
    if (this.mdtsCached < 0) this.mdts();
    return this.mdtsBytesCached;
  }

  // ------------------------------------------------------------ queues

  /** Attach a queue after Connect validated it (nvmet_install_queue's bookkeeping part). */
  attachQueue(q: CoreQueueImpl, qid: number): void {
    this.queues[qid] = q;
    // Connect may take a while on the host side: don't let that count against KATO.
    this.trafficSeen = true;
  }

  /** A queue died (transport destroy or core teardown). Losing the admin queue ends the association. */
  queueGone(q: CoreQueueImpl): void {
    const qid = q.qid;
    if (qid < 0 || this.queues[qid] !== q) return;
    this.queues[qid] = undefined;
    this.trafficSeen = true;
    if (qid === 0) {
      this.abandonAers();
      this.delete('admin queue disconnected');
    } else if (this.state !== 'deleted' && this.queues[0] === undefined && this.ioQueueCount === 0) {
      this.delete('all queues gone');
    }
  }

  // ------------------------------------------------------------ properties

  /** Property Set of CC (nvmet_update_cc). */
  updateCc(value: number): void {
    if (this.state === 'deleted') return;
    const old = this.cc;
    const nw = value >>> 0;
    this.cc = nw;
    bumpStateEpoch();
    const enOld = (old & CC_EN) !== 0;
    const enNew = (nw & CC_EN) !== 0;
    const shnOld = (old >>> CC_SHN_SHIFT) & 3;
    const shnNew = (nw >>> CC_SHN_SHIFT) & 3;
    if (enNew && !enOld) this.start();
    if (!enNew && enOld) this.reset('CC.EN cleared');
    if (shnNew !== 0 && shnOld === 0) {
      this.csts &= ~CSTS_RDY;
      this.csts = (this.csts & ~SHST_MASK) | (Shst.Complete << CSTS_SHST_SHIFT);
      if (this.state !== 'failed') this.state = 'shutdown';
    }
    if (shnNew === 0 && shnOld !== 0) {
      this.csts &= ~SHST_MASK;
      if (this.state === 'shutdown') this.state = (this.csts & CSTS_RDY) !== 0 ? 'ready' : 'disabled';
    }
  }

  /** CC.EN 0→1 (nvmet_start_ctrl). */
  private start(): void {
    const cc = this.cc;
    const iosqes = (cc >>> CC_IOSQES_SHIFT) & 0xf;
    const iocqes = (cc >>> CC_IOCQES_SHIFT) & 0xf;
    const mps = (cc >>> CC_MPS_SHIFT) & 0xf;
    const ams = (cc >>> CC_AMS_SHIFT) & 7;
    const css = (cc >>> CC_CSS_SHIFT) & 7;
    // Discovery controllers should see zeroed IOSQES/IOCQES but hosts write 6/4: don't enforce (as Linux).
    const badEntrySizes = !this.isDiscovery && (iosqes !== NVME_NVM_IOSQES || iocqes !== NVME_NVM_IOCQES);
    if (badEntrySizes || mps !== 0 || ams !== 0 || css !== 0) {
      this.csts = CSTS_CFS;
      this.state = 'failed';
      this.log.warn(`ctrl ${this.cntlid}: CC 0x${cc.toString(16)} rejected (CSTS.CFS)`);
      return;
    }
    this.csts = CSTS_RDY;
    this.state = 'ready';
    // Hosts that died before enabling still time out; enabling restarts the clock.
    this.restartKeepAlive();
  }

  /**
   * CC.EN 1→0: a controller reset. Fabrics I/O queues do not survive a reset
   * (the host must Connect them again), so their connections are dropped; the
   * admin queue and the association stay.
   */
  private reset(reason: string): void {
    this.csts &= ~(CSTS_RDY | CSTS_CFS);
    this.state = 'disabled';
    for (let qid = 1; qid < this.queues.length; qid++) {
      const q = this.queues[qid];
      if (q !== undefined) q.disconnectFromCore(`controller ${this.cntlid} reset: ${reason}`);
    }
    this.aenEnabled = NVMET_AEN_CFG_OPTIONAL;
    this.vwc = true;
    this.grantedQueues = this.subsys.maxQid;
  }

  /** True when CC.EN = 1 and CSTS.RDY = 1 (nvmet_check_ctrl_status). */
  isReady(): boolean {
    return (this.cc & CC_EN) !== 0 && (this.csts & CSTS_RDY) !== 0;
  }

  // ------------------------------------------------------------ teardown

  /** nvmet_ctrl_fatal_error: set CSTS.CFS and tear the controller down. */
  fatalError(reason: string): void {
    if (this.state === 'deleted' || (this.csts & CSTS_CFS) !== 0) return;
    bumpStateEpoch();
    this.csts |= CSTS_CFS;
    this.state = 'failed';
    this.log.error(`ctrl ${this.cntlid} (${this.subsys.nqn}, host ${this.hostnqn}): ${reason}`);
    this.delete(reason);
  }

  /** Disconnect every queue and free the cntlid. Idempotent. */
  delete(reason: string): void {
    if (this.state === 'deleted') return;
    this.state = 'deleted';
    bumpStateEpoch();
    this.stopKeepAlive();
    this.abandonAers();
    this.events.length = 0;
    for (let qid = this.queues.length - 1; qid >= 0; qid--) {
      const q = this.queues[qid];
      if (q !== undefined) {
        this.queues[qid] = undefined;
        q.disconnectFromCore(`controller ${this.cntlid} deleted: ${reason}`);
      }
    }
    this.subsys.removeController(this);
    this.log.info(`ctrl ${this.cntlid} (${this.subsys.nqn}) deleted: ${reason}`);
  }

  // ------------------------------------------------------------ keep-alive

  /** Start or restart the keep-alive timer (mod_delayed_work). */
  restartKeepAlive(): void {
    this.stopKeepAlive();
    if (this.kato === 0 || this.state === 'deleted') return;
    // KATO is a u32 of ms; Node timers stop at 2^31-1 ms (~24.8 days) and would fire at once beyond.
    this.kaTimer = setTimeout(this.onKeepAliveTimer, Math.min(this.kato, 0x7fff_ffff));
    this.kaTimer.unref();
  }

  stopKeepAlive(): void {
    if (this.kaTimer !== null) {
      clearTimeout(this.kaTimer);
      this.kaTimer = null;
    }
  }

  /** A command arrived on one of our queues (nvmet_req_init sets reset_tbkas). */
  noteTraffic(): void {
    this.trafficSeen = true;
  }

  /** Keep Alive command: restart the timer. */
  keepAlive(): void {
    this.restartKeepAlive();
  }

  private readonly onKeepAliveTimer = (): void => {
    this.kaTimer = null;
    if (this.state === 'deleted') return;
    if (this.trafficSeen) {
      // Traffic based keep-alive: any command since the last check counts.
      this.trafficSeen = false;
      this.restartKeepAlive();
      return;
    }
    this.fatalError(`keep-alive timer (${this.kato} ms) expired`);
  };

  // ------------------------------------------------------------ asynchronous events

  /** Asynchronous Event Request: hold the command until an event occurs. */
  queueAer(req: Request): void {
    if (this.aerCmds.length >= NVMET_ASYNC_EVENTS) {
      req.complete(NvmeStatus.AsyncEventLimitExceeded | STATUS_DNR);
      return;
    }
    this.aerCmds.push(req);
    this.scheduleAen();
  }

  /** Number of AER commands currently held. */
  get heldAers(): number {
    return this.aerCmds.length;
  }

  /** Queue an event; it completes a held AER now or the next one the host sends. */
  addAsyncEvent(type: number, info: number, logPage: number): void {
    if (this.state === 'deleted') return;
    this.events.push((type & 7) | ((info & 0xff) << 8) | ((logPage & 0xff) << 16));
    this.scheduleAen();
  }

  /**
   * nvmet_aen_bit_disabled: the event class is disabled by the host, or already
   * reported and not yet acknowledged by reading its log page. Marks it reported.
   */
  aenBitDisabled(bit: number): boolean {
    const m = (1 << bit) >>> 0;
    if (((this.aenEnabled >>> 0) & m) === 0) return true;
    if (((this.aenMasked >>> 0) & m) !== 0) return true;
    this.aenMasked = (this.aenMasked | m) >>> 0;
    return false;
  }

  /** Reading the log page re-arms the event class unless the host asked to Retain the event (RAE). */
  clearAenBit(bit: number, rae: boolean): void {
    if (!rae) this.aenMasked = (this.aenMasked & ~((1 << bit) >>> 0)) >>> 0;
  }

  private scheduleAen(): void {
    if (this.aenScheduled) return;
    this.aenScheduled = true;
    // Like Linux's async_event_work: never complete from inside the caller's stack.
    queueMicrotask(this.processAens);
  }

  private readonly processAens = (): void => {
    this.aenScheduled = false;
    while (this.aerCmds.length > 0 && this.events.length > 0) {
      const req = this.aerCmds.pop()!;
      const result = this.events.shift()!;
      req.setResult(result);
      req.complete(0);
    }
  };

  private abandonAers(): void {
    while (this.aerCmds.length > 0) this.aerCmds.pop()!.abandon();
  }

  // ------------------------------------------------------------ namespace changes

  /** nvmet_ns_changed for this controller: Changed NS log entry + NS attribute AEN. */
  nsChanged(nsid: number): void {
    if (this.state === 'deleted') return;
    this.addToChangedNsLog(nsid);
    if (this.aenBitDisabled(AenBit.NsAttr)) return;
    this.addAsyncEvent(AerType.Notice, AerNotice.NsAttributeChanged, LogId.ChangedNsList);
  }

  /** An ANA state this controller reports changed (nvmet_port_send_ana_event for one controller). */
  anaChanged(): void {
    if (this.state === 'deleted' || this.isDiscovery) return;
    if (this.aenBitDisabled(AenBit.AnaChange)) return;
    this.addAsyncEvent(AerType.Notice, AerNotice.AnaChange, LogId.Ana);
  }

  /** Discovery log changed for this (discovery) controller. */
  discoveryChanged(): void {
    if (this.state === 'deleted') return;
    if (this.aenBitDisabled(AenBit.DiscChange)) return;
    this.addAsyncEvent(AerType.Notice, AerNotice.DiscoveryLogChange, LogId.Discovery);
  }

  private addToChangedNsLog(nsid: number): void {
    if (this.changedNsOverflow) return;
    if (this.changedNs.includes(nsid)) return;
    if (this.changedNs.length === NVME_MAX_CHANGED_NAMESPACES) {
      this.changedNsOverflow = true;
      this.changedNs = [];
      return;
    }
    this.changedNs.push(nsid);
  }

  /** Changed Namespace List contents (0xffffffff alone when more than 1024 changed). */
  changedNsList(): readonly number[] {
    return this.changedNsOverflow ? [0xffffffff] : this.changedNs;
  }

  clearChangedNsList(): void {
    this.changedNs = [];
    this.changedNsOverflow = false;
  }

  // ------------------------------------------------------------ error log

  /** nvmet_set_error: remember a failed command in the Error Information log. */
  recordError(req: Request, status: number): void {
    this.errorCount++;
    const s = this.errorSlots[this.errorCount % NVMET_ERROR_LOG_SLOTS]!;
    s.errorCount = this.errorCount;
    s.sqid = req.qid;
    s.cid = req.cid;
    s.status = status & 0x7fff;
    s.paramErrorLocation = req.errorLoc;
    s.lba = req.errorLba;
    s.nsid = req.nsid;
  }

  describe(): string {
    return `ctrl ${this.cntlid} ${this.subsys.nqn} host ${this.hostnqn} port ${this.port.id} ${this.state}`;
  }
}
