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
import { SqeOff, sqeFuse, sqePsdt, Psdt } from '../../src/nvme/sqe.js';
import { sglLength } from '../../src/nvme/sgl.js';

export type QueueState = 'connecting' | 'live' | 'dead';

/** Per-queue DH-HMAC-CHAP state; `close` stops the transaction timer when the queue goes. */
export interface QueueAuth {
  readonly session: DhchapCtrlSession;
  close(): void;
}

export class CoreQueueImpl implements CoreQueue {
  qid = -1;
  /** Queue size in entries (1's based), 0 before Connect. */
  size = 0;
  sqhd = 0;
  sqFlowControlDisabled = false;
  ctrl: Controller | null = null;
  state: QueueState = 'connecting';
  /** Requests initialized and not yet free again. */
  inUse = 0;
  /** Request objects the transport allocated (one per command slot, reused). */
  allocated = 0;
  /** nvmet_sq.authenticated: DH-HMAC-CHAP completed on this queue. */
  authenticated = false;
  /** DH-HMAC-CHAP transaction state (nvmet_sq dhchap_*), created by the first Authentication Send. */
  dhchap: QueueAuth | null = null;

  constructor(
    readonly port: Port,
    readonly transport: TransportQueue,
  ) {}

  // ------------------------------------------------------------ CoreQueue

  allocRequest<Owner>(owner: Owner): Request<Owner> {
    this.allocated++;
    return new Request(this, owner);
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

  /** @internal Request.init, the SQE copied: parse it; false if refused (then already completed). */
  startRequest(req: Request): boolean {
    this.inUse++;
    const status = this.parse(req);
    if (status !== 0) {
      req.complete(status);
      return false;
    }
    // Traffic-based keep-alive (CTRATT.TBKAS): any command counts as a sign of life.
    if (this.ctrl !== null) this.ctrl.noteTraffic();
    return true;
  }

  /** @internal Called by Request once released and finished. */
  recycle(): void {
    this.inUse--;
  }

  /** nvmet_req_init: command-independent checks, then the dispatcher the assembler gave Nvmet (target/cmd/dispatch.ts). */
  private parse(req: Request): number {
    if (this.state === 'dead') return NvmeStatus.AbortedSqDeletion | STATUS_DNR;
    const sqe = req.sqe;
    if (sqeFuse(sqe) !== 0) {
      // No fused command support (Compare and Write).
      req.errorLoc = SqeOff.Flags;
      return NvmeStatus.InvalidField | STATUS_DNR;
    }
    // Fabrics: data is described by SGLs, MPTR by a contiguous buffer (PSDT 01b).
    if (sqePsdt(sqe) !== Psdt.SglMetaBuf) {
      req.errorLoc = SqeOff.Flags;
      return NvmeStatus.InvalidField | STATUS_DNR;
    }
    const status = this.port.nvmet.parseCommand(req);
    if (status !== 0) return status;
    // The length the SGL describes must be what the command itself implies (nvmet_check_transfer_len).
    if (sglLength(sqe, SqeOff.Dptr) !== req.transferLen) {
      req.errorLoc = SqeOff.Dptr;
      return NvmeStatus.SglInvalidDataLength | STATUS_DNR;
    }
    return 0;
  }
}
