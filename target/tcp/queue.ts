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
import { DataDir } from '../core/fabrics-ops.js';
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
import { CmdState, TcpCmd } from './command.js';
import { ADMIN_INLINE_DATA_SIZE } from './options.js';
import type { ResolvedTcpOptions } from './options.js';
import type { SocketReader } from './accept.js';
import { MAX_PDU_HEADER_ROOM, TxQueue } from './tx.js';

// NVMe status values (SCT << 8 | SC) the transport itself completes with.
const SC_INVALID_FIELD = 0x002;
const SC_INTERNAL = 0x006;
const SC_SGL_INVALID_DATA_LEN = 0x00f;
const SC_SGL_INVALID_TYPE = 0x011;
const SC_SGL_INVALID_OFFSET = 0x016;
const SC_TRANSIENT_TRANSPORT = 0x022;
const DNR = 0x4000;

/** SGL identifier byte of the SQE's DPTR (byte 39). */
const SQE_SGL_ID = 39;
const SQE_SGL_ADDR = 24;
const SGL_IN_CAPSULE = 0x01;
const SGL_TCP_TRANSPORT = 0x5a;

/** TTAGs are 16-bit; 0xffff is kept unused. */
const MAX_CMDS = 0xffff;

const enum QState {
  Ic,
  Live,
  Closing,
  Closed,
}

export interface TcpPortRef {
  readonly portId: number;
  readonly inlineDataSize: number;
}

export class TcpQueue implements TransportQueue, PduSink, SocketReader {
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

  private readonly sqe = new Uint8Array(64);
  private readonly dataHdr = createDataPduHeader();
  private readonly onCmdReleased = (cmd: TcpCmd): void => this.releaseCmd(cmd);
  private closeTimer: NodeJS.Timeout | null = null;
  private paused = false;
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

  // ------------------------------------------------------------------ socket events

  /** SocketReader: the rest of an H2C payload in its staging buffer (the NIC's DMA), or the receive buffer. */
  readBuffer(): Uint8Array {
    return this.rx!.next();
  }

  /** SocketReader: `n` bytes landed in `buf`. */
  onRead(n: number, buf: Uint8Array): void {
    if (this.framer.stopped) return; // closing: what the host still sends is dropped
    try {
      this.rx!.landed(n, buf);
    } catch (e) {
      this.log.error(`tcp ${this.peer}: receive failed: ${(e as Error)?.stack ?? String(e)}`);
      this.destroyNow('internal error');
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.framer.push(chunk);
    } catch (e) {
      // a bug, not the host's fault: keep the process, drop the connection
      this.log.error(`tcp ${this.peer}: receive failed: ${(e as Error)?.stack ?? String(e)}`);
      this.destroyNow('internal error');
    }
  };

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

  private readonly checkBackpressure = (): void => {
    if (!this.paused && this.socket.writableLength > this.opts.txHighWater) {
      // the host does not read: stop taking its commands until it does
      this.paused = true;
      this.socket.pause();
      this.socket.once('drain', this.onDrain);
    }
  };

  private readonly onDrain = (): void => {
    this.paused = false;
    if (this.state === QState.Live || this.state === QState.Ic) this.socket.resume();
  };

  // ------------------------------------------------------------------ PduSink

