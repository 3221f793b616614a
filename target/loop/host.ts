/**
 * A tiny NVMe-oF host on top of the loop transport, for tests and tools. The
 * fabrics bring-up (Connect, Property Get/Set, CC.EN and the CSTS.RDY wait) is
 * the initiator's (initiator/bring-up.ts) over `LoopHostQueue`, the loop's
 * `FabricsQueue`; what stays here are raw command builders that return the
 * completion whatever its status, so tests can drive malformed or refused
 * commands and stop between bring-up steps.
 */

import type { LoopCompletion, LoopQueue, LoopTransport } from './loop-transport.js';
import { encodeSqe, encodeRwCommand } from '../../src/nvme/sqe.js';
import { writeSgl, SglType, SglSubtype } from '../../src/nvme/sgl.js';
import { CNTLID_DYNAMIC, encodeDisconnect, encodePropertySet } from '../../src/nvme/fabrics.js';
import { AdminOpcode, IoOpcode } from '../../src/nvme/opcodes.js';
import { encodeIdentifyCommand, IDENTIFY_DATA_SIZE } from '../../src/nvme/identify.js';
import { encodeGetLogPageCommand } from '../../src/nvme/log-pages.js';
import { NvmeStatusError } from '../../src/nvme/status.js';
import { wr32, wr64 } from '../../src/nvme/le.js';
import { enableController, propertyGet, readyTimeoutMs, sendConnect } from '../../initiator/bring-up.js';
import type { FabricsQueue, QueueCommand, QueueCompletion } from '../../initiator/fabrics-queue.js';
import { TransportError } from '../../initiator/errors.js';

/** SQE flags byte for fabrics: PSDT = 01b (SGL, MPTR contiguous). */
export const SQE_FLAGS_SGL = 0x40;

/** Describe `len` bytes of data in the SQE's DPTR (a transport data block, as NVMe/TCP does). */
export function setDataSgl(sqe: Uint8Array, len: number): void {
  if (len === 0) writeSgl(sqe, SglType.DataBlock, SglSubtype.Address, 0, 0, 24);
  else writeSgl(sqe, SglType.TransportDataBlock, SglSubtype.TransportSpecific, 0, len, 24);
}

/** Per-queue CID allocator (skips CIDs in flight). */
class CidAllocator {
  private next = 1;
  private readonly used = new Set<number>();
  take(): number {
    for (let i = 0; i < 0x10000; i++) {
      const c = this.next;
      this.next = (this.next + 1) & 0xffff;
      if (!this.used.has(c)) {
        this.used.add(c);
        return c;
      }
    }
    throw new Error('no free CID');
  }
  give(c: number): void {
    this.used.delete(c);
  }
}

/** A loop completion with the CQE fields every host transport reports. */
export type LoopHostCompletion = LoopCompletion & QueueCompletion;

/**
 * The host end of one loop queue as a `FabricsQueue`: assigns CIDs, points the
 * SGL at the data and hands C2H data to the command's buffer.
 */
export class LoopHostQueue implements FabricsQueue<LoopHostCompletion> {
  qid = -1;
  onClose: ((err: TransportError) => void) | null = null;
  private readonly cids = new CidAllocator();

  constructor(readonly loop: LoopQueue) {
    loop.onDisconnect((reason) => this.onClose?.(new TransportError('closed', `${loop.peer} disconnected: ${reason}`)));
  }

  get closed(): boolean {
    return !this.loop.connected;
  }

  /** The loop queue takes what it is given (tests overrun SQSIZE on purpose to see the target refuse). */
  setDepth(): void {}

  /**
   * Submit `sqe` with a fresh CID, PSDT set to SGL and DPTR describing `data`
   * (H2C) or `dataLen` bytes (C2H). The SQE is stamped in place.
   */
  async submitRaw(sqe: Uint8Array, data?: Uint8Array, dataLen?: number): Promise<LoopCompletion> {
    const cid = this.cids.take();
    sqe[1] = (sqe[1]! & 0x3f) | SQE_FLAGS_SGL;
    sqe[2] = cid & 0xff;
    sqe[3] = cid >>> 8;
    setDataSgl(sqe, data !== undefined ? data.length : (dataLen ?? 0));
    try {
      return await this.loop.submit(sqe, data);
    } finally {
      this.cids.give(cid);
    }
  }

  async submit(cmd: QueueCommand): Promise<LoopHostCompletion> {
    const c = await this.submitRaw(cmd.sqe, cmd.dataOut ?? undefined, cmd.dataIn?.length);
    if (c.data !== undefined && cmd.dataIn !== null && cmd.dataIn !== undefined) cmd.dataIn.set(c.data.subarray(0, cmd.dataIn.length));
    return { ...c, cid: c.cqe.cid, sqhd: c.cqe.sqhd, dataLen: c.data?.length ?? 0 };
  }

