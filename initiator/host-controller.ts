/**
 * A host's association with one NVMe-oF controller, transport-agnostic: the
 * admin queue plus N I/O queues (Linux `struct nvme_ctrl` with its fabrics
 * bring-up). Transports (NVMe/TCP in controller.ts, simulated RDMA in
 * rdma/controller.ts) only open queue pairs and shape data commands; everything
 * else — the bring-up sequence, keep-alive, asynchronous events, shutdown, and the
 * typed admin and I/O commands — lives here once.
 *
 * `start()` runs the sequence a Linux host does: Connect (qid 0) → Property Get
 * CAP/VS → Property Set CC.EN=1 → wait CSTS.RDY → Identify Controller → keep-alive
 * timer → Set Features Number of Queues → Connect per I/O queue → (AER). `close()`
 * disconnects the I/O queues, shuts the controller down (CC.SHN, wait CSTS.SHST)
 * and closes every queue.
 *
 * Typed commands throw `NvmeError` on a non-zero status.
 */
import { randomUUID } from 'node:crypto';
import { AdminOpcode, IoOpcode } from '../src/nvme/opcodes.js';
import { encodeSqe, encodeRwCommand, RwControl, SQE_SIZE } from '../src/nvme/sqe.js';
import { CNTLID_DYNAMIC, encodeDisconnect } from '../src/nvme/fabrics.js';
import { Reg, decodeCap } from '../src/nvme/registers.js';
import { Cns, IDENTIFY_DATA_SIZE, encodeIdentifyCommand } from '../src/nvme/identify.js';
import { decodeIdentifyController, mdtsBytes } from '../src/nvme/identify-ctrl.js';
import type { IdentifyController } from '../src/nvme/identify-ctrl.js';
import { activeLbaSize, decodeIdentifyNamespace } from '../src/nvme/identify-ns.js';
import type { IdentifyNamespace } from '../src/nvme/identify-ns.js';
import { decodeNsDescList, decodeNsList } from '../src/nvme/identify-lists.js';
import type { NsIdDescriptor } from '../src/nvme/identify-lists.js';
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
import { NvmeError } from './errors.js';
import type { TransportError } from './errors.js';
import { AuthenticationError, authenticateQueue } from './authenticate.js';
import { parseDhchapSecret } from '../src/nvme/auth/secret.js';
import { AuthFailure } from '../src/nvme/auth/ids.js';
import type { DhchapHostConfig } from '../src/nvme/auth/host-session.js';
import {
  adminContext,
  connectQueue,
  enableController,
  ioQueueDepth,
  propertyGet,
  propertySet,
  readyTimeoutMs,
  shutdownController,
  submitChecked,
} from './bring-up.js';
import type { FabricsQueue, QueueCommand, QueueCompletion } from './fabrics-queue.js';

/** Admin SQ entries (Linux NVME_AQ_DEPTH). */
export const ADMIN_QUEUE_ENTRIES = 32;
export const DEFAULT_QUEUE_DEPTH = 128;

/** Called for every Asynchronous Event the controller reports. */
export type AsyncEventHandler = (ev: AsyncEvent) => void;

/** A decoded Asynchronous Event Request completion (dword 0). */
export interface AsyncEvent {
  /** Asynchronous Event Type (bits 2:0): 0 error, 1 SMART/health, 2 notice, 6 I/O command set, 7 vendor. */
  type: number;
  /** Asynchronous Event Information (bits 15:8), e.g. 0 = Namespace Attribute Changed for notices. */
  info: number;
  /** Log page to read to clear the event (bits 23:16). */
  logPage: number;
  /** Raw completion dword 0. */
  dw0: number;
  /**
   * For Namespace Attribute Changed notices: the Changed Namespace List, read by
   * the initiator right away (which also re-arms the event, RAE=0). Otherwise undefined.
   */
  changedNamespaces?: number[];
}

