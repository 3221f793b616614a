/**
 * Test helpers: a raw NVMe/TCP host speaking hand-written PDUs over a real
 * socket, and a small RAM-disk core behind the transport seam (used until/besides
 * the real core) that counts request lifetimes.
 */

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import {
  createRxContext,
  encodeCapsuleCmd,
  encodeH2CData,
  encodeICReq,
  crc32cData,
  writeDigest,
  PduFramer,
  PduRole,
  PduType,
} from '../../src/tcp/index.js';
import type { ICReq, PduError, PduLayout, PduRxContext } from '../../src/tcp/index.js';
import { DataDir } from '../../target/core/fabrics-ops.js';
import type { CoreQueue, CoreQueueFactory, TransportQueue, TransportRequest } from '../../target/core/fabrics-ops.js';

export interface RxPdu {
  type: number;
  flags: number;
  header: Buffer;
  data: Buffer;
  ddgstOk: boolean;
}

/** A host end: sends raw bytes, parses what the controller sends (digest state follows ICResp). */
export class RawHost {
  readonly pdus: RxPdu[] = [];
  readonly errors: PduError[] = [];
  closed = false;
  readonly closedP: Promise<void>;
  private waiters: Array<() => void> = [];
  private readonly framer: PduFramer;
  private hdr = Buffer.alloc(0);
  private data: Buffer[] = [];
  hdgst = false;
  ddgst = false;
  cpda = 0;

  private constructor(readonly sock: Socket) {
    const ctx: PduRxContext = createRxContext(PduRole.Host);
    this.framer = new PduFramer(ctx, {
      onPduHeader: (h: Uint8Array, off: number, p: PduLayout) => {
        this.hdr = Buffer.from(h.subarray(off, off + p.hlen));
        this.data = [];
      },
      onPduData: (c: Uint8Array, s: number, e: number) => {
        this.data.push(Buffer.from(c.subarray(s, e)));
      },
      onPduEnd: (p: PduLayout, ok: boolean) => {
        this.pdus.push({ type: p.type, flags: p.flags, header: this.hdr, data: Buffer.concat(this.data), ddgstOk: ok });
        if (p.type === PduType.ICResp) {
          ctx.icDone = true;
          this.cpda = this.hdr[10]!;
          ctx.hdgst = this.hdgst = (this.hdr[11]! & 1) !== 0;
          ctx.ddgst = this.ddgst = (this.hdr[11]! & 2) !== 0;
        }
        this.wake();
      },
      onPduError: (e: PduError) => {
        this.errors.push(e);
        this.wake();
      },
    });
    sock.on('data', (c) => this.framer.push(c));
    sock.on('error', () => {});
    this.closedP = new Promise((r) =>
      sock.on('close', () => {
        this.closed = true;
        this.wake();
        r();
      }),
    );
  }

