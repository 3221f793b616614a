/**
 * A host's association with one NVMe-oF controller over NVMe/TCP: the admin
 * queue plus N I/O queues, each its own TCP connection (Linux `nvme_tcp_ctrl`).
 *
 * `Controller.connect()` runs the fabrics bring-up a Linux host does:
 * ICReq → Connect (qid 0) → Property Get CAP/VS → Property Set CC.EN=1 → wait
 * CSTS.RDY → Identify Controller → Set Features Number of Queues → ICReq +
 * Connect per I/O queue → (AER) → keep-alive timer. `close()` shuts the
 * controller down (CC.SHN, wait CSTS.SHST) and closes every connection.
 *
 * Typed commands throw `NvmeError` on a non-zero status; `submit()` is the raw
 * escape hatch and returns the completion whatever its status.
 */
import { randomUUID } from 'node:crypto';
import { AdminOpcode, FABRICS_OPCODE, IoOpcode } from '../src/nvme/opcodes.js';
import { encodeSqe, encodeRwCommand, RwControl, SQE_SIZE } from '../src/nvme/sqe.js';
import {
  CATTR_DISABLE_SQ_FLOW,
  CNTLID_DYNAMIC,
  DISCOVERY_NQN,
  encodeConnectCommand,
  encodeConnectData,
  encodeDisconnect,
  encodePropertyGet,
  encodePropertySet,
  connectResultCntlid,
  connectResultAuthreq,
  AUTHREQ_ATR,
  uuidToBytes,
} from '../src/nvme/fabrics.js';
import {
  Reg,
  capMqes,
  capTimeout,
  decodeCap,
  CcCss,
  encodeCc,
  Shn,
  Shst,
  CSTS_RDY,
  CSTS_CFS,
  CSTS_SHST_SHIFT,
} from '../src/nvme/registers.js';
import type { Cap } from '../src/nvme/registers.js';
import { Cns, IDENTIFY_DATA_SIZE, encodeIdentifyCommand } from '../src/nvme/identify.js';
import { decodeIdentifyController, mdtsBytes } from '../src/nvme/identify-ctrl.js';
import type { IdentifyController } from '../src/nvme/identify-ctrl.js';
import { activeLbaSize, decodeIdentifyNamespace } from '../src/nvme/identify-ns.js';
import type { IdentifyNamespace } from '../src/nvme/identify-ns.js';
import { decodeNsDescList, decodeNsList } from '../src/nvme/identify-lists.js';
import type { NsIdDescriptor } from '../src/nvme/identify-lists.js';
import type { StatusContext } from '../src/nvme/status.js';
import { HostQueue } from './host-queue.js';
import type { HostTls } from './host-queue.js';
import { formatPskIdentity, hostPskIdentity, parseTlsPsk, pskCipher, tlsPsk } from '../src/nvme/tls/psk.js';
import { AuthenticationError, authenticateQueue } from './authenticate.js';
import { parseDhchapSecret } from '../src/nvme/auth/secret.js';
import { AuthFailure } from '../src/nvme/auth/ids.js';
import type { DhchapHostConfig } from '../src/nvme/auth/host-session.js';
import type { Completion, HostCommand } from './host-queue.js';
import { NvmeError, TimeoutError, TransportError } from './errors.js';
import { ADMIN_INCAPSULE_MAX, ADMIN_QUEUE_ENTRIES, DEFAULT_KATO_MS, DEFAULT_QUEUE_DEPTH } from './options.js';
import type { AsyncEvent, ConnectOptions } from './options.js';
import { FeatureId, encodeGetFeatures, encodeSetFeatures, encodeNumQueues, decodeNumQueues, AsyncEventConfig } from '../src/nvme/features.js';
import {
  LogId,
  encodeGetLogPageCommand,
  decodeChangedNsList,
  decodeSmartLog,
  decodeErrorLogEntry,
  SMART_LOG_SIZE,
  ERROR_LOG_ENTRY_SIZE,
  CHANGED_NS_LIST_SIZE,
} from '../src/nvme/log-pages.js';
import type { SmartLog, ErrorLogEntry } from '../src/nvme/log-pages.js';
import { DsmAttr, encodeDsmCommand, encodeDsmRanges } from '../src/nvme/dsm.js';
import { AerNotice, AerType, decodeAerResult } from '../src/nvme/async-event.js';

/** Options of a raw `submit()`. */
export interface SubmitOptions {
  /** Host → controller data. */
  dataOut?: Uint8Array;
  /** Controller → host: a destination buffer, or a byte count to allocate. */
  dataIn?: Uint8Array | number;
  /** Force a transport SGL + R2T even when the data fits in the capsule. */
  forceR2T?: boolean;
  /** Leave the SQE's PSDT/DPTR exactly as given. */
  rawDptr?: boolean;
  timeoutMs?: number;
}

/** Completion of a raw `submit()`, plus the received data (if any). */
export interface RawCompletion extends Completion {
  data: Uint8Array | null;
}