  close(reason?: string): void {
    this.loop.close(reason);
  }

  describe(): string {
    return `${this.loop.peer} qid ${this.qid}`;
  }
}

const hostQueues = new WeakMap<LoopQueue, LoopHostQueue>();

/** The `FabricsQueue` of a loop queue (one per queue, made on first use). */
export function hostQueue(q: LoopQueue): LoopHostQueue {
  let h = hostQueues.get(q);
  if (h === undefined) {
    h = new LoopHostQueue(q);
    hostQueues.set(q, h);
  }
  return h;
}

/**
 * Submit `sqe` on `q` with a fresh CID, PSDT set to SGL and DPTR describing
 * `data` (H2C) or `dataLen` bytes (C2H). Returns the completion.
 */
export function submit(q: LoopQueue, sqe: Uint8Array, data?: Uint8Array, dataLen?: number): Promise<LoopCompletion> {
  return hostQueue(q).submitRaw(sqe, data, dataLen);
}

/** Throw an NvmeStatusError unless the completion succeeded. */
export function check(c: LoopCompletion, what: string): LoopCompletion {
  if (c.status !== 0) throw new NvmeStatusError(c.status, what, { result: c.dw0 });
  return c;
}

export interface ConnectOptions {
  hostnqn: string;
  /** UUID string; a fixed one by default. */
  hostid?: string;
  /** Keep Alive Timeout in ms (admin queue only). */
  kato?: number;
  /** 0-based SQ size (default 31 for admin, 127 for I/O). */
  sqsize?: number;
  cattr?: number;
  /** Connect data CNTLID (default 0xffff for admin). */
  cntlid?: number;
  recfmt?: number;
}

const DEFAULT_HOSTID = '6b1f0e52-4fd4-4a7c-a1a7-3b2f5a0c9d11';

/** Send a Connect for `qid` on a fresh queue; returns the raw completion. */
export async function connectQueue(q: LoopQueue, subnqn: string, qid: number, o: ConnectOptions): Promise<LoopHostCompletion> {
  const h = hostQueue(q);
  const c = await sendConnect(h, {
    qid,
    sqsize: o.sqsize ?? (qid === 0 ? 31 : 127),
    kato: o.kato ?? 0,
    cattr: o.cattr ?? 0,
    recfmt: o.recfmt ?? 0,
    cntlid: o.cntlid ?? CNTLID_DYNAMIC,
    hostid: o.hostid ?? DEFAULT_HOSTID,
    hostnqn: o.hostnqn,
    subnqn,
  });
  if (c.status === 0) h.qid = qid;
  return c;
}

/** A connected controller as the host sees it: the admin queue plus I/O queues by qid. */
export class LoopController {
  readonly io = new Map<number, LoopQueue>();

  constructor(
    readonly transport: LoopTransport,
    readonly portId: number,
    readonly subnqn: string,
    readonly opts: ConnectOptions,
    readonly admin: LoopQueue,
    readonly cntlid: number,
  ) {}

  /** Open a connection and Connect its admin queue; throws NvmeStatusError on failure. */
  static async connect(transport: LoopTransport, portId: number, subnqn: string, opts: ConnectOptions): Promise<LoopController> {
    const q = transport.connect(portId);
    const c = await connectQueue(q, subnqn, 0, opts);
    if (c.status !== 0) {
      q.close('connect failed');
      throw new NvmeStatusError(c.status, 'admin Connect', { result: c.dw0 });
    }
    return new LoopController(transport, portId, subnqn, opts, q, c.dw0 & 0xffff);
  }

  /** Submit a raw SQE on the admin queue. */
  adminCmd(sqe: Uint8Array, data?: Uint8Array, dataLen?: number): Promise<LoopCompletion> {
    return submit(this.admin, sqe, data, dataLen);
  }

  /** Fabrics Property Get (throws NvmeStatusError on failure). */
  propertyGet(offset: number, size: 4 | 8): Promise<bigint> {
    return propertyGet(hostQueue(this.admin), offset, size);
  }

  async propertySet(offset: number, value: number): Promise<LoopCompletion> {
    return this.adminCmd(encodePropertySet(new Uint8Array(64), 0, offset, 4, value));
  }

  /** CC.EN = 1 with 64/16-byte entries (CAP unread: NVM command set), then wait for CSTS.RDY. */
  async enable(): Promise<void> {
    await enableController(hostQueue(this.admin), 0n, readyTimeoutMs(0n));
  }

  async identify(cns: number, nsid = 0, csi = 0): Promise<LoopCompletion> {
    const sqe = encodeIdentifyCommand(new Uint8Array(64), { cns, nsid, csi });
    return this.adminCmd(sqe, undefined, IDENTIFY_DATA_SIZE);
  }

