/**
 * One NVMe/TCP connection = one NVMe queue pair (Linux struct nvmet_tcp_queue).
 *
 * Receive: the PDU framer parses headers in place; the SQE goes to the core.
 * In-capsule and H2CData payload lands in the request's staging buffer with one
 * copy (the model's NIC DMA): large payloads are read by the kernel straight
 * into staging (RxPlacement), the rest is copied out of the receive buffer.
 * Transmit: see TxQueue (one corked write per event-loop turn).
 *
 * Connection states: `ic` (only ICReq) → `live` → `closing` (TermReq or
 * disconnect sent, flushing) → `closed` (core queue destroyed, every request
 * released). Every error stays inside this connection.
 */

import type { Socket } from 'node:net';
import type { CoreQueue, CoreQueueFactory, TransportQueue, TransportRequest } from '../core/fabrics-ops.js';
import { DataDir, WireFault } from '../core/fabrics-ops.js';
import type { Logger } from '../core/log.js';
import {
  CAPSULE_SQE_OFFSET,
  createDataPduHeader,
  createICReq,
  createRxContext,
  crc32cData,
  decodeDataPdu,
  decodeICReq,
  decodeTermReq,
  createTermReq,
  encodeC2HData,
  encodeCapsuleResp,
  encodeICResp,
  encodeR2T,
  encodeTermReq,
  Fes,
  FieldOffset,
  Hlen,
  MAX_PDA,
  PduFlags,
  PduFramer,
  PduRole,
  PduType,
  PFV_1_0,
  RxPlacement,
  writeDigest,
} from '../../src/tcp/index.js';
import type { PduError, PduLayout, PduSink } from '../../src/tcp/index.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { SqeOff } from '../../src/nvme/sqe.js';
import { sglAddress, sglId, SglId } from '../../src/nvme/sgl.js';
import { cqeDw0, cqeDw1 } from '../../src/nvme/cqe.js';
import { CmdState, TcpCmd } from './command.js';
import { ADMIN_INLINE_DATA_SIZE } from './options.js';
import type { ResolvedTcpOptions } from './options.js';
import type { SocketReader } from './accept.js';
import { MAX_PDU_HEADER_ROOM, TxQueue } from './tx.js';
import type { BudgetWaiter, StagingBudget } from './budget.js';
import type { TcpPortLimits } from './options.js';
import { TcpFaultState } from './faults.js';

const enum QState {
  Ic,
  Live,
  Closing,
  Closed,
}

export interface TcpPortRef {
  readonly portId: number;
  readonly inlineDataSize: number;
  readonly limits: TcpPortLimits;
  /** The transport's staging budget, shared by all its connections. */
  readonly budget: StagingBudget;
}

export class TcpQueue implements TransportQueue, PduSink, SocketReader, BudgetWaiter {
  readonly peer: string;
  /** Local address the host connected to (discovery reports it for wildcard ports). */
  readonly localAddr: string;
  private state = QState.Ic;
  private readonly framer: PduFramer;
  private readonly tx: TxQueue;
  private core: CoreQueue | null = null;
  private readonly log: Logger;

  private hdgst = false;
  private ddgst = false;
  /** Host's HPDA: alignment of our C2HData PDO. */
  private hpda = 0;
  /** Outstanding R2Ts allowed per command (host MAXR2T + 1, capped). */
  private maxR2T = 1;

  private readonly cmds: TcpCmd[] = [];
  private readonly freeCmds: TcpCmd[] = [];
  /** Commands taken from the free list and not yet released. */
  private busy = 0;
  /** Command whose capsule / H2CData PDU is being received. */
  private cur: TcpCmd | null = null;

  private readonly dataHdr = createDataPduHeader();
  private readonly onCmdReleased = (cmd: TcpCmd): void => this.releaseCmd(cmd);
  private closeTimer: NodeJS.Timeout | null = null;
  private paused = false;
  private drainArmed = false;
  /** Injected transport faults on this connection (target/fault/); null until a command brings one. */
  private faults: TcpFaultState | null = null;

  /** Staged bytes of commands executing or waiting for the host to take their response. */
  private inflight = 0;
  /** Staged bytes waiting for R2T'd write data. */
  private r2tBytes = 0;
  /** Commands waiting for staging budget, in arrival order. */
  private readonly deferred: TcpCmd[] = [];
  private pumpScheduled = false;
  /** Inside a socket read's parsing: reads ready to execute wait in readyReads until it ends. */
  private inRead = false;
  private readonly readyReads: TcpCmd[] = [];

  /** When the connection was accepted / answered ICReq (ms, monotonic: a wall-clock step must not time queues out). */
  private readonly bornAt = performance.now();
  private liveAt = 0;
  /** Progress (PDUs done; while paused also bytes sent) at which checkTimers first saw the current stall (-1: none). */
  private stallMark = -1;
  private stallSince = 0;
  /** Whether stallMark counts bytes sent as well (taken while paused). */
  private stallPaused = false;
  /** Where socket reads land, when the socket was built with `onread` (else 'data' events). */
  private readonly rx: RxPlacement | null;

