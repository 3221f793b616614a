/**
 * The core side of one queue pair (Linux nvmet_sq + nvmet_cq): created by a port
 * for every transport connection, bound to a controller by Connect.
 *
 * States: `connecting` (only Connect is accepted) → `live` (qid set, bound to a
 * controller) → `dead` (destroyed by the transport, or torn down by the core on
 * keep-alive expiry / controller reset / Disconnect). Nothing is sent on a dead queue.
 */

import type { DhchapCtrlSession } from '../../src/nvme/auth/controller-session.js';
import type { IoObserver } from './io-observer.js';
import type { CoreQueue, TransportQueue } from './fabrics-ops.js';
import type { Controller } from './controller.js';
import type { Port } from './port.js';
import type { StagingAllocator } from './staging.js';
import type { Logger } from './log.js';
import { Request } from './request.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { sqeFuse, sqePsdt, Psdt } from '../../src/nvme/sqe.js';
import { sglLength } from '../../src/nvme/sgl.js';
import { parseConnectCmd } from '../cmd/fabrics/parse.js';
import { parseAdminCmd } from '../cmd/admin/parse.js';
import { parseIoCmd } from '../cmd/io/parse.js';

export type QueueState = 'connecting' | 'live' | 'dead';

/** Per-queue DH-HMAC-CHAP state; `close` stops the transaction timer when the queue goes. */
export interface QueueAuth {
  readonly session: DhchapCtrlSession;
  close(): void;
}

/** Offset of DPTR in the SQE, the error location of transfer-length problems. */
const DPTR_OFFSET = 24;

export class CoreQueueImpl implements CoreQueue {
  qid = -1;
  /** Queue size in entries (1's based), 0 before Connect. */
  size = 0;
  sqhd = 0;
  sqFlowControlDisabled = false;
  ctrl: Controller | null = null;
  state: QueueState = 'connecting';
  /** Requests handed out and not yet recycled. */
  inUse = 0;
  /** nvmet_sq.authenticated: DH-HMAC-CHAP completed on this queue. */
  authenticated = false;
  /** DH-HMAC-CHAP transaction state (nvmet_sq dhchap_*), created by the first Authentication Send. */
  dhchap: QueueAuth | null = null;
  private readonly pool: Request[] = [];

  constructor(
    readonly port: Port,
    readonly transport: TransportQueue,
  ) {}

  // ------------------------------------------------------------ CoreQueue

  initRequest(sqe: Uint8Array): Request {
    const req = this.pool.pop() ?? new Request(this);
    this.inUse++;
    req.init(sqe);
    const status = this.parse(req);
    if (status !== 0) {
      req.complete(status);
      return req;
    }
    // Traffic-based keep-alive (CTRATT.TBKAS): any command counts as a sign of life.
    if (this.ctrl !== null) this.ctrl.noteTraffic();
    return req;
  }

  destroy(): void {
    this.dhchap?.close();
    if (this.state === 'dead') return;
    this.state = 'dead';
    const ctrl = this.ctrl;
    if (ctrl !== null) ctrl.queueGone(this);
  }

  // ------------------------------------------------------------ core side

  isLive(): boolean {
    return this.state !== 'dead';
  }

  allocator(): StagingAllocator {
    return this.port.nvmet.staging;
  }

  logger(): Logger {
    return this.port.nvmet.log;
  }

  ioObserver(): IoObserver | null {
    return this.port.nvmet.ioObserver;
  }

  /** Next SQ head for a completion (nvmet_update_sq_head); 0xffff when the host disabled SQ flow control. */
  advanceSqhd(): number {
    if (this.sqFlowControlDisabled) return 0xffff;
    if (this.size !== 0) this.sqhd = (this.sqhd + 1) % this.size;
    return this.sqhd;
  }

  /** Bind to a controller after a successful Connect (nvmet_sq_setup). */
  install(ctrl: Controller, qid: number, size: number, disableSqFlow: boolean): void {
    this.ctrl = ctrl;
    this.qid = qid;
    this.size = size;
    this.sqhd = 0;
    this.sqFlowControlDisabled = disableSqFlow;
    this.state = 'live';
  }

  /**
   * The core ends this queue (keep-alive expiry, controller reset or deletion,
   * Disconnect): stop sending on it and ask the transport to drop the connection.
   */
  disconnectFromCore(reason: string): void {
    this.dhchap?.close();
    if (this.state !== 'dead') {
      this.state = 'dead';
      const ctrl = this.ctrl;
      if (ctrl !== null) ctrl.queueGone(this);
    }
    this.transport.disconnect(reason);
  }

  /** @internal Called by Request once released and finished. */
  recycle(req: Request): void {
    this.inUse--;
    if (this.pool.length < 1024) this.pool.push(req);
  }

  /** nvmet_req_init: command-independent checks, then the per-queue-type parser. */
  private parse(req: Request): number {
    if (this.state === 'dead') return NvmeStatus.AbortedSqDeletion | STATUS_DNR;
    const sqe = req.sqe;
    if (sqeFuse(sqe) !== 0) {
      // No fused command support (Compare and Write).
      req.errorLoc = 1;
      return NvmeStatus.InvalidField | STATUS_DNR;
    }
    // Fabrics: data is described by SGLs, MPTR by a contiguous buffer (PSDT 01b).
    if (sqePsdt(sqe) !== Psdt.SglMetaBuf) {
      req.errorLoc = 1;
      return NvmeStatus.InvalidField | STATUS_DNR;
    }
    let status: number;
    if (this.ctrl === null) status = parseConnectCmd(req);
    else if (this.qid === 0) status = parseAdminCmd(req);
    else status = parseIoCmd(req);
    if (status !== 0) return status;
    // The length the SGL describes must be what the command itself implies (nvmet_check_transfer_len).
    if (sglLength(sqe, DPTR_OFFSET) !== req.transferLen) {
      req.errorLoc = DPTR_OFFSET;
      return NvmeStatus.SglInvalidDataLength | STATUS_DNR;
    }
    return 0;
  }
}