  async getLogPage(
    lid: number,
    length: number,
    o: { nsid?: number; offset?: number; rae?: boolean; lsp?: number } = {},
  ): Promise<LoopCompletion> {
    const sqe = encodeGetLogPageCommand(new Uint8Array(64), {
      lid,
      length,
      nsid: o.nsid ?? 0xffffffff,
      offset: o.offset ?? 0,
      rae: o.rae ?? false,
      lsp: o.lsp ?? 0,
    });
    return this.adminCmd(sqe, undefined, length);
  }

  async setFeatures(fid: number, cdw11: number, opts: { save?: boolean; nsid?: number } = {}): Promise<LoopCompletion> {
    const sqe = encodeSqe(new Uint8Array(64), {
      opcode: AdminOpcode.SetFeatures,
      nsid: opts.nsid ?? 0,
      cdw10: ((fid & 0xff) | (opts.save === true ? 0x8000_0000 : 0)) >>> 0,
      cdw11: cdw11 >>> 0,
    });
    return this.adminCmd(sqe);
  }

  async getFeatures(fid: number, sel = 0): Promise<LoopCompletion> {
    const sqe = encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.GetFeatures, cdw10: (fid & 0xff) | ((sel & 7) << 8) });
    return this.adminCmd(sqe);
  }

  async keepAlive(): Promise<LoopCompletion> {
    return this.adminCmd(encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.KeepAlive }));
  }

  /** Post an Asynchronous Event Request; the promise resolves when an event fires. */
  asyncEventRequest(): Promise<LoopCompletion> {
    return this.adminCmd(encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.AsyncEventRequest }));
  }

  /** Open a connection for I/O queue `qid` and Connect it to this controller. */
  async connectIo(qid: number, o: Partial<ConnectOptions> = {}): Promise<LoopQueue> {
    const q = this.transport.connect(this.portId);
    const c = await this.connectIoRaw(q, qid, o);
    if (c.status !== 0) {
      q.close('connect failed');
      throw new NvmeStatusError(c.status, `I/O Connect qid ${qid}`, { result: c.dw0 });
    }
    this.io.set(qid, q);
    return q;
  }

  /** I/O queue Connect on a given queue, returning the raw completion. */
  connectIoRaw(q: LoopQueue, qid: number, o: Partial<ConnectOptions> & { subnqn?: string } = {}): Promise<LoopCompletion> {
    const { subnqn, ...rest } = o;
    return connectQueue(q, subnqn ?? this.subnqn, qid, { ...this.opts, cntlid: this.cntlid, kato: 0, ...rest });
  }

  /** Read `blocks` blocks of `blockSize` bytes. */
  async read(q: LoopQueue, nsid: number, slba: number, blocks: number, blockSize: number): Promise<LoopCompletion> {
    const sqe = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Read, cid: 0, nsid, slba, blocks });
    return submit(q, sqe, undefined, blocks * blockSize);
  }

  async write(q: LoopQueue, nsid: number, slba: number, data: Uint8Array, blockSize: number, control = 0): Promise<LoopCompletion> {
    const blocks = data.length / blockSize;
    const sqe = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Write, cid: 0, nsid, slba, blocks, control });
    return submit(q, sqe, data);
  }

  async flush(q: LoopQueue, nsid: number): Promise<LoopCompletion> {
    return submit(q, encodeSqe(new Uint8Array(64), { opcode: IoOpcode.Flush, nsid }));
  }

  async writeZeroes(q: LoopQueue, nsid: number, slba: number, blocks: number, deallocate = false): Promise<LoopCompletion> {
    const sqe = encodeRwCommand(new Uint8Array(64), {
      opcode: IoOpcode.WriteZeroes,
      cid: 0,
      nsid,
      slba,
      blocks,
      control: deallocate ? 0x0200_0000 : 0,
    });
    return submit(q, sqe);
  }

  /** Dataset Management with the given ranges; `deallocate` sets the AD attribute. */
  async dsm(q: LoopQueue, nsid: number, ranges: readonly { slba: number; nlb: number }[], deallocate = true): Promise<LoopCompletion> {
    const data = new Uint8Array(ranges.length * 16);
    ranges.forEach((r, i) => {
      wr32(data, i * 16 + 4, r.nlb);
      wr64(data, i * 16 + 8, r.slba);
    });
    const sqe = encodeSqe(new Uint8Array(64), {
      opcode: IoOpcode.DatasetManagement,
      nsid,
      cdw10: ranges.length - 1,
      cdw11: deallocate ? 1 << 2 : 0,
    });
    return submit(q, sqe, data);
  }

  /** Disconnect command on an I/O queue. */
  async disconnectIo(q: LoopQueue): Promise<LoopCompletion> {
    return submit(q, encodeDisconnect(new Uint8Array(64), 0));
  }

  /** Close every queue (like the host tearing down the association). */
  close(): void {
    for (const q of this.io.values()) q.close();
    this.io.clear();
    this.admin.close();
  }
}