/** Per-call options of the I/O helpers. */
export interface IoOptions {
  /** I/O queue id (1..queues) to use; default round-robin. */
  qid?: number;
  /** Writes: force transport SGL + R2T/H2CData even when small enough for in-capsule. */
  forceR2T?: boolean;
  /** Force Unit Access (cdw12 bit 30). */
  fua?: boolean;
  timeoutMs?: number;
}

export interface LogPageOptions {
  /** Namespace id (default 0xFFFFFFFF, controller-wide). */
  nsid?: number;
  /** Log Specific field (cdw10 bits 11:8). */
  lsp?: number;
  /** Retain Asynchronous Event (cdw10 bit 15). */
  rae?: boolean;
  /** Byte offset into the log page (must be dword aligned). */
  offset?: number;
  /** Log Specific Identifier (cdw11 bits 31:16). */
  lsi?: number;
  /** Command Set Identifier (cdw14 bits 31:24). */
  csi?: number;
}

export interface GetFeaturesOptions {
  nsid?: number;
  /** Select: 0 current, 1 default, 2 saved, 3 supported capabilities. */
  sel?: number;
  cdw11?: number;
  /** Bytes of data the feature returns (e.g. LBA range type, host id). */
  dataLen?: number;
}

export interface SetFeaturesOptions {
  nsid?: number;
  /** Save across power cycles (cdw10 bit 31). */
  save?: boolean;
  cdw12?: number;
  cdw13?: number;
  cdw15?: number;
  data?: Uint8Array;
}

export interface DsmRange {
  slba: number;
  /** Number of logical blocks (a count, not 0's based). */
  nlb: number;
  /** Context attributes. */
  cattr?: number;
}

/** What the initiator learned about a namespace's geometry. */
export interface NamespaceGeometry {
  nsid: number;
  lbaSize: number;
  /** Size in LBAs (exact below 2^53). */
  nsze: number;
}

const HOSTID = randomUUID();

