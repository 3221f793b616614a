/**
 * One queue pair of the simulated NVMe/RDMA transport (Linux nvmet_rdma_queue).
 *
 * A capsule is a SEND carrying the 64-byte SQE, optionally followed by in-capsule data.
 * Data otherwise lives in host memory named by a Keyed SGL Data Block (address, length,
 * rkey): for host→controller data the target does an RDMA READ from the host's memory
 * region into the staging buffer before executing the command; for controller→host
 * data it does an RDMA WRITE from staging into the host's region, then SENDs the CQE.
 * Both are the RNIC's DMA on the emulated fabric (wire side owned by the port's RNIC,
 * staging side by the staging buffer's owner), moved and accounted by the copy engine.
 *
 * A request is released only once no DMA touches its staging buffer, also when the
 * connection dies mid-transfer, so staging is never reused under a running copy.
 */

import type { CoreQueue, CoreQueueFactory, TransportQueue, TransportRequest } from '../core/fabrics-ops.js';
import { DataDir } from '../core/fabrics-ops.js';
import type { Logger } from '../core/log.js';
import type { DmaDescriptor } from '../../src/copy/descriptor.js';
import type { MemoryRegion } from '../../src/copy/region.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { sglAddress, sglId, sglKey, SglId, sglType, SglType } from '../../src/nvme/sgl.js';
import { SQE_SIZE, SqeOff } from '../../src/nvme/sqe.js';
import { CQE_SIZE } from '../../src/nvme/cqe.js';
import type { QpEndpoint, RemoteRange } from '../../src/rdma/fabric.js';

/** DPTR in the SQE. */
const DPTR = SqeOff.Dptr;
/** Commands a queue may have outstanding before the host is considered broken. */
const MAX_OUTSTANDING = 0xffff;

/** What the RDMA transport needs from the PCIe model (target/p2p's P2pDataPath implements it). */
export interface RdmaDataMover {
  /** BDF of the port's RNIC: owner of the wire side of every RDMA READ/WRITE; null when unplaced. */
  nicOf(portId: number): string | null;
  /** The memory region behind a staging buffer's bytes. */
  regionOf(bytes: Uint8Array): MemoryRegion;
  /** Run DMA descriptors (in order) and resolve once the bytes landed. */
  dma(descs: DmaDescriptor[]): Promise<void>;
}

/** Without a PCIe model: plain main-thread copies, nothing accounted. */
export const plainMover: RdmaDataMover = {
  nicOf: () => null,
  regionOf: (bytes) => ({ memory: bytes, offset: 0, length: bytes.length, owner: 'dram' }),
  dma: (descs) => {
    for (const d of descs) view(d.dst, d.dstOffset ?? 0, d.length).set(view(d.src, d.srcOffset ?? 0, d.length));
    return Promise.resolve();
  },
};

function view(r: MemoryRegion, at: number, len: number): Uint8Array {
  const m = r.memory;
  if (m instanceof Uint8Array) return m.subarray(r.offset + at, r.offset + at + len);
  return new Uint8Array(m, r.offset + at, len);
}

const enum CmdState {
  /** Slot unused (request released). */
  Free,
  /** SQE handed to the core, data not moving yet. */
  Init,
  /** RDMA READ of the host's data into staging in flight. */
  Fetching,
  Executing,
  /** RDMA WRITE of the data to the host in flight (CQE follows). */
  Returning,
  /** CQE sent or being dropped; only release() remains. */
  Responded,
}

/** One command slot (Linux struct nvmet_rdma_rsp, which embeds its nvmet_req). */
class RdmaCmd {
  /** The core's request embedded in this slot: allocated once, reused per command. */
  readonly req: TransportRequest<RdmaCmd>;
  state = CmdState.Free;
  /** Host memory a C2H command's data goes to. */
  remote: RemoteRange | null = null;
  /** rkey to invalidate at completion (Keyed SGL sub type Invalidate Key). */
  invalidate = 0;
  /** A DMA on the staging buffer is in flight: release waits for it. */
  dmaBusy = false;

  constructor(core: CoreQueue) {
    this.req = core.allocRequest(this);
  }

  reset(): void {
    this.state = CmdState.Init;
    this.remote = null;
    this.invalidate = 0;
    this.dmaBusy = false;
  }
}

export interface RdmaPortRef {
  readonly portId: number;
  readonly inlineDataSize: number;
}