  /**
   * @param ownReads  the socket was built with `onread` feeding readBuffer()/onRead();
   *                  else the queue listens to 'data' events.
   */
  constructor(
    private readonly socket: Socket,
    private readonly port: TcpPortRef,
    factory: CoreQueueFactory,
    private readonly opts: ResolvedTcpOptions,
    private readonly onClosed: (q: TcpQueue) => void,
    ownReads = false,
  ) {
    this.log = opts.logger;
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const local = socket.localAddress ?? '';
    this.localAddr = local.startsWith('::ffff:') && local.includes('.') ? local.slice(7) : local;
    const inline = port.inlineDataSize;
    this.framer = new PduFramer(
      createRxContext(PduRole.Controller, {
        rxPda: opts.cpda,
        maxCapsuleData: Math.max(ADMIN_INLINE_DATA_SIZE, inline),
        maxH2CData: opts.maxH2CData,
      }),
      this,
    );
    this.tx = new TxQueue(socket, this.checkBackpressure);
    socket.setNoDelay(true);
    this.rx = ownReads ? new RxPlacement(this.framer) : null;
    if (!ownReads) socket.on('data', this.onData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.on('end', this.onSocketEnd);
    try {
      this.core = factory.createQueue(this);
    } catch (e) {
      this.log.error(`tcp ${this.peer}: core refused the queue: ${String(e)}`);
      this.close('core refused queue');
    }
  }

  /** Commands currently owned by this connection (tests, stats). */
  get outstanding(): number {
    return this.busy;
  }

  /** Staging bytes this connection holds now (tests, stats). */
  get stagedBytes(): number {
    return this.inflight + this.r2tBytes;
  }

  /** Commands waiting for staging budget (tests, stats). */
  get deferredCommands(): number {
    return this.deferred.length;
  }

  // ------------------------------------------------------------------ socket events

  /** SocketReader: the rest of an H2C payload in its staging buffer (the NIC's DMA), or the receive buffer. */
  readBuffer(): Uint8Array {
    return this.rx!.next();
  }

  /** SocketReader: `n` bytes landed in `buf`. */
  onRead(n: number, buf: Uint8Array): void {
    if (this.framer.stopped) return; // closing: what the host still sends is dropped
    this.inRead = true;
    try {
      this.rx!.landed(n, buf);
    } catch (e) {
      this.log.error(`tcp ${this.peer}: receive failed: ${(e as Error)?.stack ?? String(e)}`);
      this.destroyNow('internal error');
    }
    this.inRead = false;
    if (this.readyReads.length !== 0) this.runReads();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.inRead = true;
    try {
      this.framer.push(chunk);
    } catch (e) {
      // a bug, not the host's fault: keep the process, drop the connection
      this.log.error(`tcp ${this.peer}: receive failed: ${(e as Error)?.stack ?? String(e)}`);
      this.destroyNow('internal error');
    }
    this.inRead = false;
    if (this.readyReads.length !== 0) this.runReads();
  };

  /**
   * Run the reads that arrived in one socket read: first every one's prefetch hint, so
   * their media loads overlap, then each.
   */
  private runReads(): void {
    const list = this.readyReads;
    const n = list.length;
    for (let i = 0; i < n; i++) list[i]!.req.prefetch?.();
    for (let i = 0; i < n; i++) {
      const cmd = list[i]!;
      // A request the connection already let go of (closed meanwhile) is not initialized: execute ignores it.
      if (cmd.state === CmdState.Executing) cmd.req.execute();
    }
    list.length = 0;
  }

  private readonly onSocketError = (e: Error): void => {
    this.log.debug(`tcp ${this.peer}: socket error: ${e.message}`);
  };

  private readonly onSocketEnd = (): void => {
    // host half-closed: nothing more will arrive; finish what is queued and go
    if (this.state !== QState.Closed) this.close('host closed the connection');
  };

  private readonly onSocketClose = (): void => {
    this.teardown();
  };

  private readonly checkBackpressure = (): void => this.updateReading();

  /**
   * Stop reading commands while the host does not take what we send: unsent
   * bytes past the socket's high-water mark, or more staged data of executing /
   * responding commands than the port's queue_data_limit. Buffers held for R2T
   * data never pause reading — only reading brings that data in.
   */
  private updateReading(): void {
    if (this.state !== QState.Live && this.state !== QState.Ic) return;
    const txFull = this.socket.writableLength > this.opts.txHighWater;
    if (txFull || this.inflight > this.port.limits.queueDataLimit) {
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      if (txFull && !this.drainArmed) {
        this.drainArmed = true;
        this.socket.once('drain', this.onDrain);
      }
    } else if (this.paused && (this.faults === null || this.faults.pauseTimer === null)) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private readonly onDrain = (): void => {
    this.drainArmed = false;
    this.updateReading();
  };

  // ------------------------------------------------------------------ PduSink

  onPduHeader(h: Uint8Array, off: number, pdu: PduLayout): void {
    if (this.faults !== null && this.faults.rxLeft >= 0 && this.rxFault()) return;
    switch (pdu.type) {
      case PduType.CapsuleCmd:
        this.capsuleHeader(h, off, pdu);
        return;
      case PduType.H2CData:
        this.h2cDataHeader(h, off, pdu);
        return;
      case PduType.H2CTermReq: {
        const t = decodeTermReq(h, off, createTermReq());
        this.log.warn(`tcp ${this.peer}: host terminated the connection (FES 0x${t.fes.toString(16)}, FEI ${t.fei})`);
        this.framer.discardData();
        return;
      }
      case PduType.ICReq:
        this.icReq(h, off);
        return;
      default:
        // validation admits nothing else for a controller
        this.fatal(Fes.InvalidHeaderField, 0, h, off, pdu.hlen, 'unexpected PDU type');
    }
  }

  onPduData(): void {
    // all data goes to destinations or is discarded; views are never requested
  }

  onPduEnd(pdu: PduLayout, ddgstOk: boolean): void {
    switch (pdu.type) {
      case PduType.CapsuleCmd:
        this.capsuleEnd(ddgstOk);
        return;
      case PduType.H2CData:
        this.h2cDataEnd(ddgstOk);
        return;
      case PduType.H2CTermReq:
        this.destroyNow('H2CTermReq');
        return;
    }
  }

  onPduError(err: PduError, h: Uint8Array, off: number, len: number): void {
    if (err.silent) {
      this.log.warn(`tcp ${this.peer}: ${err.reason}; closing`);
      this.destroyNow(err.reason);
      return;
    }
    this.fatal(err.fes, err.fei, h, off, len, err.reason);
  }

  // ------------------------------------------------------------------ connection setup

  private icReq(h: Uint8Array, off: number): void {
    const r = decodeICReq(h, off, createICReq());
    if (r.pfv !== PFV_1_0) {
      this.fatal(Fes.UnsupportedParameter, FieldOffset.icPfv, h, off, Hlen.ICReq, `unsupported PFV ${r.pfv}`);
      return;
    }
    if (r.hpda > MAX_PDA) {
      this.fatal(Fes.UnsupportedParameter, FieldOffset.icPda, h, off, Hlen.ICReq, `HPDA ${r.hpda} out of range`);
      return;
    }
    this.hdgst = r.hdgst;
    this.ddgst = r.ddgst;
    this.hpda = r.hpda;
    this.maxR2T = Math.min(this.opts.maxR2TPerCommand, r.maxr2t + 1);
    const tx = this.tx;
    const o = tx.reserve(Hlen.ICResp);
    tx.commit(
      encodeICResp(tx.buf, o, {
        pfv: PFV_1_0,
        cpda: this.opts.cpda,
        hdgst: r.hdgst,
        ddgst: r.ddgst,
        maxh2cdata: this.opts.maxH2CData,
      }),
    );
    const ctx = this.framer.ctx;
    ctx.icDone = true;
    ctx.hdgst = r.hdgst;
    ctx.ddgst = r.ddgst;
    this.state = QState.Live;
    this.liveAt = performance.now();
  }

  // ------------------------------------------------------------------ commands

  /**
   * A free command slot, or null when the host has more commands in flight than
   * its queue allows. Like Linux nvmet_tcp_install_queue: 2 × the Connect's
   * queue size once Connect sized the queue (a slot stays taken until its
   * response is written), and before that the one slot of the Connect command
   * (nvmet_tcp_queue's `connect` cmd). Running out is fatal for the queue there
   * too (nvmet_tcp_done_recv_pdu: "out of commands").
   */
  private allocCmd(core: CoreQueue): TcpCmd | null {
    const max = core.size > 0 ? 2 * core.size : 1;
    if (this.cmds.length - this.freeCmds.length >= max) return null;
    const c = this.freeCmds.pop();
    if (c !== undefined) return c;
    const n = new TcpCmd(this.cmds.length, core, this.onCmdReleased);
    this.cmds.push(n);
    return n;
  }

  /** Largest in-capsule data for this queue: 8 KiB on the admin queue, the port's size on I/O queues. */
  private inlineLimit(): number {
    const qid = this.core?.qid ?? -1;
    if (qid === 0) return ADMIN_INLINE_DATA_SIZE;
    if (qid > 0) return this.port.inlineDataSize;
    return Math.max(ADMIN_INLINE_DATA_SIZE, this.port.inlineDataSize);
  }

  private capsuleHeader(h: Uint8Array, off: number, pdu: PduLayout): void {
    const core = this.core;
    const cmd = core === null ? null : this.allocCmd(core);
    if (core === null || cmd === null) {
      const inUse = this.cmds.length - this.freeCmds.length;
      this.fatal(Fes.PduSequenceError, 0, h, off, pdu.hlen, `out of commands: ${inUse} in flight, queue size ${core?.size ?? 0}`);
      return;
    }
    cmd.reset();
    this.busy++;
    const req = cmd.req;
    this.cur = cmd;
    if (!req.init(h, off + CAPSULE_SQE_OFFSET)) {
      // the core completed it during init (bad command): just drain its data
      this.framer.discardData();
      return;
    }
    if (req.wireFault !== 0 && this.arrivalFault(req, h, off, pdu)) return;
    const s = req.sqe;
    const id = sglId(s, SqeOff.Dptr);
    const dataLen = pdu.dataLen;
    if (req.dataDir === DataDir.H2C && req.transferLen > 0) {
      if (id === SglId.InCapsule) {
        if (sglAddress(s, SqeOff.Dptr) !== 0 || req.transferLen > this.inlineLimit()) {
          this.rejectData(cmd, NvmeStatus.SglInvalidOffset | STATUS_DNR);
        } else if (dataLen !== req.transferLen) {
          this.rejectData(cmd, NvmeStatus.SglInvalidDataLength | STATUS_DNR);
        } else if (this.stage(cmd, false)) {
          // in-capsule data is on the wire already: staged without waiting for budget
          this.framer.receiveInto(req.data!, 0);
        } else {
          this.rejectData(cmd, NvmeStatus.InternalError | STATUS_DNR);
        }
      } else if (id === SglId.TcpTransport) {
        if (dataLen !== 0) this.rejectData(cmd, NvmeStatus.SglInvalidDataLength | STATUS_DNR);
      } else {
        this.rejectData(cmd, NvmeStatus.SglInvalidType | STATUS_DNR);
      }
      return;
    }
    if (dataLen !== 0) {
      // data in a capsule whose command moves none host→controller
      this.rejectData(cmd, (req.dataDir === DataDir.C2H ? NvmeStatus.InvalidField : NvmeStatus.SglInvalidDataLength) | STATUS_DNR);
      return;
    }
    if (req.dataDir === DataDir.C2H && req.transferLen > 0 && id !== SglId.TcpTransport) {
      cmd.pendingStatus = (id === SglId.InCapsule ? NvmeStatus.InvalidField : NvmeStatus.SglInvalidType) | STATUS_DNR;
    }
  }

  private rejectData(cmd: TcpCmd, status: number): void {
    cmd.pendingStatus = status;
    this.framer.discardData();
  }

  private alloc(req: TransportRequest): boolean {
    try {
      req.allocData();
    } catch (e) {
      this.log.error(`tcp ${this.peer}: staging allocation of ${req.transferLen} bytes failed: ${String(e)}`);
      return false;
    }
    return req.data !== null && req.data.length >= req.transferLen;
  }

  private capsuleEnd(ddgstOk: boolean): void {
    const cmd = this.cur;
    this.cur = null;
    if (cmd === null || cmd.state !== CmdState.Capsule) return;
    const req = cmd.req;
    if (cmd.pendingStatus === 0 && req.dataDir === DataDir.H2C && req.data !== null) {
      const n = this.framer.pdu.dataLen;
      if (n > 0) req.dataMoved?.(n, this.ddgst); // in-capsule data landed in staging: the NIC's DMA
    }
    if (cmd.pendingStatus !== 0) {
      req.completeWithStatus(cmd.pendingStatus);
      return;
    }
    if (!ddgstOk) {
      this.log.warn(`tcp ${this.peer}: data digest error in capsule of cid ${req.cid}`);
      req.completeWithStatus(NvmeStatus.TransientTransportError);
      return;
    }
    if (req.transferLen > 0 && req.data === null) {
      if (this.deferred.length !== 0 || !this.fits(req.transferLen, req.dataDir === DataDir.H2C)) {
        this.defer(cmd);
        return;
      }
      this.start(cmd);
      return;
    }
    cmd.state = CmdState.Executing;
    req.execute();
  }

  /**
   * Stage the data of a command and set it going: a write (transport SGL, also
   * when it would have fit in the capsule) fetches its data with R2Ts, anything
   * else executes.
   */
  private start(cmd: TcpCmd): void {
    const req = cmd.req;
    const r2t = req.dataDir === DataDir.H2C;
    if (!this.stage(cmd, r2t)) {
      req.completeWithStatus(NvmeStatus.InternalError | STATUS_DNR);
      return;
    }
    if (r2t) {
      cmd.state = CmdState.WaitData;
      if (req.wireFault !== 0 && (req.wireFault & (WireFault.DelayR2T | WireFault.WithholdR2T)) !== 0) this.r2tFault(cmd);
      else this.sendR2Ts(cmd);
      return;
    }
    cmd.state = CmdState.Executing;
    if (this.inRead && req.dataDir === DataDir.C2H) {
      // Executed when this socket read is parsed (runReads), with the others of the batch.
      this.readyReads.push(cmd);
      return;
    }
    req.execute();
  }

  // ------------------------------------------------------------------ staging budget

  /** May this queue stage `len` more bytes now (its own limits, then the transport's budget)? */
  private fits(len: number, r2t: boolean): boolean {
    const lim = this.port.limits;
    if (r2t) {
      if (this.r2tBytes !== 0 && this.r2tBytes + len > lim.queueR2tLimit) return false;
    } else if (this.inflight !== 0 && this.inflight + len > lim.queueDataLimit) {
      return false;
    }
    return this.port.budget.fits(len, r2t, this.inflight + this.r2tBytes);
  }

  /** Allocate the command's staging buffer and count it. */
  private stage(cmd: TcpCmd, r2t: boolean): boolean {
    const req = cmd.req;
    if (!this.alloc(req)) return false;
    const n = req.transferLen;
    cmd.staged = n;
    cmd.r2tHeld = r2t;
    this.port.budget.take(n, r2t);
    if (r2t) {
      this.r2tBytes += n;
    } else {
      this.inflight += n;
      if (this.inflight > this.port.limits.queueDataLimit) this.updateReading();
    }
    return true;
  }

  /** The command's staging buffer is gone (command released). */
  private unstage(cmd: TcpCmd): void {
    const n = cmd.staged;
    if (n === 0) return;
    cmd.staged = 0;
    if (cmd.r2tQuiet) {
      cmd.r2tQuiet = false;
      this.faults!.quietR2tBytes -= n;
    }
    if (cmd.r2tHeld) this.r2tBytes -= n;
    else this.inflight -= n;
    this.port.budget.give(n, cmd.r2tHeld);
    cmd.r2tHeld = false;
    if (this.deferred.length !== 0) this.schedulePump();
    if (this.paused) this.updateReading();
  }

  private defer(cmd: TcpCmd): void {
    cmd.state = CmdState.Deferred;
    this.deferred.push(cmd);
    this.port.budget.wait(this);
  }

  /** BudgetWaiter: start the deferred commands that now fit, in order. */
  admitDeferred(): boolean {
    const d = this.deferred;
    while (d.length !== 0 && this.state === QState.Live) {
      const cmd = d[0]!;
      const req = cmd.req;
      if (!this.fits(req.transferLen, req.dataDir === DataDir.H2C)) return false;
      d.shift();
      this.start(cmd);
    }
    d.length = 0;
    this.port.budget.unwait(this);
    return true;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(this.pump);
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    this.admitDeferred();
  };

  private sendR2Ts(cmd: TcpCmd): void {
    const req = cmd.req;
    const total = req.transferLen;
    const tx = this.tx;
    while (cmd.outstandingR2T < this.maxR2T && cmd.r2tEnd < total) {
      if (this.faults !== null && !this.txAllowed()) return;
      const len = Math.min(total - cmd.r2tEnd, this.opts.maxH2CData);
      const o = tx.reserve(MAX_PDU_HEADER_ROOM);
      tx.commit(encodeR2T(tx.buf, o, req.cid, cmd.ttag, cmd.r2tEnd, len, this.hdgst));
      cmd.r2tEnd += len;
      cmd.outstandingR2T++;
    }
  }

  /** End offset of the R2T window containing `offset` (R2Ts are MAXH2CDATA-sized, in order). */
  private r2tWindowEnd(cmd: TcpCmd, offset: number): number {
    const step = this.opts.maxH2CData;
    return Math.min(cmd.req.transferLen, (Math.floor(offset / step) + 1) * step);
  }

  private h2cDataHeader(h: Uint8Array, off: number, pdu: PduLayout): void {
    const d = decodeDataPdu(h, off, this.dataHdr);
    const cmd = d.ttag < this.cmds.length ? this.cmds[d.ttag]! : null;
    if (cmd === null || cmd.state !== CmdState.WaitData) {
      this.fatal(Fes.InvalidHeaderField, FieldOffset.dataTtag, h, off, pdu.hlen, `H2CData for unknown TTAG ${d.ttag}`);
      return;
    }
    const req = cmd.req;
    if (d.cccid !== req.cid) {
      this.fatal(Fes.InvalidHeaderField, FieldOffset.dataCccid, h, off, pdu.hlen, `H2CData CCCID ${d.cccid} does not match TTAG ${d.ttag}`);
      return;
    }
    if (d.datal === 0 || d.datal !== pdu.dataLen) {
      this.fatal(Fes.InvalidHeaderField, FieldOffset.dataDatal, h, off, pdu.hlen, `H2CData DATAL ${d.datal} vs PDU data ${pdu.dataLen}`);
      return;
    }
    const end = d.datao + d.datal;
    if (d.datao !== cmd.rcvd || end > cmd.r2tEnd || end > this.r2tWindowEnd(cmd, d.datao)) {
      this.fatal(
        Fes.DataOutOfRange,
        0,
        h,
        off,
        pdu.hlen,
        `H2CData DATAO ${d.datao} DATAL ${d.datal}: expected offset ${cmd.rcvd}, requested up to ${cmd.r2tEnd}`,
      );
      return;
    }
    if ((pdu.flags & PduFlags.LAST_PDU) !== 0 && end !== this.r2tWindowEnd(cmd, d.datao)) {
      this.fatal(Fes.PduSequenceError, 0, h, off, pdu.hlen, `LAST_PDU before the end of the R2T (offset ${end})`);
      return;
    }
    this.cur = cmd;
    this.framer.receiveInto(req.data!, d.datao);
  }

  private h2cDataEnd(ddgstOk: boolean): void {
    const cmd = this.cur;
    this.cur = null;
    if (cmd === null || cmd.state !== CmdState.WaitData) return;
    const req = cmd.req;
    const start = cmd.rcvd;
    cmd.rcvd += this.framer.pdu.dataLen;
    req.dataMoved?.(this.framer.pdu.dataLen, this.ddgst);
    if (!ddgstOk && cmd.pendingStatus === 0) {
      this.log.warn(`tcp ${this.peer}: data digest error in H2CData of cid ${req.cid} at offset ${start}`);
      cmd.pendingStatus = NvmeStatus.TransientTransportError;
    }
    if (cmd.rcvd === this.r2tWindowEnd(cmd, start)) cmd.outstandingR2T--;
    if (cmd.rcvd < req.transferLen) {
      this.sendR2Ts(cmd);
      return;
    }
    if (cmd.r2tHeld) {
      // all data in: the buffer now belongs to an executing command
      cmd.r2tHeld = false;
      this.r2tBytes -= cmd.staged;
      this.inflight += cmd.staged;
      this.port.budget.r2tDone(cmd.staged);
      if (this.deferred.length !== 0) this.schedulePump();
    }
    if (cmd.pendingStatus !== 0) {
      req.completeWithStatus(cmd.pendingStatus);
      return;
    }
    cmd.state = CmdState.Executing;
    req.execute();
  }

  // ------------------------------------------------------------------ responses

  queueResponse(req: TransportRequest<TcpCmd>): void {
    const cmd = req.owner;
    if (cmd.state === CmdState.Responding || cmd.state === CmdState.Free) return;
    cmd.state = CmdState.Responding;
    if (this.state === QState.Closed) return; // released by teardown
    const wf = req.wireFault;
    if (wf !== 0 && (wf & WireFault.DropConnection) !== 0) {
      // Injected (target/fault/): the connection drops where this response was due.
      this.log.warn(`tcp ${this.peer}: fault injection: dropping the connection instead of the response to cid ${req.cid}`);
      this.destroyNow('fault injection: drop-connection');
      return;
    }
    const tx = this.tx;
    const data = req.data;
    const len = req.transferLen;
    if (req.dataDir === DataDir.C2H && req.status === 0 && len > 0 && data !== null) {
      const success = this.core !== null && this.core.sqFlowControlDisabled && cqeDw0(req.cqe) === 0 && cqeDw1(req.cqe) === 0;
      const chunk = wf !== 0 && (wf & WireFault.SplitC2HData) !== 0 ? req.wireFaultParams!.c2hPduSize : this.opts.c2hChunk;
      for (let at = 0; at < len; ) {
        if (this.faults !== null && !this.txAllowed()) return;
        const n = Math.min(chunk, len - at);
        const last = at + n === len;
        const flags = last ? (success ? PduFlags.LAST_PDU | PduFlags.SUCCESS : PduFlags.LAST_PDU) : 0;
        const o = tx.reserve(MAX_PDU_HEADER_ROOM);
        const hl = encodeC2HData(tx.buf, o, req.cid, at, n, flags, this.hdgst, this.ddgst, this.hpda);
        if (wf !== 0 && last && success && this.hdgst && (wf & WireFault.HeaderDigest) !== 0) tx.buf[o + Hlen.Data]! ^= 0xff;
        tx.commit(hl);
        const view = at === 0 && n === data.length ? data : data.subarray(at, at + n);
        tx.payload(view);
        if (this.ddgst) {
          const p = tx.reserve(4);
          let crc = crc32cData(view);
          if (wf !== 0 && at === 0 && (wf & WireFault.DataDigest) !== 0) crc = ~crc >>> 0; // injected (target/fault/)
          writeDigest(tx.buf, p, crc);
          tx.commit(4);
        }
        at += n;
      }
      req.dataMoved?.(len, this.ddgst); // staging → wire: the NIC's DMA
      if (!success) this.capsuleResp(req);
    } else {
      this.capsuleResp(req);
    }
    tx.releaseAfterWrite(cmd, len);
  }

  private capsuleResp(req: TransportRequest): void {
    if (this.faults !== null && !this.txAllowed()) return;
    const tx = this.tx;
    const o = tx.reserve(MAX_PDU_HEADER_ROOM);
    const n = encodeCapsuleResp(tx.buf, o, req.cqe, 0, this.hdgst);
    if (req.wireFault !== 0 && this.hdgst && (req.wireFault & WireFault.HeaderDigest) !== 0) tx.buf[o + Hlen.CapsuleResp]! ^= 0xff; // injected (target/fault/)
    tx.commit(n);
  }

  private releaseCmd(cmd: TcpCmd): void {
    if (cmd.state === CmdState.Free) return;
    const req = cmd.req;
    this.unstage(cmd);
    cmd.state = CmdState.Free;
    this.busy--;
    if (this.state !== QState.Closed) this.freeCmds.push(cmd);
    try {
      req.release();
    } catch (e) {
      this.log.error(`tcp ${this.peer}: release of cid ${req.cid} failed: ${String(e)}`);
    }
  }

  // ------------------------------------------------------------------ injected faults (target/fault/)

  /**
   * A command arrived with arrival-time WireFault bits (core/fabrics-ops.ts).
   * Returns true when the capsule is answered with a TermReq: nothing more of it is handled.
   */
  private arrivalFault(req: TransportRequest, h: Uint8Array, off: number, pdu: PduLayout): boolean {
    const wf = req.wireFault;
    const p = req.wireFaultParams!;
    if ((wf & WireFault.TermReq) !== 0) {
      // As for a capsule in error: the TermReq carries its header, then the connection closes (the command never runs).
      this.fatal(p.fes, p.fei, h, off, pdu.hlen, `fault injection: C2HTermReq for cid ${req.cid}`);
      return true;
    }
    const f = (this.faults ??= new TcpFaultState());
    if ((wf & WireFault.DropAfterC2H) !== 0) f.txLeft = p.pdus;
    if ((wf & WireFault.DropAfterH2C) !== 0) f.rxLeft = p.pdus;
    if ((wf & WireFault.PauseReading) !== 0) {
      if (f.pauseTimer !== null) clearTimeout(f.pauseTimer);
      f.pauseTimer = setTimeout(() => {
        f.pauseTimer = null;
        this.log.warn(`tcp ${this.peer}: fault injection: reading resumed`);
        this.updateReading();
      }, p.ms);
      f.pauseTimer.unref();
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      this.log.warn(`tcp ${this.peer}: fault injection: not reading for ${p.ms} ms (cid ${req.cid})`);
    }
    return false;
  }

  /** drop-after-pdus h2c: a PDU header arrived; false = handle it, true = the connection closed instead. */
  private rxFault(): boolean {
    const f = this.faults!;
    if (f.rxLeft > 0) {
      f.rxLeft--;
      return false;
    }
    this.log.warn(`tcp ${this.peer}: fault injection: dropping the connection instead of handling the next PDU`);
    this.close('fault injection: drop-after-pdus (h2c)');
    return true;
  }

  /** drop-after-pdus c2h: may one more PDU go out? false = the connection is closed instead (it stays so). */
  private txAllowed(): boolean {
    const f = this.faults!;
    if (f.txLeft < 0) return true;
    if (f.txLeft > 0) {
      f.txLeft--;
      return true;
    }
    if (this.state === QState.Live || this.state === QState.Ic) {
      this.log.warn(`tcp ${this.peer}: fault injection: dropping the connection instead of sending the next PDU`);
      this.close('fault injection: drop-after-pdus (c2h)');
    }
    return false;
  }

  /** delay-r2t / withhold-r2t: the write waits for its R2T (the target is late, not the host). */
  private r2tFault(cmd: TcpCmd): void {
    const f = (this.faults ??= new TcpFaultState());
    cmd.r2tQuiet = true;
    f.quietR2tBytes += cmd.staged;
    const req = cmd.req;
    if ((req.wireFault & WireFault.WithholdR2T) !== 0) return; // until Abort or disconnect
    const cid = req.cid;
    const t = setTimeout(() => {
      f.r2tTimers.delete(t);
      if (cmd.state !== CmdState.WaitData || !cmd.r2tQuiet || cmd.req.cid !== cid || this.state !== QState.Live) return;
      cmd.r2tQuiet = false;
      f.quietR2tBytes -= cmd.staged;
      this.sendR2Ts(cmd);
    }, req.wireFaultParams!.ms);
    t.unref();
    f.r2tTimers.add(t);
  }

  // ------------------------------------------------------------------ timeouts

  /**
   * Called periodically by the transport (one sweep per port, no per-PDU timer):
   * ICReq within icreq_timeout_ms of accept, Connect within connect_timeout_ms
   * of ICResp, every PDU complete within pdu_timeout_ms of being started, and
   * some PDU within pdu_timeout_ms while an R2T waits for its H2CData.
   * Paused by back-pressure, the queue does not read, so the host cannot finish
   * its PDU until it takes what we send: while paused, bytes the host takes count
   * as progress too; a host that neither sends nor reads stalls all the same (else
   * it could hold a partial PDU, and its staged data, forever). Keep-alive stays
   * with the core.
   */
  checkTimers(now: number): void {
    const lim = this.port.limits;
    if (this.state === QState.Ic) {
      if (now - this.bornAt >= lim.icreqTimeoutMs) this.timedOut(`no ICReq within ${lim.icreqTimeoutMs} ms`);
      return;
    }
    if (this.state !== QState.Live) return;
    const core = this.core;
    if ((core === null || core.qid < 0) && now - this.liveAt >= lim.connectTimeoutMs) {
      this.timedOut(`no Connect within ${lim.connectTimeoutMs} ms of ICResp`);
      return;
    }
    const f = this.framer;
    // Waiting on the host: a PDU it started, or H2CData for an R2T we sent (the
    // staged write buffer is pinned until it comes; MAXR2T is no licence to hold it forever).
    const progress = this.paused ? f.pdusDone + this.socket.bytesWritten - this.socket.writableLength : f.pdusDone;
    const quiet = this.faults === null ? 0 : this.faults.quietR2tBytes;
    if (f.stopped || (f.idle && this.r2tBytes === quiet)) {
      this.stallMark = -1;
    } else if (this.stallMark !== progress || this.stallPaused !== this.paused) {
      this.stallMark = progress;
      this.stallPaused = this.paused;
      this.stallSince = now;
    } else if (now - this.stallSince >= lim.pduTimeoutMs) {
      this.timedOut(
        f.idle
          ? `H2CData for an R2T not received within ${lim.pduTimeoutMs} ms`
          : `a PDU started but not complete after ${lim.pduTimeoutMs} ms`,
      );
    }
  }

  private timedOut(reason: string): void {
    this.log.warn(`tcp ${this.peer}: ${reason}; closing`);
    this.destroyNow(reason);
  }

  // ------------------------------------------------------------------ errors and teardown

  /** Fatal protocol error: C2HTermReq with FES/FEI and the offending header, then close. */
  private fatal(fes: number, fei: number, h: Uint8Array, off: number, len: number, reason: string): void {
    this.framer.stop();
    if (this.state === QState.Closing || this.state === QState.Closed) return;
    this.log.warn(`tcp ${this.peer}: ${reason}: C2HTermReq FES 0x${fes.toString(16)} FEI ${fei}`);
    const tx = this.tx;
    const o = tx.reserve(MAX_PDU_HEADER_ROOM);
    tx.commit(encodeTermReq(tx.buf, o, PduType.C2HTermReq, fes, fei, h, off, len));
    this.close(reason);
  }

  /** TransportQueue.disconnect: the core ends the queue. */
  disconnect(reason: string): void {
    this.log.debug(`tcp ${this.peer}: disconnect: ${reason}`);
    this.close(reason);
  }

  /** Graceful close: stop receiving, flush what is queued, end the socket; teardown on 'close'. */
  close(reason: string): void {
    if (this.state === QState.Closing || this.state === QState.Closed) return;
    this.state = QState.Closing;
    this.framer.stop();
    this.socket.off('data', this.onData);
    this.destroyCore();
    this.tx.flush();
    this.socket.end();
    this.closeTimer = setTimeout(() => this.destroyNow(`close timeout (${reason})`), this.opts.closeTimeoutMs);
    this.closeTimer.unref();
  }

  /** Drop the connection at once. */
  destroyNow(reason: string): void {
    if (this.state === QState.Closed) return;
    this.log.debug(`tcp ${this.peer}: destroy: ${reason}`);
    this.framer.stop();
    this.socket.destroy();
    this.teardown();
  }

  private destroyCore(): void {
    const core = this.core;
    if (core === null) return;
    this.core = null;
    try {
      core.destroy();
    } catch (e) {
      this.log.error(`tcp ${this.peer}: core queue destroy failed: ${String(e)}`);
    }
  }

  /** Connection gone: destroy the core queue, release every request still owned here. */
  private teardown(): void {
    if (this.state === QState.Closed) return;
    this.state = QState.Closed;
    this.framer.stop();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.faults?.dispose();
    this.tx.close();
    if (!this.socket.destroyed) this.socket.destroy();
    this.deferred.length = 0;
    this.port.budget.unwait(this);
    this.destroyCore();
    for (const cmd of this.cmds) if (cmd.state !== CmdState.Free) this.releaseCmd(cmd);
    this.cur = null;
    this.onClosed(this);
  }
}