function defaultHostNqn(hostid: string): string {
  return `nqn.2014-08.org.nvmexpress:uuid:${hostid}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Controller {
  readonly host: string;
  readonly port: number;
  readonly subnqn: string;
  readonly hostnqn: string;
  readonly hostid: string;
  /** Controller id the target assigned at the admin Connect. */
  readonly cntlid: number;
  /** Keep Alive Timeout requested at Connect, ms (0 = none). */
  readonly kato: number;
  readonly admin: HostQueue;
  /** I/O queues; `ioQueues[i]` has qid i + 1. */
  readonly ioQueues: HostQueue[] = [];
  /** CAP as read at connect (0 when skipped). */
  cap: bigint = 0n;
  /** VS as read at connect. */
  vs = 0;
  /** Identify Controller as read at connect (null with skipIdentify). */
  identity: IdentifyController | null = null;
  /** Largest data transfer per command, bytes (from MDTS; 0 = unlimited). */
  maxTransferBytes = 0;
  /** Queue depth (outstanding commands) of each I/O queue. */
  ioQueueDepth = 0;

  private readonly opts: ConnectOptions;
  private readonly nsGeometry = new Map<number, NamespaceGeometry>();
  private rr = 0;
  private kaTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private dead: Error | null = null;
  private aerArmed = false;

  private constructor(opts: ConnectOptions, admin: HostQueue, cntlid: number, hostid: string, hostnqn: string, kato: number) {
    this.opts = opts;
    this.host = opts.host;
    this.port = opts.port;
    this.subnqn = opts.subnqn;
    this.hostid = hostid;
    this.hostnqn = hostnqn;
    this.admin = admin;
    this.cntlid = cntlid;
    this.kato = kato;
    admin.onClose = (err) => this.onAdminLost(err);
  }

  /** Connect to `opts.subnqn` and bring the controller up; see the file comment for the sequence. */
  static async connect(opts: ConnectOptions): Promise<Controller> {
    const hostid = opts.hostid ?? HOSTID;
    const hostnqn = opts.hostnqn ?? defaultHostNqn(hostid);
    const kato = opts.kato ?? (opts.subnqn === DISCOVERY_NQN ? 0 : DEFAULT_KATO_MS);
    const admin = await HostQueue.open(withTls(opts, hostnqn));
    admin.inCapsuleMax = ADMIN_INCAPSULE_MAX;
    let ctrl: Controller | null = null;
    try {
      const cntlid = await fabricsConnect(admin, {
        qid: 0,
        sqsize: ADMIN_QUEUE_ENTRIES - 1,
        kato,
        cattr: opts.disableSqFlow === true ? CATTR_DISABLE_SQ_FLOW : 0,
        cntlid: opts.cntlid ?? CNTLID_DYNAMIC,
        hostid,
        hostnqn,
        subnqn: opts.subnqn,
        timeoutMs: opts.connectTimeoutMs ?? 5000,
        auth: hostAuthConfig(opts, hostnqn),
      });
      admin.qid = 0;
      // An SQ of N entries holds N-1 commands.
      admin.setDepth(ADMIN_QUEUE_ENTRIES - 1);
      ctrl = new Controller(opts, admin, cntlid, hostid, hostnqn, kato);
      await ctrl.bringUp();
      return ctrl;
    } catch (e) {
      if (ctrl !== null) ctrl.abort();
      admin.close('connect failed');
      throw e;
    }
  }

  private async bringUp(): Promise<void> {
    const o = this.opts;
    this.cap = await this.propertyGet(Reg.Cap, 8);
    this.vs = Number(await this.propertyGet(Reg.Vs, 4));
    if (o.skipEnable !== true) await this.enable();
    if (o.skipIdentify !== true) {
      this.identity = await this.identifyController();
      const mpsmin = 4096 * 2 ** decodeCap(this.cap).mpsmin;
      this.maxTransferBytes = mdtsBytes(this.identity.mdts, mpsmin);
    }
    // The target's KATO timer runs from the admin Connect: keep it fed while I/O queues come up.
    if (this.kato > 0) this.startKeepAlive();
    const want = o.queues ?? 1;
    if (want > 0) await this.createIoQueues(want);
    if (o.onAsyncEvent !== undefined) await this.armAsyncEvents();
  }

  /** CC.EN=1 with the entry sizes and command set CAP allows, then wait CSTS.RDY. */
  private async enable(): Promise<void> {
    const cap: Cap = decodeCap(this.cap);
    // CAP.CSS bit 6: I/O command set independent features (CC.CSS 110b); bit 7: admin only.
    const css = (cap.css & 0x40) !== 0 ? CcCss.AllIo : (cap.css & 0x01) !== 0 ? CcCss.Nvm : (cap.css & 0x80) !== 0 ? CcCss.AdminOnly : CcCss.Nvm;
    const cc = encodeCc({ en: true, css, mps: 0, ams: 0, shn: Shn.None, iosqes: 6, iocqes: 4 });
    await this.propertySet(Reg.Cc, 4, cc);
    await this.waitCsts((csts) => (csts & CSTS_RDY) !== 0, 'CSTS.RDY=1');
  }

  private readyTimeout(): number {
    if (this.opts.readyTimeoutMs !== undefined) return this.opts.readyTimeoutMs;
    const to = capTimeout(this.cap) * 500;
    return Math.min(15_000, Math.max(500, to));
  }

  private async waitCsts(ok: (csts: number) => boolean, what: string): Promise<number> {
    const ms = this.readyTimeout();
    const deadline = performance.now() + ms;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const csts = Number(await this.propertyGet(Reg.Csts, 4));
      if ((csts & CSTS_CFS) !== 0) throw new TransportError('protocol', `controller fatal status (CSTS.CFS) while waiting for ${what}`);
      if (ok(csts)) return csts;
      if (performance.now() >= deadline) throw new TimeoutError(`waiting for ${what} (CSTS 0x${csts.toString(16)})`, ms);
      await sleep(delay);
    }
  }

  private async createIoQueues(want: number): Promise<void> {
    let n = want;
    try {
      // Set Features Number of Queues: NSQR/NCQR 0's based; the result says what was allocated.
      const dw0 = await this.setFeatures(FeatureId.NumberOfQueues, encodeNumQueues(want - 1, want - 1));
      const got = decodeNumQueues(dw0);
      n = Math.min(want, got.nsq + 1, got.ncq + 1);
    } catch (e) {
      if (!(e instanceof NvmeError)) throw e;
      // Some fabrics targets don't implement it; try what was asked.
    }
    const mqes = capMqes(this.cap);
    let depth = Math.min(this.opts.queueDepth ?? DEFAULT_QUEUE_DEPTH, mqes > 0 ? mqes : 0xffff);
    const maxcmd = this.identity?.maxcmd ?? 0;
    if (maxcmd > 1) depth = Math.min(depth, maxcmd - 1);
    depth = Math.max(1, depth);
    this.ioQueueDepth = depth;
    const ioccsz = this.identity?.ioccsz ?? 4;
    const icdoff = this.identity?.icdoff ?? 0;
    const inCapsuleMax = icdoff === 0 ? Math.max(0, ioccsz * 16 - SQE_SIZE) : 0;
    const opened = await Promise.allSettled(
      Array.from({ length: n }, async (_, i) => {
        const q = await HostQueue.open(withTls(this.opts, this.hostnqn));
        try {
          q.inCapsuleMax = inCapsuleMax;
          await fabricsConnect(q, {
            qid: i + 1,
            sqsize: depth,
            kato: 0,
            cattr: this.opts.disableSqFlow === true ? CATTR_DISABLE_SQ_FLOW : 0,
            cntlid: this.cntlid,
            hostid: this.hostid,
            hostnqn: this.hostnqn,
            subnqn: this.subnqn,
            timeoutMs: this.opts.connectTimeoutMs ?? 5000,
            auth: hostAuthConfig(this.opts, this.hostnqn),
          });
          q.qid = i + 1;
          q.setDepth(depth);
          return q;
        } catch (e) {
          q.close('I/O queue connect failed');
          throw e;
        }
      }),
    );
    for (const r of opened) if (r.status === 'fulfilled') this.ioQueues.push(r.value);
    const failed = opened.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      for (const q of this.ioQueues) q.close('sibling I/O queue failed to connect');
      this.ioQueues.length = 0;
      throw (failed as PromiseRejectedResult).reason;
    }
  }

  // ------------------------------------------------------------------ keep-alive, AEN, teardown

  private startKeepAlive(): void {
    const every = this.opts.keepAliveIntervalMs ?? Math.max(100, Math.floor(this.kato / 2));
    const sqe = new Uint8Array(SQE_SIZE);
    encodeSqe(sqe, { opcode: AdminOpcode.KeepAlive });
    let inFlight = false;
    this.kaTimer = setInterval(() => {
      if (inFlight || this.closing || this.dead !== null) return;
      inFlight = true;
      this.admin.submitCb({ sqe, timeoutMs: this.kato }, (err, c) => {
        inFlight = false;
        if (err !== null) this.fail(err);
        else if (c.status !== 0) this.fail(new NvmeError(c.status, { ...c, qid: 0, opcode: AdminOpcode.KeepAlive }, 'Keep Alive', 'admin'));
      });
    }, every);
    this.kaTimer.unref();
  }

  /** Send one Keep Alive now. */
  async keepAlive(): Promise<void> {
    await this.adminCmd('Keep Alive', this.sqe({ opcode: AdminOpcode.KeepAlive }));
  }

  private async armAsyncEvents(): Promise<void> {
    const oaes = this.identity?.oaes ?? 0;
    // Notices the controller says it can send (OAES bits = Asynchronous Event Configuration bits).
    const mask =
      oaes &
      (AsyncEventConfig.NsAttributeNotices |
        AsyncEventConfig.FirmwareActivationNotices |
        AsyncEventConfig.AnaChangeNotices |
        AsyncEventConfig.DiscoveryLogChangeNotices);
    if (mask !== 0) {
      try {
        await this.setFeatures(FeatureId.AsyncEventConfig, mask >>> 0);
      } catch (e) {
        if (!(e instanceof NvmeError)) throw e;
      }
    }
    this.aerArmed = true;
    this.submitAer();
  }

  private submitAer(): void {
    if (!this.aerArmed || this.closing || this.dead !== null) return;
    const sqe = this.sqe({ opcode: AdminOpcode.AsyncEventRequest });
    this.admin.submitCb({ sqe, timeoutMs: 0 }, (err, c) => {
      if (err !== null) return; // queue gone: close/fatal paths report it
      if (c.status !== 0) {
        // e.g. Asynchronous Event Request Limit Exceeded: stop re-arming
        this.aerArmed = false;
        return;
      }
      void this.onAen(c.dw0);
    });
  }

  private async onAen(dw0: number): Promise<void> {
    const r = decodeAerResult(dw0);
    const ev: AsyncEvent = { type: r.type, info: r.info, logPage: r.lid, dw0 };
    try {
      if (ev.type === AerType.Notice && ev.info === AerNotice.NsAttributeChanged) {
        // Reading the log with RAE=0 clears the event so the controller reports the next one.
        ev.changedNamespaces = await this.changedNamespaces();
        for (const nsid of ev.changedNamespaces) this.nsGeometry.delete(nsid);
      }
    } catch {
      // Report the event even if the log read failed.
    }
    this.submitAer();
    this.opts.onAsyncEvent?.(ev);
  }

  private onAdminLost(err: TransportError): void {
    if (this.closing) return;
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.dead !== null || this.closing) return;
    this.dead = err;
    this.abort();
    this.opts.onFatal?.(err);
  }

  /**
   * Re-authenticate every queue (DH-HMAC-CHAP), as a Linux host does after the sysfs
   * `dhchap_secret` is rewritten: a new transaction per queue with the current secrets.
   */
  async reauthenticate(): Promise<void> {
    const auth = hostAuthConfig(this.opts, this.hostnqn);
    if (auth === undefined) throw new AuthenticationError(0, AuthFailure.Failed, false, 'no DH-HMAC-CHAP secret set');
    const timeout = this.opts.connectTimeoutMs ?? 5000;
    await authenticateQueue(this.admin, 0, auth, timeout);
    for (const q of this.ioQueues) await authenticateQueue(q, q.qid, auth, timeout);
  }

  /** Drop every connection without a shutdown handshake. */
  abort(): void {
    if (this.kaTimer !== null) clearInterval(this.kaTimer);
    this.kaTimer = null;
    this.aerArmed = false;
    for (const q of this.ioQueues) q.close('controller aborted');
    this.admin.close('controller aborted');
  }

  /** Why the association died (null while healthy). */
  get error(): Error | null {
    return this.dead;
  }

  /**
   * Orderly teardown: Disconnect each I/O queue, CC.SHN=normal and wait for
   * CSTS.SHST=complete, then close every connection. Bounded in time; errors of
   * an already-dead controller are swallowed.
   */
  async close(opts: { shutdown?: boolean; disconnect?: boolean } = {}): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.kaTimer !== null) clearInterval(this.kaTimer);
    this.kaTimer = null;
    this.aerArmed = false;
    const bounded = 2000;
    if (opts.disconnect !== false) {
      await Promise.allSettled(
        this.ioQueues
          .filter((q) => !q.closed)
          .map((q) => q.submit({ sqe: encodeDisconnect(new Uint8Array(SQE_SIZE), 0), timeoutMs: bounded })),
      );
    }
    for (const q of this.ioQueues) q.close('host disconnect');
    if (opts.shutdown !== false && !this.admin.closed && this.opts.skipEnable !== true) {
      try {
        const cc = Number(await this.propertyGet(Reg.Cc, 4, bounded));
        await this.propertySet(Reg.Cc, 4, (cc & ~(3 << 14)) | (Shn.Normal << 14), bounded);
        await this.waitCsts((csts) => ((csts >>> CSTS_SHST_SHIFT) & 3) === Shst.Complete, 'CSTS.SHST=complete');
      } catch {
        // A controller that can't shut down cleanly is still closed below.
      }
    }
    this.admin.close('host disconnect');
  }

  // ------------------------------------------------------------------ raw submission

  /** The queue with id `qid` (0 = admin). */
  queue(qid: number): HostQueue {
    if (qid === 0) return this.admin;
    const q = this.ioQueues[qid - 1];
    if (q === undefined) throw new RangeError(`no I/O queue ${qid} (have ${this.ioQueues.length})`);
    return q;
  }

  /** Next I/O queue, round-robin. */
  nextIoQueue(): HostQueue {
    const n = this.ioQueues.length;
    if (n === 0) throw new RangeError('controller has no I/O queues');
    const q = this.ioQueues[this.rr]!;
    this.rr = this.rr + 1 === n ? 0 : this.rr + 1;
    return q;
  }

  /**
   * Send an arbitrary SQE on queue `qid` and return the completion whatever its
   * status (transport failures and timeouts still reject). The CID is overwritten.
   */
  async submit(qid: number, sqe: Uint8Array, opts: SubmitOptions = {}): Promise<RawCompletion> {
    if (sqe.length < SQE_SIZE) throw new RangeError(`SQE must be ${SQE_SIZE} bytes, got ${sqe.length}`);
    const dataIn = typeof opts.dataIn === 'number' ? new Uint8Array(opts.dataIn) : (opts.dataIn ?? null);
    const cmd: HostCommand = { sqe, dataOut: opts.dataOut ?? null, dataIn };
    if (opts.forceR2T !== undefined) cmd.forceR2T = opts.forceR2T;
    if (opts.rawDptr !== undefined) cmd.rawDptr = opts.rawDptr;
    if (opts.timeoutMs !== undefined) cmd.timeoutMs = opts.timeoutMs;
    const c = await this.queue(qid).submit(cmd);
    return { ...c, data: dataIn };
  }

  private sqe(f: Parameters<typeof encodeSqe>[1]): Uint8Array {
    return encodeSqe(new Uint8Array(SQE_SIZE), f);
  }

  private async cmd(
    q: HostQueue,
    what: string,
    sqe: Uint8Array,
    ctx: StatusContext,
    extra: Omit<HostCommand, 'sqe'> = {},
  ): Promise<Completion> {
    const c = await q.submit({ sqe, ...extra });
    if (c.status !== 0) throw new NvmeError(c.status, { ...c, qid: q.qid, opcode: sqe[0]! }, what, ctx);
    const want = extra.dataIn?.length ?? 0;
    if (c.dataLen !== want) {
      // A successful command must move exactly what it asked for; anything else would hand
      // the caller stale bytes as data.
      throw new TransportError('protocol', `${what} on ${q.describe()} succeeded with ${c.dataLen} of ${want} data bytes`);
    }
    return c;
  }

  private adminCmd(what: string, sqe: Uint8Array, extra: Omit<HostCommand, 'sqe'> = {}): Promise<Completion> {
    return this.cmd(this.admin, what, sqe, sqe[0] === FABRICS_OPCODE ? 'fabrics' : 'admin', extra);
  }

  // ------------------------------------------------------------------ properties

  /** Fabrics Property Get; 8-byte properties come back whole. */
  async propertyGet(offset: number, size: 4 | 8, timeoutMs?: number): Promise<bigint> {
    const sqe = encodePropertyGet(new Uint8Array(SQE_SIZE), 0, offset, size);
    const c = await this.adminCmd(`Property Get 0x${offset.toString(16)}`, sqe, timeoutMs === undefined ? {} : { timeoutMs });
    const v = (BigInt(c.dw1 >>> 0) << 32n) | BigInt(c.dw0 >>> 0);
    return size === 4 ? v & 0xffff_ffffn : v;
  }

  /** Fabrics Property Set. */
  async propertySet(offset: number, size: 4 | 8, value: number | bigint, timeoutMs?: number): Promise<void> {
    const sqe = encodePropertySet(new Uint8Array(SQE_SIZE), 0, offset, size, value);
    await this.adminCmd(`Property Set 0x${offset.toString(16)}`, sqe, timeoutMs === undefined ? {} : { timeoutMs });
  }

  // ------------------------------------------------------------------ identify

  /** Identify with any CNS; returns the 4096-byte data structure. */
  async identify(cns: number, nsid = 0, opts: { cntid?: number; csi?: number } = {}): Promise<Uint8Array> {
    const sqe = encodeIdentifyCommand(new Uint8Array(SQE_SIZE), { cns, nsid, cntid: opts.cntid ?? 0, csi: opts.csi ?? 0 });
    const data = new Uint8Array(IDENTIFY_DATA_SIZE);
    await this.adminCmd(`Identify CNS ${cns}`, sqe, { dataIn: data });
    return data;
  }

  async identifyController(): Promise<IdentifyController> {
    return decodeIdentifyController(await this.identify(Cns.Controller));
  }

  async identifyNamespace(nsid: number): Promise<IdentifyNamespace> {
    const ns = decodeIdentifyNamespace(await this.identify(Cns.Namespace, nsid));
    if (ns.nsze > 0n) this.nsGeometry.set(nsid, { nsid, lbaSize: activeLbaSize(ns), nsze: Number(ns.nsze) });
    return ns;
  }

  /** Active namespace ids greater than `after` (up to 1024 per call). */
  async activeNamespaces(after = 0): Promise<number[]> {
    return decodeNsList(await this.identify(Cns.ActiveNsList, after));
  }

  /** Namespace Identification Descriptor list of `nsid`. */
  async namespaceDescriptors(nsid: number): Promise<NsIdDescriptor[]> {
    return decodeNsDescList(await this.identify(Cns.NsDescList, nsid));
  }

  /** LBA size and capacity of a namespace (Identify Namespace on first use, then cached). */
  async geometry(nsid: number): Promise<NamespaceGeometry> {
    const g = this.nsGeometry.get(nsid);
    if (g !== undefined) return g;
    await this.identifyNamespace(nsid);
    const g2 = this.nsGeometry.get(nsid);
    if (g2 === undefined) throw new RangeError(`namespace ${nsid} is not active (NSZE 0)`);
    return g2;
  }

  // ------------------------------------------------------------------ log pages, features

  /** Get Log Page of `len` bytes (a multiple of 4), split by MDTS when needed. */
  async getLogPage(lid: number, len: number, opts: LogPageOptions = {}): Promise<Uint8Array> {
    if (len <= 0 || len % 4 !== 0) throw new RangeError(`log page length ${len} must be a positive multiple of 4`);
    const out = new Uint8Array(len);
    const max = this.maxTransferBytes > 0 ? this.maxTransferBytes : len;
    const base = opts.offset ?? 0;
    for (let off = 0; off < len; off += max) {
      const n = Math.min(max, len - off);
      const sqe = encodeGetLogPageCommand(new Uint8Array(SQE_SIZE), {
        lid,
        length: n,
        nsid: opts.nsid ?? 0xffff_ffff,
        lsp: opts.lsp ?? 0,
        rae: opts.rae === true,
        offset: base + off,
        lsi: opts.lsi ?? 0,
        csi: opts.csi ?? 0,
      });
      await this.adminCmd(`Get Log Page 0x${lid.toString(16)}`, sqe, { dataIn: out.subarray(off, off + n) });
    }
    return out;
  }

  /** Changed Namespace List (log 04h); reading it with RAE=0 re-arms the namespace AEN. */
  async changedNamespaces(rae = false): Promise<number[]> {
    const l = decodeChangedNsList(await this.getLogPage(LogId.ChangedNsList, CHANGED_NS_LIST_SIZE, { rae }));
    // Overflow (more than 1024 changed): every cached geometry is suspect.
    if (l.overflow) this.nsGeometry.clear();
    return l.nsids;
  }

  /** SMART / Health Information (log 02h), controller-wide unless `nsid`. */
  async smartLog(nsid = 0xffff_ffff): Promise<SmartLog> {
    return decodeSmartLog(await this.getLogPage(LogId.Smart, SMART_LOG_SIZE, { nsid }));
  }

  /** Error Information log (01h): `entries` entries (default ELPE + 1), newest first. */
  async errorLog(entries?: number): Promise<ErrorLogEntry[]> {
    const n = entries ?? (this.identity?.elpe ?? 0) + 1;
    const b = await this.getLogPage(LogId.ErrorInfo, n * ERROR_LOG_ENTRY_SIZE);
    const out: ErrorLogEntry[] = [];
    for (let i = 0; i < n; i++) out.push(decodeErrorLogEntry(b, i * ERROR_LOG_ENTRY_SIZE));
    return out;
  }

  /** Get Features: completion dword 0 and, with `dataLen`, the returned data. */
  async getFeatures(fid: number, opts: GetFeaturesOptions = {}): Promise<{ dw0: number; data: Uint8Array | null }> {
    const data = opts.dataLen !== undefined && opts.dataLen > 0 ? new Uint8Array(opts.dataLen) : null;
    const sqe = encodeGetFeatures(new Uint8Array(SQE_SIZE), { fid, nsid: opts.nsid ?? 0, sel: opts.sel ?? 0, cdw11: opts.cdw11 ?? 0 });
    const c = await this.adminCmd(`Get Features 0x${fid.toString(16)}`, sqe, { dataIn: data });
    return { dw0: c.dw0, data };
  }

  /** Set Features; returns completion dword 0 (e.g. queues allocated). */
  async setFeatures(fid: number, cdw11: number, opts: SetFeaturesOptions = {}): Promise<number> {
    const sqe = encodeSetFeatures(new Uint8Array(SQE_SIZE), {
      fid,
      nsid: opts.nsid ?? 0,
      save: opts.save === true,
      cdw11,
      cdw12: opts.cdw12 ?? 0,
      cdw13: opts.cdw13 ?? 0,
      cdw15: opts.cdw15 ?? 0,
    });
    const c = await this.adminCmd(`Set Features 0x${fid.toString(16)}`, sqe, { dataOut: opts.data ?? null });
    return c.dw0;
  }

  // ------------------------------------------------------------------ I/O

  private ioQueue(o: IoOptions | undefined): HostQueue {
    return o?.qid !== undefined ? this.queue(o.qid) : this.nextIoQueue();
  }

  /** Blocks per command honouring MDTS and the 16-bit NLB field. */
  private maxBlocks(lbaSize: number): number {
    const byMdts = this.maxTransferBytes > 0 ? Math.max(1, Math.floor(this.maxTransferBytes / lbaSize)) : 0x10000;
    return Math.min(0x10000, byMdts);
  }

  /**
   * Read `nlb` blocks from `slba` (split by MDTS). C2HData lands straight in
   * `into` (allocated when omitted) and that buffer is returned.
   */
  async read(nsid: number, slba: number, nlb: number, into?: Uint8Array, opts?: IoOptions): Promise<Uint8Array> {
    const g = await this.geometry(nsid);
    const bytes = nlb * g.lbaSize;
    const dst = into ?? Buffer.allocUnsafe(bytes);
    if (dst.length < bytes) throw new RangeError(`read buffer of ${dst.length} bytes < ${bytes}`);
    await this.rw(IoOpcode.Read, 'Read', nsid, slba, nlb, g.lbaSize, dst, opts);
    return dst.length === bytes ? dst : dst.subarray(0, bytes);
  }

  /** Write `data` (a whole number of blocks) at `slba`, split by MDTS. */
  async write(nsid: number, slba: number, data: Uint8Array, opts?: IoOptions): Promise<void> {
    const g = await this.geometry(nsid);
    if (data.length === 0 || data.length % g.lbaSize !== 0) {
      throw new RangeError(`write of ${data.length} bytes is not a positive multiple of the ${g.lbaSize}-byte LBA`);
    }
    await this.rw(IoOpcode.Write, 'Write', nsid, slba, data.length / g.lbaSize, g.lbaSize, data, opts);
  }

  private async rw(
    opcode: number,
    what: string,
    nsid: number,
    slba: number,
    nlb: number,
    lbaSize: number,
    buf: Uint8Array,
    opts: IoOptions | undefined,
  ): Promise<void> {
    if (!Number.isInteger(nlb) || nlb < 1) throw new RangeError(`block count ${nlb} must be a positive integer`);
    const per = this.maxBlocks(lbaSize);
    const parts: Promise<Completion>[] = [];
    for (let done = 0; done < nlb; done += per) {
      const n = Math.min(per, nlb - done);
      const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), {
        opcode,
        cid: 0,
        nsid,
        slba: slba + done,
        blocks: n,
        control: opts?.fua === true ? RwControl.Fua : 0,
      });
      const view = buf.subarray(done * lbaSize, (done + n) * lbaSize);
      const extra: Omit<HostCommand, 'sqe'> =
        opcode === IoOpcode.Write ? { dataOut: view, forceR2T: opts?.forceR2T === true } : { dataIn: view };
      if (opts?.timeoutMs !== undefined) extra.timeoutMs = opts.timeoutMs;
      parts.push(this.cmd(this.ioQueue(opts), what, sqe, 'io', extra));
    }
    await Promise.all(parts);
  }

  /** Flush (volatile write cache) of `nsid`. */
  async flush(nsid: number, opts?: IoOptions): Promise<void> {
    await this.cmd(this.ioQueue(opts), 'Flush', this.sqe({ opcode: IoOpcode.Flush, nsid }), 'io');
  }

  /** Write Zeroes `nlb` blocks (1..65536) at `slba`; `deallocate` sets DEAC. */
  async writeZeroes(nsid: number, slba: number, nlb: number, opts?: IoOptions & { deallocate?: boolean }): Promise<void> {
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), {
      opcode: IoOpcode.WriteZeroes,
      cid: 0,
      nsid,
      slba,
      blocks: nlb,
      control: opts?.deallocate === true ? RwControl.Deallocate : 0,
    });
    await this.cmd(this.ioQueue(opts), 'Write Zeroes', sqe, 'io');
  }

  /** Dataset Management with the Attribute Deallocate bit over `ranges` (1..256). */
  async deallocate(nsid: number, ranges: DsmRange[], opts?: IoOptions): Promise<void> {
    const data = encodeDsmRanges(ranges.map((r) => ({ cattr: r.cattr ?? 0, nlb: r.nlb, slba: r.slba })));
    const sqe = encodeDsmCommand(new Uint8Array(SQE_SIZE), 0, nsid, ranges.length, DsmAttr.Deallocate);
    await this.cmd(this.ioQueue(opts), 'Dataset Management', sqe, 'io', { dataOut: data });
  }
}

/** Transport options with the TLS PSK and identity derived from `opts.tlsKey` (src/nvme/tls/psk.ts). */
function withTls(opts: ConnectOptions, hostnqn: string): ConnectOptions & { tls?: HostTls } {
  if (opts.tlsKey === undefined) return opts;
  const configured = parseTlsPsk(opts.tlsKey);
  if (pskCipher(configured) !== 1) throw new TransportError('connect', 'TLS PSKs for TLS_AES_256_GCM_SHA384 (hash 02 / 48-byte keys) are not supported; use a 32-byte key');
  const id = hostPskIdentity(configured, hostnqn, opts.subnqn, opts.tlsIdentityVersion ?? 0);
  return { ...opts, tls: { identity: formatPskIdentity(id), key: tlsPsk(configured, id) } };
}

/** The DH-HMAC-CHAP settings of `opts`, parsed (throws DhchapSecretError on a malformed secret). */
function hostAuthConfig(opts: ConnectOptions, hostnqn: string): DhchapHostConfig | undefined {
  if (opts.dhchapSecret === undefined) {
    if (opts.dhchapCtrlSecret !== undefined) throw new AuthenticationError(0, AuthFailure.Failed, false, 'a controller secret needs a host secret');
    return undefined;
  }
  return {
    hostnqn,
    subnqn: opts.subnqn,
    hostKey: parseDhchapSecret(opts.dhchapSecret),
    ctrlKey: opts.dhchapCtrlSecret !== undefined ? parseDhchapSecret(opts.dhchapCtrlSecret) : undefined,
    ...(opts.dhchapHashIds !== undefined ? { hashIds: opts.dhchapHashIds } : {}),
    ...(opts.dhchapDhGroupIds !== undefined ? { dhGroupIds: opts.dhchapDhGroupIds } : {}),
  };
}

/**
 * Connect, then DH-HMAC-CHAP when the controller asks for it (AUTHREQ.ATR) — as Linux's
 * nvmf_connect_{admin,io}_queue. A controller that does not ask although the host wants
 * bidirectional authentication is refused: the host could not authenticate it.
 */
async function fabricsConnect(
  q: HostQueue,
  p: {
    qid: number;
    sqsize: number;
    kato: number;
    cattr: number;
    cntlid: number;
    hostid: string;
    hostnqn: string;
    subnqn: string;
    timeoutMs: number;
    auth?: DhchapHostConfig | undefined;
  },
): Promise<number> {
  const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid: p.qid, sqsize: p.sqsize, cattr: p.cattr, kato: p.kato });
  const data = encodeConnectData({ hostId: uuidToBytes(p.hostid), cntlid: p.cntlid, subnqn: p.subnqn, hostnqn: p.hostnqn });
  const c = await q.submit({ sqe, dataOut: data, timeoutMs: p.timeoutMs });
  if (c.status !== 0) {
    throw new NvmeError(c.status, { ...c, qid: p.qid, opcode: FABRICS_OPCODE }, `Connect qid ${p.qid} to ${p.subnqn}`, 'fabrics');
  }
  const cntlid = connectResultCntlid(c.dw0);
  const atr = (connectResultAuthreq(c.dw0) & AUTHREQ_ATR) !== 0;
  if (atr) {
    if (p.auth === undefined) throw new AuthenticationError(p.qid, AuthFailure.Failed, false, 'the controller requires authentication and no DH-HMAC-CHAP secret is set');
    // The queue carries commands once Connect completed: its qid must be known for them.
    q.qid = p.qid;
    await authenticateQueue(q, p.qid, p.auth, p.timeoutMs);
  } else if (p.auth?.ctrlKey !== undefined) {
    throw new AuthenticationError(p.qid, AuthFailure.Failed, false, 'bidirectional authentication requested but the controller does not authenticate');
  }
  return cntlid;
}