/** What every transport's connect options share. */
export interface ControllerOptions {
  /** NQN of the subsystem to connect to. */
  subnqn: string;
  /** Host NQN (default: a UUID-based NQN derived from hostid). */
  hostnqn?: string;
  /** Host identifier as a UUID string (default: random per process). */
  hostid?: string;
  /** Keep-alive send period, ms (default kato / 2). */
  keepAliveIntervalMs?: number;
  /** Number of I/O queues (default 1; 0 = admin only). */
  queues?: number;
  /** Commands outstanding per I/O queue (Connect SQSIZE; default 128, capped by CAP.MQES and MAXCMD). */
  queueDepth?: number;
  /** Request a specific controller id (static controller model); default 0xFFFF (dynamic). */
  cntlid?: number;
  /** Skip CC.EN=1 / CSTS.RDY (tests of a disabled controller). Default false. */
  skipEnable?: boolean;
  /** Skip Identify Controller at connect (tests). Default false. */
  skipIdentify?: boolean;
  /** Asynchronous Event handler; when set, an AER is kept outstanding. */
  onAsyncEvent?: AsyncEventHandler;
  /** Called once if the controller association dies (admin queue lost, keep-alive failed). */
  onFatal?: (err: Error) => void;
  /** Wait for CSTS.RDY / SHST, ms (default: from CAP.TO, at most 15000). */
  readyTimeoutMs?: number;
  /** DH-HMAC-CHAP host secret, `DHHC-1:NN:<base64>:` (nvme connect --dhchap-secret). */
  dhchapSecret?: string;
  /** Controller secret for bidirectional authentication (nvme connect --dhchap-ctrl-secret). */
  dhchapCtrlSecret?: string;
  /** Hash ids offered in AUTH_Negotiate (default SHA-256, SHA-384, SHA-512). */
  dhchapHashIds?: readonly number[];
  /** DH group ids offered (default null and ffdhe2048..8192). */
  dhchapDhGroupIds?: readonly number[];
}

/** What a transport settles before the bring-up runs. */
export interface TransportDefaults {
  /** Keep Alive Timeout sent at the admin Connect, ms (0 = none). */
  kato: number;
  /** Connect attributes of every queue (CATTR). */
  cattr: number;
  /** Timeout of each Connect, ms. */
  connectTimeoutMs: number;
  /** Timeout applied to every command that names none (undefined: the queue's own default). */
  commandTimeoutMs?: number;
}

/** Per-call options of the I/O helpers every transport understands. */
export interface IoOptions {
  /** I/O queue id (1..queues) to use; default round-robin. */
  qid?: number;
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

export abstract class HostController<Q extends FabricsQueue<R>, R extends QueueCompletion, O extends IoOptions = IoOptions> {
  readonly subnqn: string;
  readonly hostid: string;
  readonly hostnqn: string;
  /** Keep Alive Timeout requested at Connect, ms (0 = none). */
  readonly kato: number;
  /** I/O queues; `ioQueues[i]` has qid i + 1. */
  readonly ioQueues: Q[] = [];
  /** CAP as read at connect. */
  cap = 0n;
  /** VS as read at connect. */
  vs = 0;
  /** Identify Controller as read at connect (null with skipIdentify). */
  identity: IdentifyController | null = null;
  /** Largest data transfer per command, bytes (from MDTS; 0 = unlimited). */
  maxTransferBytes = 0;
  /** Queue depth (outstanding commands) of each I/O queue. */
  ioQueueDepth = 0;

  protected readonly nsGeometry = new Map<number, NamespaceGeometry>();
  private adminQueue: Q | null = null;
  private assignedCntlid = -1;
  private rr = 0;
  private kaTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private dead: Error | null = null;
  private aerArmed = false;

  protected constructor(
    private readonly o: ControllerOptions,
    protected readonly t: TransportDefaults,
  ) {
    this.subnqn = o.subnqn;
    this.hostid = o.hostid ?? HOSTID;
    this.hostnqn = o.hostnqn ?? `nqn.2014-08.org.nvmexpress:uuid:${this.hostid}`;
    this.kato = t.kato;
  }

  /** Open the transport connection of queue `qid` (0 = admin), ready for Fabrics Connect. */
  protected abstract openQueue(qid: number): Promise<Q>;

  /** Add the transport's own fields (data placement hints) to an I/O data command. */
  protected abstract ioCommand(cmd: QueueCommand, write: boolean, o: O | undefined): QueueCommand;

