/**
 * One NVMe/TCP host queue: a TCP connection carrying one SQ/CQ pair (the admin
 * queue or one I/O queue), like a Linux `struct nvme_tcp_queue`.
 *
 * Life cycle: `HostQueue.open()` connects and runs ICReq/ICResp; the controller
 * then sends Fabrics Connect through `submit()` and the queue is live until
 * `close()`, a C2HTermReq, a protocol violation by the controller, or the socket
 * going away. Any of those fails every outstanding command with a TransportError.
 *
 * Hot path rules:
 *  - every command slot (one per CID) owns its preformatted CapsuleCmd header,
 *    H2CData headers and digest words, so a command costs no header allocation;
 *  - received headers are parsed in place in the socket chunk when they are whole
 *    there, else gathered in one fixed buffer;
 *  - C2HData payload lands in the caller's destination with one copy: large
 *    payloads are read by the kernel straight into it (RxPlacement), the rest is
 *    copied out of the one receive buffer; data digests are checked per PDU;
 *  - writes are corked until the end of the tick (idle queue) or of the poll phase
 *    (queue at depth), so a batch of submissions leaves in one writev.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { rd16, rd32, wr16 } from '../src/nvme/le.js';
import { SQE_SIZE, SQE_FLAGS_PSDT_MASK, SQE_FLAGS_PSDT_SHIFT, Psdt, SqeOff } from '../src/nvme/sqe.js';
import { writeInCapsuleSgl, writeTcpTransportSgl } from '../src/nvme/sgl.js';
import { cqeCid, cqeDw0, cqeDw1, cqeSqhd, cqeSqid, cqeStatus } from '../src/nvme/cqe.js';
import { CidPool } from './cid-pool.js';
import type { FabricsQueue, QueueCommand } from './fabrics-queue.js';
import { TimeoutError, TransportError } from './errors.js';
import {
  DIGEST_LEN,
  Fes,
  FieldOffset,
  Hlen,
  MAX_PDA,
  PduFlags,
  PduType,
  PFV_1_0,
  TERM_REQ_MAX_ERROR_DATA,
} from '../src/tcp/constants.js';
import { dataOffsetFor, finishHeader } from '../src/tcp/header.js';
import { CAPSULE_CQE_OFFSET, CAPSULE_SQE_OFFSET } from '../src/tcp/capsule.js';
import { encodeICReq, decodeICResp, createICResp } from '../src/tcp/ic.js';
import { encodeTermReq } from '../src/tcp/term.js';
import { encodeH2CData } from '../src/tcp/data.js';
import { crc32cData, writeDigest } from '../src/tcp/digest.js';
import { PduRole, createRxContext } from '../src/tcp/validate.js';
import type { PduError, PduRxContext, PduLayout } from '../src/tcp/validate.js';
import { PduFramer } from '../src/tcp/framer.js';
import type { PduSink } from '../src/tcp/framer.js';
import { RxPlacement } from '../src/tcp/rx-placement.js';

const CMD_HLEN = Hlen.CapsuleCmd;
const DATA_HLEN = Hlen.Data;

/** Parameters of the NVMe/TCP connection itself (before Fabrics Connect). */
export interface QueueTransportOptions {
  host: string;
  port: number;
  /** Request header digests (CRC32C) in ICReq. */
  hdgst?: boolean;
  /** Request data digests (CRC32C) in ICReq. */
  ddgst?: boolean;
  /** Host PDU data alignment, 0's based dwords (Linux targets only accept 0). */
  hpda?: number;
  /** Maximum outstanding R2Ts per command, 0's based (default 0: one). */
  maxr2t?: number;
  /** TCP connect + ICResp wait, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Default per-command timeout, ms (default 30000; 0 disables). */
  commandTimeoutMs?: number;
  /** NVMe/TCP TLS 1.3 with an external PSK (TLS_AES_128_GCM_SHA256) before ICReq. */
  tls?: HostTls;
}

/** The TLS PSK and the identity the host presents (see src/nvme/tls/psk.ts). */
export interface HostTls {
  identity: string;
  key: Uint8Array;
}

/** What ICResp settled. */
export interface IcParams {
  pfv: number;
  /** Controller PDU data alignment, 0's based dwords: PDO of PDUs we send aligns to (cpda+1)*4. */
  cpda: number;
  hdgst: boolean;
  ddgst: boolean;
  /** Largest H2CData payload the controller accepts (MAXH2CDATA). */
  maxh2cdata: number;
}