export class RdmaQueue implements TransportQueue {
  readonly peer: string;
  private core: CoreQueue | null = null;
  /** Every command slot this queue created, and the free ones among them. */
  private readonly cmds: RdmaCmd[] = [];
  private readonly freeCmds: RdmaCmd[] = [];
  /** Slots holding a command not yet released. */
  private busy = 0;
  private closed = false;

  constructor(
    private readonly ep: QpEndpoint,
    private readonly port: RdmaPortRef,
    factory: CoreQueueFactory,
    private readonly mover: RdmaDataMover,
    private readonly log: Logger,
    private readonly onClosed: (q: RdmaQueue) => void,
  ) {
    this.peer = ep.name;
    ep.onRecv = (m) => this.onCapsule(m);
    ep.onClose = (why) => this.teardown(why);
    try {
      this.core = factory.createQueue(this);
    } catch (e) {
      this.log.error(`rdma ${this.peer}: core refused the queue: ${String(e)}`);
      this.disconnect('core refused queue');
    }
  }

  /** Requests currently owned by this queue (tests). */
  get outstanding(): number {
    return this.busy;
  }

  /** The RNIC owning the wire side of RDMA transfers ('' when the port has none: copies are not accounted). */
  private get nic(): string {
    return this.mover.nicOf(this.port.portId) ?? '';
  }

  private dma(descs: DmaDescriptor[]): Promise<void> {
    return this.nic === '' ? plainMover.dma(descs) : this.mover.dma(descs);
  }

  // ------------------------------------------------------------------ receive

  private onCapsule(msg: Uint8Array): void {
    const core = this.core;
    if (core === null || this.closed) return;
    if (msg.length < SQE_SIZE || this.busy >= MAX_OUTSTANDING) {
      this.log.warn(`rdma ${this.peer}: ${msg.length < SQE_SIZE ? `${msg.length}-byte capsule` : 'too many outstanding commands'}; disconnecting`);
      this.disconnect('protocol error');
      return;
    }
    const sqe = msg.subarray(0, SQE_SIZE);
    let cmd = this.freeCmds.pop();
    if (cmd === undefined) {
      cmd = new RdmaCmd(core);
      this.cmds.push(cmd);
    }
    cmd.reset();
    this.busy++;
    const req = cmd.req;
    if (!req.init(sqe)) return; // completed during init (bad command)
    if (req.dataDir === DataDir.None || req.transferLen === 0) {
      this.execute(cmd);
      return;
    }
    const id = sglId(sqe, DPTR);
    if (id === SglId.InCapsule) {
      this.inCapsule(cmd, sqe, msg.subarray(SQE_SIZE));
      return;
    }
    if (sglType(sqe, DPTR) !== SglType.KeyedDataBlock) {
      req.completeWithStatus(NvmeStatus.SglInvalidType | STATUS_DNR);
      return;
    }
    const range = this.ep.remote(sglKey(sqe, DPTR), sglAddress(sqe, DPTR), req.transferLen);
    if (range === null) {
      // The RNIC's RDMA op would fail with a remote access error.
      this.log.warn(`rdma ${this.peer}: cid ${req.cid}: keyed SGL (key 0x${sglKey(sqe, DPTR).toString(16)}) does not name registered host memory`);
      req.completeWithStatus(NvmeStatus.DataXferError | STATUS_DNR);
      return;
    }
    if (id === SglId.RdmaKeyedInvalidate) cmd.invalidate = sglKey(sqe, DPTR);
    if (req.dataDir === DataDir.C2H) {
      cmd.remote = range;
      this.execute(cmd);
      return;
    }
    if (!this.alloc(req)) return;
    this.fetch(cmd, { memory: range.memory, offset: range.offset, length: range.length, owner: this.nic });
  }

  /** In-capsule data (Data Block, Offset): writes only, within the port's inline size (nvmet_rdma_map_sgl_inline). */
  private inCapsule(cmd: RdmaCmd, sqe: Uint8Array, data: Uint8Array): void {
    const req = cmd.req;
    if (req.dataDir !== DataDir.H2C) {
      req.completeWithStatus(NvmeStatus.InvalidField | STATUS_DNR);
      return;
    }
    const off = sglAddress(sqe, DPTR);
    if (off + req.transferLen > Math.min(data.length, this.port.inlineDataSize)) {
      req.completeWithStatus(NvmeStatus.SglInvalidOffset | STATUS_DNR);
      return;
    }
    if (!this.alloc(req)) return;
    // The capsule sits in a receive buffer the RNIC wrote: its bytes reach staging as the NIC's DMA.
    this.fetch(cmd, { memory: data, offset: off, length: req.transferLen, owner: this.nic });
  }