  /** The admin queue. */
  get admin(): Q {
    if (this.adminQueue === null) throw new RangeError('controller is not connected');
    return this.adminQueue;
  }

  /** Controller id the target assigned at the admin Connect. */
  get cntlid(): number {
    return this.assignedCntlid;
  }

  /** Why the association died (null while healthy). */
  get error(): Error | null {
    return this.dead;
  }

  /** Connect the admin queue and bring the controller up (see the file comment); on failure everything is closed. */
  protected async start(): Promise<void> {
    const admin = await this.openQueue(0);
    this.adminQueue = admin;
    try {
      this.assignedCntlid = await connectQueue(admin, this.connectParams(0, ADMIN_QUEUE_ENTRIES - 1, this.kato, this.o.cntlid ?? CNTLID_DYNAMIC));
      // An SQ of N entries holds N-1 commands.
      admin.setDepth(ADMIN_QUEUE_ENTRIES - 1);
      admin.onClose = (err) => this.onAdminLost(err);
      await this.bringUp();
    } catch (e) {
      this.abort();
      admin.close('connect failed');
      throw e;
    }
  }

  private connectParams(qid: number, sqsize: number, kato: number, cntlid: number): Parameters<typeof connectQueue>[1] {
    return {
      qid,
      sqsize,
      kato,
      cattr: this.t.cattr,
      cntlid,
      hostid: this.hostid,
      hostnqn: this.hostnqn,
      subnqn: this.subnqn,
      timeoutMs: this.t.connectTimeoutMs,
      auth: this.authConfig(),
    };
  }

  /** The DH-HMAC-CHAP settings of the options, parsed (throws DhchapSecretError on a malformed secret). */
  private authConfig(): DhchapHostConfig | undefined {
    const o = this.o;
    if (o.dhchapSecret === undefined) {
      if (o.dhchapCtrlSecret !== undefined) throw new AuthenticationError(0, AuthFailure.Failed, false, 'a controller secret needs a host secret');
      return undefined;
    }
    return {
      hostnqn: this.hostnqn,
      subnqn: this.subnqn,
      hostKey: parseDhchapSecret(o.dhchapSecret),
      ctrlKey: o.dhchapCtrlSecret !== undefined ? parseDhchapSecret(o.dhchapCtrlSecret) : undefined,
      ...(o.dhchapHashIds !== undefined ? { hashIds: o.dhchapHashIds } : {}),
      ...(o.dhchapDhGroupIds !== undefined ? { dhGroupIds: o.dhchapDhGroupIds } : {}),
    };
  }

  /**
   * Re-authenticate every queue (DH-HMAC-CHAP), as a Linux host does after the sysfs
   * `dhchap_secret` is rewritten: a new transaction per queue with the current secrets.
   */
  async reauthenticate(): Promise<void> {
    const auth = this.authConfig();
    if (auth === undefined) throw new AuthenticationError(0, AuthFailure.Failed, false, 'no DH-HMAC-CHAP secret set');
    const timeout = this.t.connectTimeoutMs;
    await authenticateQueue(this.admin, 0, auth, timeout);
    for (const q of this.ioQueues) await authenticateQueue(q, q.qid, auth, timeout);
  }