  onPduHeader(h: Uint8Array, off: number, pdu: PduLayout): void {
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
      this.fatal(Fes.UnsupportedParameter, FieldOffset.icPfv, h, off, 128, `unsupported PFV ${r.pfv}`);
      return;
    }
    if (r.hpda > MAX_PDA) {
      this.fatal(Fes.UnsupportedParameter, FieldOffset.icPda, h, off, 128, `HPDA ${r.hpda} out of range`);
      return;
    }
    this.hdgst = r.hdgst;
    this.ddgst = r.ddgst;
    this.hpda = r.hpda;
    this.maxR2T = Math.min(this.opts.maxR2TPerCommand, r.maxr2t + 1);
    const tx = this.tx;
    const o = tx.reserve(128);
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
  }

  // ------------------------------------------------------------------ commands

  private allocCmd(core: CoreQueue): TcpCmd | null {
    const c = this.freeCmds.pop();
    if (c !== undefined) return c;
    if (this.cmds.length >= MAX_CMDS) return null;
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
    if (cmd === null) {
      this.fatal(Fes.PduSequenceError, 0, h, off, pdu.hlen, 'too many outstanding commands');
      return;
    }
    const s = this.sqe;
    const base = off + CAPSULE_SQE_OFFSET;
    for (let i = 0; i < 64; i++) s[i] = h[base + i]!;
    cmd.reset();
    this.busy++;
    const req = cmd.req;
    this.cur = cmd;
    if (!req.init(s)) {
      // the core completed it during init (bad command): just drain its data
      this.framer.discardData();
      return;
    }
    const sglId = s[SQE_SGL_ID]!;
    const dataLen = pdu.dataLen;
    if (req.dataDir === DataDir.H2C && req.transferLen > 0) {
      if (sglId === SGL_IN_CAPSULE) {
        if (s[SQE_SGL_ADDR] !== 0 || !allZero(s, SQE_SGL_ADDR, 8) || req.transferLen > this.inlineLimit()) {
          this.rejectData(cmd, SC_SGL_INVALID_OFFSET | DNR);
        } else if (dataLen !== req.transferLen) {
          this.rejectData(cmd, SC_SGL_INVALID_DATA_LEN | DNR);
        } else if (this.alloc(req)) {
          this.framer.receiveInto(req.data!, 0);
        } else {
          this.rejectData(cmd, SC_INTERNAL | DNR);
        }
      } else if (sglId === SGL_TCP_TRANSPORT) {
        if (dataLen !== 0) this.rejectData(cmd, SC_SGL_INVALID_DATA_LEN | DNR);
      } else {
        this.rejectData(cmd, SC_SGL_INVALID_TYPE | DNR);
      }
      return;
    }
    if (dataLen !== 0) {
      // data in a capsule whose command moves none host→controller
      this.rejectData(cmd, (req.dataDir === DataDir.C2H ? SC_INVALID_FIELD : SC_SGL_INVALID_DATA_LEN) | DNR);
      return;
    }
    if (req.dataDir === DataDir.C2H && req.transferLen > 0 && sglId !== SGL_TCP_TRANSPORT) {
      cmd.pendingStatus = (sglId === SGL_IN_CAPSULE ? SC_INVALID_FIELD : SC_SGL_INVALID_TYPE) | DNR;
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
      if (n > 0) req.dataMoved?.(n); // in-capsule data landed in staging: the NIC's DMA
    }
    if (cmd.pendingStatus !== 0) {
      req.completeWithStatus(cmd.pendingStatus);
      return;
    }
    if (!ddgstOk) {
      this.log.warn(`tcp ${this.peer}: data digest error in capsule of cid ${req.cid}`);
      req.completeWithStatus(SC_TRANSIENT_TRANSPORT);
      return;
    }
    if (req.dataDir === DataDir.H2C && req.transferLen > 0 && req.data === null) {
      // transport SGL: fetch the data with R2Ts (also when it would have fit in the capsule)
      if (!this.alloc(req)) {
        req.completeWithStatus(SC_INTERNAL | DNR);
        return;
      }
      cmd.state = CmdState.WaitData;
      this.sendR2Ts(cmd);
      return;
    }
    if (req.transferLen > 0 && req.data === null && !this.alloc(req)) {
      req.completeWithStatus(SC_INTERNAL | DNR);
      return;
    }
    cmd.state = CmdState.Executing;
    req.execute();
  }

  private sendR2Ts(cmd: TcpCmd): void {
    const req = cmd.req;
    const total = req.transferLen;
    const tx = this.tx;
    while (cmd.outstandingR2T < this.maxR2T && cmd.r2tEnd < total) {
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
    req.dataMoved?.(this.framer.pdu.dataLen);
    if (!ddgstOk && cmd.pendingStatus === 0) {
      this.log.warn(`tcp ${this.peer}: data digest error in H2CData of cid ${req.cid} at offset ${start}`);
      cmd.pendingStatus = SC_TRANSIENT_TRANSPORT;
    }
    if (cmd.rcvd === this.r2tWindowEnd(cmd, start)) cmd.outstandingR2T--;
    if (cmd.rcvd < req.transferLen) {
      this.sendR2Ts(cmd);
      return;
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
    const tx = this.tx;
    const data = req.data;
    const len = req.transferLen;
    if (req.dataDir === DataDir.C2H && req.status === 0 && len > 0 && data !== null) {
      const success = this.core !== null && this.core.sqFlowControlDisabled && allZero(req.cqe, 0, 8);
      const chunk = this.opts.c2hChunk;
      for (let at = 0; at < len; ) {
        const n = Math.min(chunk, len - at);
        const last = at + n === len;
        const flags = last ? (success ? PduFlags.LAST_PDU | PduFlags.SUCCESS : PduFlags.LAST_PDU) : 0;
        const o = tx.reserve(MAX_PDU_HEADER_ROOM);
        tx.commit(encodeC2HData(tx.buf, o, req.cid, at, n, flags, this.hdgst, this.ddgst, this.hpda));
        const view = at === 0 && n === data.length ? data : data.subarray(at, at + n);
        tx.payload(view);
        if (this.ddgst) {
          const p = tx.reserve(4);
          writeDigest(tx.buf, p, crc32cData(view));
          tx.commit(4);
        }
        at += n;
      }
      req.dataMoved?.(len); // staging → wire: the NIC's DMA
      if (!success) this.capsuleResp(req);
    } else {
      this.capsuleResp(req);
    }
    tx.releaseAfterWrite(cmd);
  }

  private capsuleResp(req: TransportRequest): void {
    const tx = this.tx;
    const o = tx.reserve(MAX_PDU_HEADER_ROOM);
    tx.commit(encodeCapsuleResp(tx.buf, o, req.cqe, 0, this.hdgst));
  }

  private releaseCmd(cmd: TcpCmd): void {
    if (cmd.state === CmdState.Free) return;
    const req = cmd.req;
    cmd.state = CmdState.Free;
    this.busy--;
    if (this.state !== QState.Closed) this.freeCmds.push(cmd);
    try {
      req.release();
    } catch (e) {
      this.log.error(`tcp ${this.peer}: release of cid ${req.cid} failed: ${String(e)}`);
    }
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
    this.tx.close();
    if (!this.socket.destroyed) this.socket.destroy();
    this.destroyCore();
    for (const cmd of this.cmds) if (cmd.state !== CmdState.Free) this.releaseCmd(cmd);
    this.cur = null;
    this.onClosed(this);
  }
}

function allZero(b: Uint8Array, off: number, len: number): boolean {
  for (let i = off; i < off + len; i++) if (b[i] !== 0) return false;
  return true;
}