  private alloc(req: TransportRequest): boolean {
    try {
      req.allocData();
    } catch (e) {
      this.log.error(`rdma ${this.peer}: staging allocation of ${req.transferLen} bytes failed: ${String(e)}`);
    }
    if (req.data === null || req.data.length < req.transferLen) {
      req.completeWithStatus(NvmeStatus.InternalError | STATUS_DNR);
      return false;
    }
    return true;
  }

  /** RDMA READ (or inline copy) into staging, then execute. */
  private fetch(cmd: RdmaCmd, src: MemoryRegion): void {
    const req = cmd.req;
    cmd.state = CmdState.Fetching;
    cmd.dmaBusy = true;
    this.dma([{ src, dst: this.mover.regionOf(req.data!), length: req.transferLen }]).then(
      () => {
        cmd.dmaBusy = false;
        if (this.closed) this.release(cmd);
        else this.execute(cmd);
      },
      (e: unknown) => {
        cmd.dmaBusy = false;
        if (this.closed) {
          this.release(cmd);
          return;
        }
        this.log.error(`rdma ${this.peer}: RDMA READ for cid ${req.cid} failed: ${String(e)}`);
        req.completeWithStatus(NvmeStatus.DataXferError | STATUS_DNR);
      },
    );
  }

  private execute(cmd: RdmaCmd): void {
    cmd.state = CmdState.Executing;
    cmd.req.execute();
  }

  // ------------------------------------------------------------------ respond

  queueResponse(req: TransportRequest<RdmaCmd>): void {
    const cmd = req.owner;
    if (cmd.state === CmdState.Free || cmd.state === CmdState.Returning || cmd.state === CmdState.Responded) return;
    if (this.closed) {
      cmd.state = CmdState.Responded;
      if (!cmd.dmaBusy) this.release(cmd);
      return;
    }
    const remote = cmd.remote;
    if (req.dataDir === DataDir.C2H && req.status === 0 && req.transferLen > 0 && remote !== null && req.data !== null) {
      cmd.state = CmdState.Returning;
      cmd.dmaBusy = true;
      const dst: MemoryRegion = { memory: remote.memory, offset: remote.offset, length: remote.length, owner: this.nic };
      this.dma([{ src: this.mover.regionOf(req.data), dst, length: req.transferLen }]).then(
        () => this.respond(cmd, 0),
        (e: unknown) => {
          this.log.error(`rdma ${this.peer}: RDMA WRITE for cid ${req.cid} failed: ${String(e)}`);
          this.respond(cmd, NvmeStatus.DataXferError | STATUS_DNR);
        },
      );
      return;
    }
    this.respond(cmd, -1);
  }

  /** SEND the CQE (status overridden when `status` ≥ 0 and non-zero), then release. */
  private respond(cmd: RdmaCmd, status: number): void {
    cmd.dmaBusy = false;
    cmd.state = CmdState.Responded;
    const req = cmd.req;
    if (!this.closed) {
      let cqe = req.cqe;
      if (status > 0) {
        cqe = cqe.slice(0, CQE_SIZE);
        cqe[14] = (status << 1) & 0xff;
        cqe[15] = (status >>> 7) & 0xff;
      }
      if (cmd.invalidate !== 0) this.ep.peer?.pd.deregisterMr(cmd.invalidate); // SEND with Invalidate
      this.ep.send(cqe.length === CQE_SIZE ? cqe : cqe.subarray(0, CQE_SIZE));
    }
    this.release(cmd);
  }

  private release(cmd: RdmaCmd): void {
    if (cmd.state === CmdState.Free) return;
    const req = cmd.req;
    cmd.state = CmdState.Free;
    this.busy--;
    if (!this.closed) this.freeCmds.push(cmd);
    try {
      req.release();
    } catch (e) {
      this.log.error(`rdma ${this.peer}: release of cid ${req.cid} failed: ${String(e)}`);
    }
  }

  // ------------------------------------------------------------------ teardown

  disconnect(reason: string): void {
    this.log.debug(`rdma ${this.peer}: disconnect: ${reason}`);
    this.ep.close(reason);
    this.teardown(reason);
  }

  private teardown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug(`rdma ${this.peer}: queue closed: ${reason}`);
    const core = this.core;
    this.core = null;
    try {
      core?.destroy();
    } catch (e) {
      this.log.error(`rdma ${this.peer}: core queue destroy failed: ${String(e)}`);
    }
    // Requests with a DMA in flight are released when it lands; the rest now.
    for (const cmd of this.cmds) if (!cmd.dmaBusy) this.release(cmd);
    this.onClosed(this);
  }
}