  private async bringUp(): Promise<void> {
    const o = this.o;
    this.cap = await this.propertyGet(Reg.Cap, 8);
    this.vs = Number(await this.propertyGet(Reg.Vs, 4));
    if (o.skipEnable !== true) await enableController(this.admin, this.cap, this.readyTimeout());
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

  private readyTimeout(): number {
    return this.o.readyTimeoutMs ?? readyTimeoutMs(this.cap);
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
    const depth = ioQueueDepth(this.o.queueDepth ?? DEFAULT_QUEUE_DEPTH, this.cap, this.identity?.maxcmd ?? 0);
    this.ioQueueDepth = depth;
    const opened = await Promise.allSettled(
      Array.from({ length: n }, async (_, i) => {
        const q = await this.openQueue(i + 1);
        try {
          await connectQueue(q, this.connectParams(i + 1, depth, 0, this.cntlid));
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
    const every = this.o.keepAliveIntervalMs ?? Math.max(100, Math.floor(this.kato / 2));
    const sqe = this.sqe({ opcode: AdminOpcode.KeepAlive });
    let inFlight = false;
    this.kaTimer = setInterval(() => {
      if (inFlight || this.closing || this.dead !== null) return;
      inFlight = true;
      this.admin.submit({ sqe, timeoutMs: this.kato }).then(
        (c) => {
          inFlight = false;
          if (c.status !== 0) this.fail(new NvmeError(c.status, { ...c, qid: 0, opcode: AdminOpcode.KeepAlive }, 'Keep Alive', 'admin'));
        },
        (err: Error) => {
          inFlight = false;
          this.fail(err);
        },
      );
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
    this.admin.submit({ sqe, timeoutMs: 0 }).then(
      (c) => {
        if (c.status !== 0) {
          // e.g. Asynchronous Event Request Limit Exceeded: stop re-arming
          this.aerArmed = false;
          return;
        }
        void this.onAen(c.dw0);
      },
      () => {
        // queue gone: the close/fatal paths report it
      },
    );
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
    this.o.onAsyncEvent?.(ev);
  }

  private onAdminLost(err: TransportError): void {
    if (this.closing) return;
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.dead !== null || this.closing) return;
    this.dead = err;
    this.abort();
    this.o.onFatal?.(err);
  }

  /** Drop every connection without a shutdown handshake (what a host crash looks like). */
  abort(): void {
    if (this.kaTimer !== null) clearInterval(this.kaTimer);
    this.kaTimer = null;
    this.aerArmed = false;
    for (const q of this.ioQueues) q.close('controller aborted');
    this.adminQueue?.close('controller aborted');
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
        this.ioQueues.filter((q) => !q.closed).map((q) => q.submit({ sqe: encodeDisconnect(new Uint8Array(SQE_SIZE), 0), timeoutMs: bounded })),
      );
    }
    for (const q of this.ioQueues) q.close('host disconnect');
    if (opts.shutdown !== false && !this.admin.closed && this.o.skipEnable !== true) {
      try {
        await shutdownController(this.admin, this.readyTimeout(), bounded);
      } catch {
        // A controller that can't shut down cleanly is still closed below.
      }
    }
    this.admin.close('host disconnect');
  }

  // ------------------------------------------------------------------ queues, commands

  /** The queue with id `qid` (0 = admin). */
  queue(qid: number): Q {
    if (qid === 0) return this.admin;
    const q = this.ioQueues[qid - 1];
    if (q === undefined) throw new RangeError(`no I/O queue ${qid} (have ${this.ioQueues.length})`);
    return q;
  }

  /** Next I/O queue, round-robin. */
  nextIoQueue(): Q {
    const n = this.ioQueues.length;
    if (n === 0) throw new RangeError('controller has no I/O queues');
    const q = this.ioQueues[this.rr]!;
    this.rr = this.rr + 1 === n ? 0 : this.rr + 1;
    return q;
  }

  protected sqe(f: Parameters<typeof encodeSqe>[1]): Uint8Array {
    return encodeSqe(new Uint8Array(SQE_SIZE), f);
  }

  /** Submit on `q` and insist on success (NvmeError otherwise). */
  protected cmd(q: Q, what: string, cmd: QueueCommand, ctx: Parameters<typeof submitChecked>[3]): Promise<R> {
    if (cmd.timeoutMs === undefined && this.t.commandTimeoutMs !== undefined) cmd.timeoutMs = this.t.commandTimeoutMs;
    return submitChecked(q, what, cmd, ctx);
  }

  protected adminCmd(what: string, sqe: Uint8Array, extra: Omit<QueueCommand, 'sqe'> = {}): Promise<R> {
    return this.cmd(this.admin, what, { sqe, ...extra }, adminContext(sqe));
  }

  // ------------------------------------------------------------------ properties

  /** Fabrics Property Get; 8-byte properties come back whole. */
  propertyGet(offset: number, size: 4 | 8, timeoutMs?: number): Promise<bigint> {
    return propertyGet(this.admin, offset, size, timeoutMs ?? this.t.commandTimeoutMs);
  }

  /** Fabrics Property Set. */
  propertySet(offset: number, size: 4 | 8, value: number | bigint, timeoutMs?: number): Promise<void> {
    return propertySet(this.admin, offset, size, value, timeoutMs ?? this.t.commandTimeoutMs);
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

  private ioQueue(o: O | undefined): Q {
    return o?.qid !== undefined ? this.queue(o.qid) : this.nextIoQueue();
  }

  /** Blocks per command honouring MDTS and the 16-bit NLB field. */
  private maxBlocks(lbaSize: number): number {
    const byMdts = this.maxTransferBytes > 0 ? Math.max(1, Math.floor(this.maxTransferBytes / lbaSize)) : 0x10000;
    return Math.min(0x10000, byMdts);
  }

  /** Where a read lands when the caller gives no buffer. */
  protected allocReadBuffer(bytes: number): Uint8Array {
    return Buffer.allocUnsafe(bytes);
  }

  /**
   * Read `nlb` blocks from `slba` (split by MDTS). The data lands straight in
   * `into` (allocated when omitted) and that buffer is returned.
   */
  async read(nsid: number, slba: number, nlb: number, into?: Uint8Array, opts?: O): Promise<Uint8Array> {
    const g = await this.geometry(nsid);
    const bytes = nlb * g.lbaSize;
    const dst = into ?? this.allocReadBuffer(bytes);
    if (dst.length < bytes) throw new RangeError(`read buffer of ${dst.length} bytes < ${bytes}`);
    await this.rw(IoOpcode.Read, 'Read', nsid, slba, nlb, g.lbaSize, dst, opts);
    return dst.length === bytes ? dst : dst.subarray(0, bytes);
  }

  /** Write `data` (a whole number of blocks) at `slba`, split by MDTS. */
  async write(nsid: number, slba: number, data: Uint8Array, opts?: O): Promise<void> {
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
    opts: O | undefined,
  ): Promise<void> {
    if (!Number.isInteger(nlb) || nlb < 1) throw new RangeError(`block count ${nlb} must be a positive integer`);
    const per = this.maxBlocks(lbaSize);
    const write = opcode === IoOpcode.Write;
    const parts: Promise<R>[] = [];
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
      const base: QueueCommand = write ? { sqe, dataOut: view } : { sqe, dataIn: view };
      if (opts?.timeoutMs !== undefined) base.timeoutMs = opts.timeoutMs;
      parts.push(this.cmd(this.ioQueue(opts), what, this.ioCommand(base, write, opts), 'io'));
    }
    await Promise.all(parts);
  }

  /** Flush (volatile write cache) of `nsid`. */
  async flush(nsid: number, opts?: O): Promise<void> {
    await this.cmd(this.ioQueue(opts), 'Flush', { sqe: this.sqe({ opcode: IoOpcode.Flush, nsid }) }, 'io');
  }

  /** Write Zeroes `nlb` blocks (1..65536) at `slba`; `deallocate` sets DEAC. */
  async writeZeroes(nsid: number, slba: number, nlb: number, opts?: O & { deallocate?: boolean }): Promise<void> {
    const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), {
      opcode: IoOpcode.WriteZeroes,
      cid: 0,
      nsid,
      slba,
      blocks: nlb,
      control: opts?.deallocate === true ? RwControl.Deallocate : 0,
    });
    await this.cmd(this.ioQueue(opts), 'Write Zeroes', { sqe }, 'io');
  }

  /** Dataset Management with the Attribute Deallocate bit over `ranges` (1..256). */
  async deallocate(nsid: number, ranges: DsmRange[], opts?: O): Promise<void> {
    const data = encodeDsmRanges(ranges.map((r) => ({ cattr: r.cattr ?? 0, nlb: r.nlb, slba: r.slba })));
    const sqe = encodeDsmCommand(new Uint8Array(SQE_SIZE), 0, nsid, ranges.length, DsmAttr.Deallocate);
    await this.cmd(this.ioQueue(opts), 'Dataset Management', { sqe, dataOut: data }, 'io');
  }
}