/** A command as handed to `submit`. Read synchronously: the caller may reuse it after submit returns. */
export interface HostCommand extends QueueCommand {
  /** Send `dataOut` through a transport SGL and R2T/H2CData even when it fits in the capsule. */
  forceR2T?: boolean;
  /** Send the SQE's flags/DPTR as given (hostile tests); data placement still follows `dataOut`. */
  rawDptr?: boolean;
}

/** A completion as the queue saw it. In callbacks the object is reused: copy what you keep. */
export interface Completion {
  /** 15-bit status (SCT<<8|SC, MORE, DNR); 0 = success. */
  status: number;
  dw0: number;
  dw1: number;
  sqhd: number;
  sqid: number;
  cid: number;
  /** C2H payload bytes received for the command. */
  dataLen: number;
  /** True when the completion was implied by a C2HData PDU with the SUCCESS flag (no CapsuleResp). */
  viaDataSuccess: boolean;
}

export type CompletionCallback = (err: Error | null, c: Completion) => void;

/** Wire-level counters of one queue (tests assert the data path taken; perf diagnostics). */
export interface QueueStats {
  /** Commands sent (CapsuleCmd PDUs). */
  commands: number;
  /** Writes whose data rode in the command capsule. */
  inCapsuleWrites: number;
  /** R2T PDUs received. */
  r2ts: number;
  /** H2CData PDUs sent. */
  h2cPdus: number;
  /** C2HData PDUs received. */
  c2hPdus: number;
  /** C2HData PDUs with SUCCESS (completion without CapsuleResp). */
  c2hSuccess: number;
  /** CapsuleResp PDUs received. */
  capsuleResps: number;
  /** Most commands ever outstanding at once (reaches `depth` under load). */
  peakOutstanding: number;
  /** Most commands ever waiting for a free CID (SQ full backlog). */
  peakQueued: number;
}

const enum QState {
  Ic,
  Live,
  Closed,
}

/** Per-CID request slot; its buffers live as long as the queue. */
interface Slot {
  readonly cid: number;
  busy: boolean;
  /** Completed by timeout but the controller still owns the CID: not reusable until its CQE or close. */
  zombie: boolean;
  /** CapsuleCmd PDU buffer: CH + SQE + HDGST + pad up to the in-capsule PDO. */
  readonly cmd: Uint8Array;
  readonly sqe: Uint8Array;
  readonly cmdNoData: Uint8Array;
  readonly cmdWithData: Uint8Array;
  readonly ddgst: Uint8Array;
  h2c: H2cHeader[];
  h2cUsed: number;
  opcode: number;
  dataOut: Uint8Array | null;
  inCapsule: boolean;
  dataIn: Uint8Array | null;
  received: number;
  /** performance.now() deadline; 0 = none. */
  deadline: number;
  timer: NodeJS.Timeout | null;
  cb: CompletionCallback | null;
}

interface H2cHeader {
  readonly buf: Uint8Array;
  /** Header + HDGST + pad, up to PDO. */
  readonly hdr: Uint8Array;
  readonly ddgst: Uint8Array;
}

interface Pending {
  cmd: HostCommand;
  sqe: Uint8Array;
  cb: CompletionCallback;
}

/**
 * Where a queue's reads land before it exists (nothing arrives before ICReq is
 * sent, by which time the queue does). Shared: a read is consumed in its callback.
 */
const FIRST_READ = Buffer.allocUnsafeSlow(4096);

export class HostQueue implements PduSink, FabricsQueue<Completion> {
  readonly host: string;
  readonly port: number;
  /** Set by the controller once Fabrics Connect succeeded. */
  qid = -1;
  /** ICResp outcome; valid once `open()` resolved. */
  readonly ic: IcParams = { pfv: 0, cpda: 0, hdgst: false, ddgst: false, maxh2cdata: 0 };
  /** Largest write sent in-capsule (bytes); larger ones go through R2T. Set from IOCCSZ by the controller. */
  inCapsuleMax = 0;
  /** Called once when the queue dies (after outstanding commands were failed). */
  onClose: ((err: TransportError) => void) | null = null;
  readonly stats: QueueStats = {
    commands: 0,
    inCapsuleWrites: 0,
    r2ts: 0,
    h2cPdus: 0,
    c2hPdus: 0,
    c2hSuccess: 0,
    capsuleResps: 0,
    peakOutstanding: 0,
    peakQueued: 0,
  };

  private readonly sock: net.Socket;
  private state = QState.Ic;
  private closeError: TransportError | null = null;
  // Fixed once ICResp is in (goLive).
  private hd = 0;
  private dd = 0;
  private cmdPdo = 0;
  private h2cPdo = 0;
  private readonly defaultTimeoutMs: number;