  static async connect(port: number): Promise<RawHost> {
    const s = connect({ host: '127.0.0.1', port });
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('error', rej);
    });
    s.setNoDelay(true);
    return new RawHost(s);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `pred` holds (bounded). */
  async until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = performance.now() + ms;
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what}; got ${this.pdus.map((p) => p.type).join(',')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Wait for the n-th PDU (0-based) overall. */
  async pdu(n: number): Promise<RxPdu> {
    await this.until(() => this.pdus.length > n, `PDU #${n}`);
    return this.pdus[n]!;
  }

  send(b: Uint8Array): void {
    this.sock.write(b);
  }

  async ic(r: Partial<ICReq> = {}): Promise<RxPdu> {
    const b = Buffer.alloc(128);
    encodeICReq(b, 0, { pfv: 0, hpda: 0, hdgst: false, ddgst: false, maxr2t: 0, ...r });
    const n = this.pdus.length;
    this.send(b);
    const p = await this.pdu(n);
    if (p.type !== PduType.ICResp) throw new Error(`expected ICResp, got type ${p.type}`);
    return p;
  }

  /** Send a CapsuleCmd with optional in-capsule data using the negotiated digests. */
  capsule(sqe: Uint8Array, data?: Uint8Array, corruptDdgst = false): void {
    const len = data?.length ?? 0;
    const h = Buffer.alloc(256);
    const n = encodeCapsuleCmd(h, 0, sqe, 0, len, this.hdgst, this.ddgst, this.cpda);
    const parts: Buffer[] = [h.subarray(0, n)];
    if (len > 0) {
      parts.push(Buffer.from(data!));
      if (this.ddgst) {
        const d = Buffer.alloc(4);
        writeDigest(d, 0, crc32cData(data!) ^ (corruptDdgst ? 1 : 0));
        parts.push(d);
      }
    }
    this.send(Buffer.concat(parts));
  }

  h2cData(cccid: number, ttag: number, datao: number, data: Uint8Array, last: boolean): void {
    const h = Buffer.alloc(256);
    const n = encodeH2CData(h, 0, cccid, ttag, datao, data.length, last, this.hdgst, this.ddgst, this.cpda);
    const parts: Buffer[] = [h.subarray(0, n), Buffer.from(data)];
    if (this.ddgst) {
      const d = Buffer.alloc(4);
      writeDigest(d, 0, crc32cData(data));
      parts.push(d);
    }
    this.send(Buffer.concat(parts));
  }

  /** Wait for the next PDU of `type` after index `from`; returns it and its index. */
  async next(type: number, from: number): Promise<[RxPdu, number]> {
    let idx = -1;
    await this.until(() => {
      idx = this.pdus.findIndex((p, i) => i >= from && p.type === type);
      return idx >= 0;
    }, `PDU type ${type}`);
    return [this.pdus[idx]!, idx];
  }

  async termReq(): Promise<RxPdu> {
    await this.until(() => this.pdus.some((p) => p.type === PduType.C2HTermReq) || this.closed, 'C2HTermReq');
    const t = this.pdus.find((p) => p.type === PduType.C2HTermReq);
    if (t === undefined) throw new Error('connection closed without C2HTermReq');
    return t;
  }

  end(): void {
    this.sock.destroy();
  }
}

// ---------------------------------------------------------------------- SQE builders

export const BLOCK = 512;
export const SGL_IN_CAPSULE = 0x01;
export const SGL_TRANSPORT = 0x5a;

/** A read/write style SQE: opcode, cid, slba, nlb (0's based), SGL id and length. */
export function ioSqe(opcode: number, cid: number, slba: number, blocks: number, sglId: number): Buffer {
  const s = Buffer.alloc(64);
  s[0] = opcode;
  s[1] = 0x40; // PSDT 01b: SGL
  s.writeUInt16LE(cid, 2);
  s.writeUInt32LE(1, 4);
  s.writeUInt32LE(blocks * BLOCK, 32);
  s[39] = sglId;
  s.writeUInt32LE(slba, 40);
  s.writeUInt16LE(blocks - 1, 48);
  return s;
}

// ---------------------------------------------------------------------- RAM-disk core

export const OPC_FLUSH = 0x00;
export const OPC_WRITE = 0x01;
export const OPC_READ = 0x02;
/** Completes with InvalidField at init (what a real core does for a bad command). */
export const OPC_BAD = 0x7f;
/** Never completes until the queue is destroyed (like a held AER). */
export const OPC_HOLD = 0x0c;

