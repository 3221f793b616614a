/**
 * The simulated RDMA fabric: an in-process stand-in for an InfiniBand/RoCE network,
 * shared by the target's RDMA transport (target/rdma) and the host library (initiator/rdma), which
 * therefore run in the same process.
 *
 *  - Listeners are keyed by "traddr:trsvcid"; trsvcid "0" picks a free service id.
 *  - A connection is a reliable-connected queue pair: two endpoints whose SENDs are
 *    delivered to the peer in order, asynchronously (batched per event-loop turn, like
 *    a completion queue polled once per interrupt), never synchronously inside send().
 *  - Memory is registered in a protection domain: a memory region (MR) is a byte range
 *    of a SharedArrayBuffer (or any Uint8Array) with a virtual address and an rkey.
 *    The peer of a queue pair may access it one-sidedly (RDMA READ / RDMA WRITE) by
 *    (rkey, address, length) — nvmet-rdma's keyed SGL data blocks — and nothing else:
 *    an unknown key, a deregistered MR or a range outside it is a remote access error.
 */

import { randomInt } from 'node:crypto';
import type { DmaMemory } from '../copy/region.js';

/** A registered memory region as the owner sees it. */
export interface MemoryRegistration {
  readonly rkey: number;
  /** Virtual address of the first byte (what goes into a keyed SGL). */
  readonly addr: number;
  readonly length: number;
  readonly memory: DmaMemory;
  /** Offset of the first byte in `memory`. */
  readonly offset: number;
}

/** Where a remote access lands: memory and offset. */
export interface RemoteRange {
  readonly memory: DmaMemory;
  readonly offset: number;
  readonly length: number;
}

/** MR addresses start here and are 4 KiB aligned, so a stray zero address never matches. */
const VA_BASE = 0x1000_0000;

export class ProtectionDomain {
  private readonly mrs = new Map<number, MemoryRegistration>();
  private nextAddr = VA_BASE;

  /** Register `length` bytes at `offset` of `memory` for remote access. */
  registerMr(memory: DmaMemory, offset = 0, length = memory.byteLength - offset): MemoryRegistration {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0 || offset + length > memory.byteLength) {
      throw new RangeError(`MR [${offset}, +${length}) does not fit ${memory.byteLength} bytes`);
    }
    let rkey: number;
    do rkey = randomInt(1, 0xffff_ffff);
    while (this.mrs.has(rkey));
    const mr: MemoryRegistration = { rkey, addr: this.nextAddr, length, memory, offset };
    this.nextAddr += Math.ceil(length / 4096) * 4096 + 4096;
    if (this.nextAddr > Number.MAX_SAFE_INTEGER / 2) this.nextAddr = VA_BASE;
    this.mrs.set(rkey, mr);
    return mr;
  }

  deregisterMr(mr: MemoryRegistration | number): boolean {
    return this.mrs.delete(typeof mr === 'number' ? mr : mr.rkey);
  }

  /** Registered MRs (leak checks). */
  get registered(): number {
    return this.mrs.size;
  }

  /** Resolve a remote access; null = remote access error (bad key or range). */
  resolve(rkey: number, addr: number, length: number): RemoteRange | null {
    const mr = this.mrs.get(rkey);
    if (mr === undefined || !Number.isSafeInteger(addr) || addr < mr.addr || length < 0 || addr + length > mr.addr + mr.length) return null;
    return { memory: mr.memory, offset: mr.offset + (addr - mr.addr), length };
  }
}

/** One side of a reliable-connected queue pair. */
export class QpEndpoint {
  /** Receives the peer's SENDs, in order. */
  onRecv: (msg: Uint8Array) => void = () => {};
  /** The connection ended (either side closed). Called once. */
  onClose: (reason: string) => void = () => {};
  peer: QpEndpoint | null = null;
  private inbox: Uint8Array[] = [];
  private scheduled = false;
  private closedReason: string | null = null;

  constructor(
    /** The memory this side registered: what the peer may access. */
    readonly pd: ProtectionDomain,
    readonly name: string,
  ) {}

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** SEND: `msg` is copied (the peer's receive buffer) and delivered asynchronously. */
  send(msg: Uint8Array): void {
    const p = this.peer;
    if (this.closedReason !== null || p === null || p.closedReason !== null) return;
    p.enqueue(msg.slice());
  }

  /** The peer's registered memory at (rkey, addr, length), for RDMA READ/WRITE; null on access error. */
  remote(rkey: number, addr: number, length: number): RemoteRange | null {
    const p = this.peer;
    if (p === null || this.closedReason !== null) return null;
    return p.pd.resolve(rkey, addr, length);
  }

  /** Disconnect: both sides see onClose once; messages not yet delivered are dropped. */
  close(reason: string): void {
    if (this.closedReason !== null) return;
    this.finish(reason);
    const p = this.peer;
    if (p !== null && p.closedReason === null) setImmediate(() => p.finish(`peer: ${reason}`));
  }

  private finish(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.inbox = [];
    this.onClose(reason);
  }

  private enqueue(msg: Uint8Array): void {
    this.inbox.push(msg);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const batch = this.inbox;
    this.inbox = [];
    for (const m of batch) {
      if (this.closedReason !== null) return;
      this.onRecv(m);
    }
  };
}

export interface RdmaListener {
  readonly traddr: string;
  readonly trsvcid: string;
  close(): void;
}

export class RdmaFabric {
  private readonly listeners = new Map<string, (ep: QpEndpoint) => void>();
  private nextSvc = 44200;

  /** Listen on traddr:trsvcid ("0" = a free service id). `accept` gets the target side of each new queue pair. */
  listen(traddr: string, trsvcid: string, pd: ProtectionDomain, accept: (ep: QpEndpoint) => void): RdmaListener {
    let svc = trsvcid;
    if (svc === '0') {
      do svc = String(this.nextSvc++);
      while (this.listeners.has(`${traddr}:${svc}`));
    }
    const key = `${traddr}:${svc}`;
    if (this.listeners.has(key)) throw Object.assign(new Error(`rdma: ${key} is already in use`), { code: 'EADDRINUSE' });
    this.listeners.set(key, (hostSide) => {
      const ep = new QpEndpoint(pd, `target ${key}`);
      ep.peer = hostSide;
      hostSide.peer = ep;
      accept(ep);
    });
    return {
      traddr,
      trsvcid: svc,
      close: () => {
        this.listeners.delete(key);
      },
    };
  }

  /** Connect to a listener (rdma_connect): the host side of a new queue pair, once the target accepted it. */
  async connect(traddr: string, trsvcid: string, pd: ProtectionDomain): Promise<QpEndpoint> {
    // Connection establishment is asynchronous on a real fabric; keep it so here.
    await new Promise<void>((r) => setImmediate(r));
    const accept = this.listeners.get(`${traddr}:${trsvcid}`);
    if (accept === undefined) throw Object.assign(new Error(`rdma: connection to ${traddr}:${trsvcid} refused`), { code: 'ECONNREFUSED' });
    const ep = new QpEndpoint(pd, `host → ${traddr}:${trsvcid}`);
    accept(ep);
    return ep;
  }
}

/** The fabric of this process: what a target's RDMA ports and hosts use unless given another. */
export const defaultRdmaFabric = new RdmaFabric();