  private slots: Slot[] = [];
  private cids: CidPool = new CidPool(1);
  private readonly pending: Pending[] = [];
  private pendingHead = 0;
  private sweeper: NodeJS.Timeout | null = null;

  // receive: the framer parses headers in place and lands C2HData payload in dataIn
  private readonly rxCtx: PduRxContext;
  private readonly framer: PduFramer;
  /** Where socket reads land: the receive buffer, or in place in a C2HData destination. */
  private readonly rx: RxPlacement;
  /** The command whose C2HData PDU is being received. */
  private rxSlot: Slot | null = null;
  private readonly completion: Completion = newCompletion();

  // transmit coalescing
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.sock.uncork();
  };

  private icWaiter: ((err: Error | null) => void) | null = null;

  private constructor(sock: net.Socket, opts: QueueTransportOptions) {
    this.sock = sock;
    this.host = opts.host;
    this.port = opts.port;
    this.defaultTimeoutMs = opts.commandTimeoutMs ?? 30_000;
    this.rxCtx = createRxContext(PduRole.Host, { rxPda: opts.hpda ?? 0 });
    this.framer = new PduFramer(this.rxCtx, this);
    this.rx = new RxPlacement(this.framer);
  }

  /** TCP connect and ICReq/ICResp. Rejects with TransportError/TimeoutError; never leaves a socket open on failure. */
  static open(opts: QueueTransportOptions): Promise<HostQueue> {
    const ms = opts.connectTimeoutMs ?? 5000;
    const hdgst = opts.hdgst === true;
    const ddgst = opts.ddgst === true;
    return new Promise<HostQueue>((resolve, reject) => {
      // Socket reads land in one buffer per queue (`onread`) instead of a fresh
      // ArrayBuffer per read: the framer parses headers in place and copies payload
      // out during the callback, so nothing outlives it, and a 128 KiB-read workload
      // stops feeding the GC hundreds of MB/s of read buffers.
      // Large C2HData payloads are read by the kernel straight into the caller's
      // buffer (RxPlacement), so they are copied once.
      let q: HostQueue | null = null;
      const sock: net.Socket = opts.tls !== undefined ? tlsConnect(opts, opts.tls, () => q) : net.connect({
        host: opts.host,
        port: opts.port,
        noDelay: true,
        onread: {
          // Called once before the queue exists (connect), then before every read.
          buffer: (): Uint8Array => (q === null ? FIRST_READ : q.rx.next()),
          callback: (n: number, buf: Uint8Array): boolean => {
            if (q === null) return true;
            try {
              q.rx.landed(n, buf);
            } catch (e) {
              // A bug on our side must not take the process down from inside a socket callback.
              q.teardown(new TransportError('protocol', `${q.describe()}: receive failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
              sock.destroy();
            }
            return true;
          },
        },
      });
      let settled = false;
      const settle = (err: Error | null, queue: HostQueue | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        if (err !== null) {
          if (queue !== null) queue.close(err.message);
          sock.destroy();
          reject(err);
        } else resolve(queue!);
      };
      const t = setTimeout(() => {
        settle(new TimeoutError(`NVMe/TCP connect+ICReq to ${opts.host}:${opts.port}`, ms), null);
      }, ms);
      sock.once('error', (e) => {
        settle(new TransportError('connect', `connect to ${opts.host}:${opts.port}: ${e.message}`, { cause: e }), null);
      });
      sock.once(opts.tls !== undefined ? 'secureConnect' : 'connect', () => {
        const qq = new HostQueue(sock, opts);
        q = qq;
        qq.icWaiter = (err) => {
          if (err !== null) return settle(err, qq);
          if (qq.ic.hdgst !== hdgst || qq.ic.ddgst !== ddgst) {
            const e = new TransportError(
              'protocol',
              `ICResp digests (hdgst=${qq.ic.hdgst} ddgst=${qq.ic.ddgst}) differ from the requested (hdgst=${hdgst} ddgst=${ddgst})`,
            );
            qq.fatal(e, Fes.UnsupportedParameter, FieldOffset.icDigest);
            return settle(e, qq);
          }
          qq.goLive();
          settle(null, qq);
        };
        sock.on('close', () => qq.onSocketClose());
        sock.on('error', (e) => qq.onSocketError(e));
        const icreq = new Uint8Array(Hlen.ICReq);
        encodeICReq(icreq, 0, { pfv: PFV_1_0, hpda: opts.hpda ?? 0, hdgst, ddgst, maxr2t: opts.maxr2t ?? 0 });
        sock.write(icreq);
      });
    });
  }

  /** @internal Bytes read by a stream without `onread` (TLS): copied into the receive placement. */
  receiveChunk(chunk: Uint8Array): void {
    for (let off = 0; off < chunk.length; ) {
      const b = this.rx.next();
      const n = Math.min(b.length, chunk.length - off);
      b.set(chunk.subarray(off, off + n));
      off += n;
      this.rx.landed(n, b);
    }
  }

  get closed(): boolean {
    return this.state === QState.Closed;
  }

  /** Why the queue died (null while alive). */
  get error(): TransportError | null {
    return this.closeError;
  }

  /** Commands currently owned by the controller (including timed-out ones not yet answered). */
  get outstanding(): number {
    return this.cids.inUse;
  }

  /** Received bytes the kernel read straight into command destinations (large C2HData payloads). */
  get rxBytesInPlace(): number {
    return this.rx.placedBytes;
  }

  /** Commands waiting for a free CID. */
  get queued(): number {
    return this.pending.length - this.pendingHead;
  }

  /** Number of CIDs (the most commands outstanding at once). */
  get depth(): number {
    return this.cids.size;
  }

  /**
   * Size the slot table: at most `depth` commands outstanding at once (SQ flow
   * control: an SQ of SQSIZE+1 entries holds SQSIZE commands). Only when idle.
   */
  setDepth(depth: number): void {
    if (this.cids.inUse !== 0) throw new Error('setDepth with commands outstanding');
    this.cids = new CidPool(depth);
    this.slots = [];
    for (let cid = 0; cid < depth; cid++) this.slots.push(this.makeSlot(cid));
  }

  /** Submit a command; `cb` runs exactly once with the completion or the failure. */
  submitCb(cmd: HostCommand, cb: CompletionCallback): void {
    if (this.state !== QState.Live) {
      const c = this.completion;
      resetCompletion(c);
      cb(this.closeError ?? new TransportError('closed', `${this.describe()} is not connected`), c);
      return;
    }
    const cid = this.cids.alloc();
    if (cid < 0) {
      // SQ full: keep a private copy of the SQE until a CID frees up.
      this.pending.push({ cmd, sqe: Uint8Array.prototype.slice.call(cmd.sqe, 0, SQE_SIZE), cb });
      const queued = this.pending.length - this.pendingHead;
      if (queued > this.stats.peakQueued) this.stats.peakQueued = queued;
      return;
    }
    this.issue(this.slots[cid]!, cmd, cmd.sqe, cb);
  }

  /** Promise form of `submitCb`; resolves with a fresh Completion whatever the NVMe status. */
  submit(cmd: HostCommand): Promise<Completion> {
    return new Promise((resolve, reject) => {
      this.submitCb(cmd, (err, c) => {
        if (err !== null) reject(err);
        else resolve({ ...c });
      });
    });
  }

  /** Close the connection now (no shutdown handshake: that is the controller's job). */
  close(reason = 'closed by host'): void {
    if (this.state === QState.Closed) return;
    this.teardown(new TransportError('closed', reason));
    this.sock.destroy();
  }

  /** Send an H2CTermReq and close: the controller broke the protocol. */
  fatal(err: TransportError, fes: number, fei: number, offending?: Uint8Array): void {
    if (this.state === QState.Closed) return;
    const term = new Uint8Array(Hlen.TermReq + TERM_REQ_MAX_ERROR_DATA);
    const plen = encodeTermReq(term, 0, PduType.H2CTermReq, fes, fei, offending, 0, offending?.length ?? 0);
    this.teardown(err);
    this.sock.end(term.subarray(0, plen));
    // Don't linger on a broken peer.
    setTimeout(() => this.sock.destroy(), 100).unref();
  }

  describe(): string {
    return `${this.host}:${this.port}${this.qid >= 0 ? ` qid ${this.qid}` : ''}`;
  }

  // ------------------------------------------------------------------ setup

  private goLive(): void {
    this.hd = this.ic.hdgst ? DIGEST_LEN : 0;
    this.dd = this.ic.ddgst ? DIGEST_LEN : 0;
    this.cmdPdo = dataOffsetFor(CMD_HLEN, this.ic.hdgst, 1, this.ic.cpda);
    this.h2cPdo = dataOffsetFor(DATA_HLEN, this.ic.hdgst, 1, this.ic.cpda);
    this.state = QState.Live;
    this.setDepth(1);
  }

  private makeSlot(cid: number): Slot {
    // Buffers, not plain Uint8Arrays: socket.write would wrap each view in a Buffer per call.
    const cmd = Buffer.alloc(this.cmdPdo + DIGEST_LEN);
    return {
      cid,
      busy: false,
      zombie: false,
      cmd,
      sqe: cmd.subarray(CAPSULE_SQE_OFFSET, CAPSULE_SQE_OFFSET + SQE_SIZE),
      cmdNoData: cmd.subarray(0, CMD_HLEN + this.hd),
      cmdWithData: cmd.subarray(0, this.cmdPdo),
      ddgst: cmd.subarray(this.cmdPdo, this.cmdPdo + DIGEST_LEN),
      h2c: [],
      h2cUsed: 0,
      opcode: 0,
      dataOut: null,
      inCapsule: false,
      dataIn: null,
      received: 0,
      deadline: 0,
      timer: null,
      cb: null,
    };
  }

  /** The next free H2CData header buffer of a command (grown once, reused by later commands on the CID). */
  private h2cHeader(s: Slot): H2cHeader {
    let h = s.h2c[s.h2cUsed];
    if (h === undefined) {
      const b = Buffer.alloc(this.h2cPdo + DIGEST_LEN);
      h = { buf: b, hdr: b.subarray(0, this.h2cPdo), ddgst: b.subarray(this.h2cPdo) };
      s.h2c.push(h);
    }
    s.h2cUsed++;
    return h;
  }

  // ------------------------------------------------------------------ transmit

  private write(b: Uint8Array): void {
    if (!this.corked) {
      this.corked = true;
      this.sock.cork();
      // At depth, completions of one poll phase arrive as several 'data' events, each
      // resubmitting: flushing after the poll phase (setImmediate) turns those into one
      // writev. A nearly idle queue flushes at the end of this tick instead, for latency.
      if (this.cids.inUse > 2) setImmediate(this.uncork);
      else process.nextTick(this.uncork);
    }
    this.sock.write(b);
  }

  private issue(s: Slot, cmd: HostCommand, sqeSrc: Uint8Array, cb: CompletionCallback): void {
    s.busy = true;
    s.zombie = false;
    s.cb = cb;
    s.h2cUsed = 0;
    s.received = 0;
    const out = cmd.dataOut ?? null;
    const dlen = out === null ? 0 : out.length;
    s.dataOut = dlen === 0 ? null : out;
    s.dataIn = cmd.dataIn ?? null;
    const inCapsule = dlen > 0 && cmd.forceR2T !== true && dlen <= this.inCapsuleMax;
    s.inCapsule = inCapsule;

    const sqe = s.sqe;
    sqe.set(sqeSrc.length === SQE_SIZE ? sqeSrc : sqeSrc.subarray(0, SQE_SIZE));
    wr16(sqe, 2, s.cid);
    s.opcode = sqe[0]!;
    if (cmd.rawDptr !== true) {
      sqe[1] = (sqe[1]! & ~SQE_FLAGS_PSDT_MASK) | (Psdt.SglMetaBuf << SQE_FLAGS_PSDT_SHIFT);
      if (inCapsule) writeInCapsuleSgl(sqe, dlen, 0, SqeOff.Dptr);
      else writeTcpTransportSgl(sqe, dlen !== 0 ? dlen : (s.dataIn?.length ?? 0), SqeOff.Dptr);
    }
    finishHeader(s.cmd, 0, PduType.CapsuleCmd, 0, CMD_HLEN, inCapsule ? dlen : 0, this.hd !== 0, this.dd !== 0, this.ic.cpda);

    this.stats.commands++;
    if (inCapsule) this.stats.inCapsuleWrites++;
    if (this.cids.inUse > this.stats.peakOutstanding) this.stats.peakOutstanding = this.cids.inUse;
    const t = cmd.timeoutMs ?? this.defaultTimeoutMs;
    if (t > 0) this.arm(s, t);
    else s.deadline = 0;

    if (inCapsule) {
      this.write(s.cmdWithData);
      this.write(out!);
      if (this.dd !== 0) {
        writeDigest(s.ddgst, 0, crc32cData(out!));
        this.write(s.ddgst);
      }
    } else {
      this.write(s.cmdNoData);
    }
  }

  /** Answer an R2T: H2CData PDUs of at most MAXH2CDATA each, LAST_PDU on the last of this R2T. */
  private sendH2c(s: Slot, ttag: number, r2to: number, r2tl: number): void {
    const out = s.dataOut!;
    const end = r2to + r2tl;
    const max = this.ic.maxh2cdata;
    for (let off = r2to; off < end; ) {
      const len = Math.min(max, end - off);
      const h = this.h2cHeader(s);
      this.stats.h2cPdus++;
      encodeH2CData(h.buf, 0, s.cid, ttag, off, len, off + len === end, this.hd !== 0, this.dd !== 0, this.ic.cpda);
      const payload = off === 0 && len === out.length ? out : out.subarray(off, off + len);
      this.write(h.hdr);
      this.write(payload);
      if (this.dd !== 0) {
        writeDigest(h.ddgst, 0, crc32cData(payload));
        this.write(h.ddgst);
      }
      off += len;
    }
  }

  // ------------------------------------------------------------------ timeouts

  private arm(s: Slot, ms: number): void {
    if (ms === this.defaultTimeoutMs) {
      // The common case shares one sweeping interval instead of a timer per command.
      s.deadline = performance.now() + ms;
      if (this.sweeper === null) {
        const every = Math.max(10, Math.min(1000, Math.floor(ms / 4)));
        this.sweeper = setInterval(() => this.sweep(), every);
        this.sweeper.unref();
      }
    } else {
      s.deadline = 0;
      s.timer = setTimeout(() => {
        s.timer = null;
        this.expire(s, ms);
      }, ms);
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const s of this.slots) {
      if (s.busy && !s.zombie && s.deadline !== 0 && now >= s.deadline) this.expire(s, this.defaultTimeoutMs);
    }
  }

  private expire(s: Slot, ms: number): void {
    if (!s.busy || s.zombie) return;
    // The controller still owns the CID: keep the slot until its CQE arrives or the queue dies.
    s.zombie = true;
    const cb = s.cb!;
    s.cb = null;
    const c = this.completion;
    resetCompletion(c);
    c.cid = s.cid;
    cb(new TimeoutError(`command opcode 0x${s.opcode.toString(16)} cid ${s.cid} on ${this.describe()}`, ms), c);
  }

  // ------------------------------------------------------------------ receive (PduSink)

  onPduHeader(h: Uint8Array, o: number, L: PduLayout): void {
    switch (L.type) {
      case PduType.ICResp:
        return this.onIcResp(h, o);
      case PduType.C2HTermReq:
        return this.onTermReq(h, o);
      case PduType.CapsuleResp:
        return this.onCapsuleResp(h, o + CAPSULE_CQE_OFFSET, h.subarray(o, o + L.hlen));
      case PduType.R2T:
        return this.onR2T(h, o, h.subarray(o, o + L.hlen));
      case PduType.C2HData:
        return this.onC2HDataHeader(h, o, L);
    }
  }

  onPduData(_chunk: Uint8Array, _start: number, _end: number): void {
    // Only TermReq error data arrives as views; nothing to keep.
  }

  onPduEnd(L: PduLayout, ddgstOk: boolean): void {
    if (L.type !== PduType.C2HData || this.state === QState.Closed) return;
    const s = this.rxSlot;
    this.rxSlot = null;
    if (s === null) return;
    if (!ddgstOk) {
      // NVMe/TCP has no FES for a data digest error: the host drops the connection
      // (as Linux nvme-tcp does) and the command fails with a transport error.
      this.framer.stop();
      this.teardown(new TransportError('protocol', `C2HData data digest mismatch for cid ${s.cid} on ${this.describe()}`));
      this.sock.destroy();
      return;
    }
    s.received += L.dataLen;
    this.stats.c2hPdus++;
    if ((L.flags & PduFlags.SUCCESS) !== 0) {
      this.stats.c2hSuccess++;
      const c = this.completion;
      resetCompletion(c);
      c.cid = s.cid;
      c.sqid = this.qid < 0 ? 0 : this.qid;
      c.dataLen = s.received;
      c.viaDataSuccess = true;
      this.finish(s, null);
    }
  }

  onPduError(err: PduError, h: Uint8Array, o: number, len: number): void {
    const e = new TransportError('protocol', `controller ${this.describe()} sent a bad PDU: ${err.reason}`);
    if (err.silent) {
      this.teardown(e);
      this.sock.destroy();
    } else this.fatal(e, err.fes, err.fei, h.subarray(o, o + len));
  }

  private onIcResp(b: Uint8Array, o: number): void {
    const w = this.icWaiter;
    this.icWaiter = null;
    const r = decodeICResp(b, o, createICResp());
    const bad = (fei: number, msg: string): void => {
      const e = new TransportError('protocol', `ICResp from ${this.describe()}: ${msg}`);
      this.fatal(e, Fes.InvalidHeaderField, fei, b.subarray(o, o + Hlen.ICResp));
      w?.(e);
    };
    if (r.pfv !== PFV_1_0) return bad(FieldOffset.icPfv, `unsupported PFV ${r.pfv}`);
    if (r.cpda > MAX_PDA) return bad(FieldOffset.icPda, `CPDA ${r.cpda} > ${MAX_PDA}`);
    if (r.maxh2cdata < 4096 || r.maxh2cdata % 4 !== 0) {
      return bad(FieldOffset.icMaxr2tOrMaxdata, `MAXH2CDATA ${r.maxh2cdata} invalid (a multiple of 4, at least 4096)`);
    }
    const ic = this.ic;
    ic.pfv = r.pfv;
    ic.cpda = r.cpda;
    ic.hdgst = r.hdgst;
    ic.ddgst = r.ddgst;
    ic.maxh2cdata = r.maxh2cdata;
    // Digests apply from the next PDU on: switch the receive context before returning to the framer.
    this.rxCtx.icDone = true;
    this.rxCtx.hdgst = r.hdgst;
    this.rxCtx.ddgst = r.ddgst;
    w?.(null);
  }

  private onTermReq(b: Uint8Array, o: number): void {
    const fes = rd16(b, o + FieldOffset.termFes);
    const fei = rd32(b, o + FieldOffset.termFei);
    const err = new TransportError(
      'term-req',
      `controller ${this.describe()} terminated the connection: C2HTermReq FES ${fes} FEI 0x${fei.toString(16)}`,
      { fes, fei },
    );
    this.framer.stop();
    this.teardown(err);
    this.sock.destroy();
  }

  private onCapsuleResp(b: Uint8Array, o: number, hdr: Uint8Array): void {
    const cid = cqeCid(b, o);
    const s = this.slots[cid];
    if (s === undefined || !s.busy) {
      this.fatal(new TransportError('protocol', `CapsuleResp for cid ${cid} not outstanding on ${this.describe()}`), Fes.InvalidHeaderField, CAPSULE_CQE_OFFSET + 12, hdr);
      return;
    }
    this.stats.capsuleResps++;
    const c = this.completion;
    c.status = cqeStatus(b, o);
    c.dw0 = cqeDw0(b, o);
    c.dw1 = cqeDw1(b, o);
    c.sqhd = cqeSqhd(b, o);
    c.sqid = cqeSqid(b, o);
    c.cid = cid;
    c.dataLen = s.received;
    c.viaDataSuccess = false;
    this.finish(s, null);
  }

  private onR2T(b: Uint8Array, o: number, hdr: Uint8Array): void {
    const cid = rd16(b, o + FieldOffset.dataCccid);
    const ttag = rd16(b, o + FieldOffset.dataTtag);
    const r2to = rd32(b, o + FieldOffset.dataDatao);
    const r2tl = rd32(b, o + FieldOffset.dataDatal);
    const s = this.slots[cid];
    if (s === undefined || !s.busy) {
      this.fatal(new TransportError('protocol', `R2T for cid ${cid} not outstanding`), Fes.InvalidHeaderField, FieldOffset.dataCccid, hdr);
      return;
    }
    if (s.dataOut === null || s.inCapsule) {
      this.fatal(new TransportError('protocol', `R2T for cid ${cid}, which has no data to solicit`), Fes.PduSequenceError, 0, hdr);
      return;
    }
    if (r2tl === 0 || r2to + r2tl > s.dataOut.length) {
      this.fatal(new TransportError('protocol', `R2T for cid ${cid} asks [${r2to}, +${r2tl}) of ${s.dataOut.length} bytes`), Fes.DataOutOfRange, FieldOffset.dataDatao, hdr);
      return;
    }
    this.stats.r2ts++;
    // Timed out on our side: the caller owns the buffer again, so never send it; the
    // command stays stuck at the controller until the queue closes.
    if (s.zombie) return;
    this.sendH2c(s, ttag, r2to, r2tl);
  }

  private onC2HDataHeader(b: Uint8Array, o: number, L: PduLayout): void {
    const hdr = b.subarray(o, o + L.hlen);
    const cid = rd16(b, o + FieldOffset.dataCccid);
    const datao = rd32(b, o + FieldOffset.dataDatao);
    const datal = rd32(b, o + FieldOffset.dataDatal);
    const s = this.slots[cid];
    if (s === undefined || !s.busy) {
      this.fatal(new TransportError('protocol', `C2HData for cid ${cid} not outstanding on ${this.describe()}`), Fes.InvalidHeaderField, FieldOffset.dataCccid, hdr);
      return;
    }
    if (s.dataIn === null && !s.zombie) {
      this.fatal(new TransportError('protocol', `C2HData for cid ${cid} (opcode 0x${s.opcode.toString(16)}), which expects no data`), Fes.PduSequenceError, 0, hdr);
      return;
    }
    if (datal !== L.dataLen) {
      this.fatal(new TransportError('protocol', `C2HData DATAL ${datal} but PLEN/PDO carry ${L.dataLen} bytes`), Fes.InvalidHeaderField, FieldOffset.dataDatal, hdr);
      return;
    }
    this.rxSlot = s;
    if (s.zombie) {
      // Timed out: the caller owns the buffer again; consume the payload without storing it.
      this.framer.discardData();
      return;
    }
    if (datao + datal > s.dataIn!.length) {
      this.fatal(new TransportError('protocol', `C2HData for cid ${cid} carries [${datao}, +${datal}) beyond the ${s.dataIn!.length}-byte buffer`), Fes.DataOutOfRange, FieldOffset.dataDatao, hdr);
      return;
    }
    if (datal > 0) this.framer.receiveInto(s.dataIn!, datao);
  }

  // ------------------------------------------------------------------ completion and teardown


  private finish(s: Slot, err: Error | null): void {
    if (s.timer !== null) {
      clearTimeout(s.timer);
      s.timer = null;
    }
    const cb = s.cb;
    s.busy = false;
    s.zombie = false;
    s.cb = null;
    s.dataOut = null;
    s.dataIn = null;
    this.cids.release(s.cid);
    // Refill from the flow-control backlog before the callback, so FIFO order holds.
    if (this.pendingHead < this.pending.length) this.drainOne();
    if (cb !== null) cb(err, this.completion);
  }

  private drainOne(): void {
    const cid = this.cids.alloc();
    if (cid < 0) return;
    const p = this.pending[this.pendingHead]!;
    this.pendingHead++;
    if (this.pendingHead === this.pending.length) {
      this.pending.length = 0;
      this.pendingHead = 0;
    }
    this.issue(this.slots[cid]!, p.cmd, p.sqe, p.cb);
  }

  private onSocketError(e: Error): void {
    this.teardown(new TransportError('closed', `${this.describe()}: ${e.message}`, { cause: e }));
  }

  private onSocketClose(): void {
    this.teardown(new TransportError('closed', `controller ${this.describe()} closed the connection`));
  }

  /** @internal Fail everything outstanding and mark the queue dead (idempotent). */
  teardown(err: TransportError): void {
    if (this.state === QState.Closed) return;
    this.state = QState.Closed;
    this.closeError = err;
    this.framer.stop();
    if (this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
    const w = this.icWaiter;
    this.icWaiter = null;
    w?.(err);
    const c = this.completion;
    for (const s of this.slots) {
      if (!s.busy) continue;
      if (s.timer !== null) clearTimeout(s.timer);
      s.timer = null;
      const cb = s.cb;
      s.busy = false;
      s.zombie = false;
      s.cb = null;
      s.dataIn = null;
      s.dataOut = null;
      resetCompletion(c);
      c.cid = s.cid;
      cb?.(err, c);
    }
    const pend = this.pending.splice(this.pendingHead);
    this.pending.length = 0;
    this.pendingHead = 0;
    for (const p of pend) {
      resetCompletion(c);
      p.cb(err, c);
    }
    this.onClose?.(err);
  }
}

function newCompletion(): Completion {
  return { status: 0, dw0: 0, dw1: 0, sqhd: 0, sqid: 0, cid: 0, dataLen: 0, viaDataSuccess: false };
}

function resetCompletion(c: Completion): void {
  c.status = 0;
  c.dw0 = 0;
  c.dw1 = 0;
  c.sqhd = 0;
  c.sqid = 0;
  c.cid = 0;
  c.dataLen = 0;
  c.viaDataSuccess = false;
}

/**
 * A TLS 1.3 connection with an external PSK (what tlshd does for a Linux host). TLS has
 * no `onread`: decrypted chunks are copied into the queue's receive placement.
 */
function tlsConnect(opts: QueueTransportOptions, t: HostTls, queue: () => HostQueue | null): net.Socket {
  const s = tls.connect({
    host: opts.host,
    port: opts.port,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: 'TLS_AES_128_GCM_SHA256',
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk: Buffer.from(t.key), identity: t.identity }),
  });
  s.setNoDelay(true);
  s.on('data', (chunk: Buffer) => {
    const q = queue();
    if (q === null) return;
    try {
      q.receiveChunk(chunk);
    } catch (e) {
      q.teardown(new TransportError('protocol', `${q.describe()}: receive failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
      s.destroy();
    }
  });
  return s;
}