class RamReq<Owner = unknown> implements TransportRequest<Owner> {
  inUse = false;
  readonly sqe = new Uint8Array(64);
  readonly cqe = new Uint8Array(16);
  cid = 0;
  dataDir: DataDir = DataDir.None;
  transferLen = 0;
  data: Uint8Array | null = null;
  status = 0;
  /** No transport-level faults here (target/fault/ sets these on core requests). */
  readonly wireFault = 0;
  readonly wireFaultParams = null;
  released = 0;
  done = false;
  constructor(
    readonly q: RamQueue,
    readonly owner: Owner,
  ) {}
  init(buf: Uint8Array, offset = 0): boolean {
    if (this.inUse) throw new Error('request initialized again before release');
    this.inUse = true;
    this.q.core.inits++;
    const sqe = this.sqe;
    sqe.set(buf.subarray(offset, offset + 64));
    this.cid = sqe[2]! | (sqe[3]! << 8);
    this.dataDir = DataDir.None;
    this.transferLen = 0;
    this.data = null;
    this.status = 0;
    this.done = false;
    const opc = sqe[0]!;
    const len = ((sqe[48]! | (sqe[49]! << 8)) + 1) * BLOCK;
    if (opc === OPC_WRITE) {
      this.dataDir = DataDir.H2C;
      this.transferLen = len;
    } else if (opc === OPC_READ) {
      this.dataDir = DataDir.C2H;
      this.transferLen = len;
    } else if (opc === OPC_BAD) {
      this.completeWithStatus(0x4002);
      return false;
    }
    return true;
  }
  allocData(): void {
    if (this.data === null) {
      this.data = new Uint8Array(this.transferLen);
      this.q.core.allocated++;
    }
  }
  execute(): void {
    this.q.core.executed++;
    const slba = this.sqe[40]! | (this.sqe[41]! << 8) | (this.sqe[42]! << 16);
    const off = slba * BLOCK;
    const disk = this.q.core.disk;
    switch (this.sqe[0]) {
      case OPC_WRITE:
        disk.set(this.data!, off);
        setImmediate(() => this.completeWithStatus(0));
        return;
      case OPC_READ:
        this.allocData();
        setImmediate(() => {
          this.data!.set(disk.subarray(off, off + this.transferLen));
          this.completeWithStatus(0);
        });
        return;
      case OPC_HOLD:
        this.q.held.push(this);
        return;
      default:
        this.completeWithStatus(0);
    }
  }
  completeWithStatus(status: number): void {
    if (this.done || this.q.dead) return;
    this.done = true;
    this.status = status;
    this.cqe.fill(0);
    const v = new DataView(this.cqe.buffer, this.cqe.byteOffset, 16);
    v.setUint16(8, this.q.sqFlowControlDisabled ? 0xffff : 1, true);
    v.setUint16(12, this.cid, true);
    v.setUint16(14, status << 1, true);
    this.q.transport.queueResponse(this);
  }
  release(): void {
    if (!this.inUse) this.q.core.doubleReleases++;
    this.inUse = false;
    this.released++;
    this.q.core.released++;
  }
}

class RamQueue implements CoreQueue {
  qid: number;
  size: number;
  sqFlowControlDisabled: boolean;
  dead = false;
  readonly held: RamReq[] = [];
  constructor(
    readonly core: RamCore,
    readonly transport: TransportQueue,
  ) {
    this.sqFlowControlDisabled = core.sqFlowControlDisabled;
    this.qid = core.qid;
    this.size = core.queueSize;
  }
  allocRequest<Owner>(owner: Owner): TransportRequest<Owner> {
    return new RamReq(this, owner);
  }
  destroy(): void {
    this.dead = true;
    this.core.destroyed++;
  }
}

/** A RAM disk behind the transport seam, counting request lifetimes. */
export class RamCore implements CoreQueueFactory {
  readonly disk = new Uint8Array(8 << 20);
  inits = 0;
  executed = 0;
  allocated = 0;
  released = 0;
  doubleReleases = 0;
  destroyed = 0;
  queues: RamQueue[] = [];
  /** What every queue reports: connected as I/O queue 1 of 1024 entries (the target's MQES + 1: 2048 command slots) unless a test says otherwise. */
  qid = 1;
  queueSize = 1024;
  constructor(public sqFlowControlDisabled = false) {}
  createQueue(t: TransportQueue): CoreQueue {
    const q = new RamQueue(this, t);
    this.queues.push(q);
    return q;
  }
}

export function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

export function cqeStatus(p: RxPdu): number {
  return p.header.readUInt16LE(8 + 14) >> 1;
}
export function cqeCid(p: RxPdu): number {
  return p.header.readUInt16LE(8 + 12);
}
