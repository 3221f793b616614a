/**
 * Transport state of one command on an NVMe/TCP queue (Linux struct
 * nvmet_tcp_cmd): where its data stands on the wire. Indexed by TTAG, which is
 * the command's slot number, so an H2CData PDU finds its command in O(1).
 */

import type { CoreQueue, TransportRequest } from '../core/fabrics-ops.js';
import type { Releasable } from './tx.js';

export const enum CmdState {
  Free,
  /** Capsule received, in-capsule data (if any) still arriving. */
  Capsule,
  /** R2T(s) sent, H2CData arriving. */
  WaitData,
  /** Waiting for staging budget (nothing allocated, no R2T sent, not executed). */
  Deferred,
  /** In the core. */
  Executing,
  /** Response queued, waiting for the socket to take it. */
  Responding,
}

export class TcpCmd implements Releasable {
  state = CmdState.Free;
  /** The core's request embedded in this slot (Linux nvmet_tcp_cmd.req): allocated once, reused per command. */
  readonly req: TransportRequest<TcpCmd>;
  /** Transport-detected status to complete with once the PDU's data is consumed (0 = none). */
  pendingStatus = 0;
  /** H2C: next expected DATAO (bytes received in order). */
  rcvd = 0;
  /** H2C: end offset of the data requested by R2Ts so far. */
  r2tEnd = 0;
  /** H2C: R2Ts whose data has not fully arrived. */
  outstandingR2T = 0;
  /** Staging bytes counted against the queue's limits and the transport's budget (0 = none). */
  staged = 0;
  /** `staged` is a buffer waiting for R2T'd data (else: executing / responding). */
  r2tHeld = false;
  /** Injected fault: this write's R2T is delayed or withheld (its bytes are in TcpFaultState.quietR2tBytes). */
  r2tQuiet = false;

  constructor(
    readonly ttag: number,
    core: CoreQueue,
    private readonly onReleased: (cmd: TcpCmd) => void,
  ) {
    this.req = core.allocRequest(this);
  }

  reset(): void {
    this.state = CmdState.Capsule;
    this.pendingStatus = 0;
    this.rcvd = 0;
    this.r2tEnd = 0;
    this.outstandingR2T = 0;
  }

  /** Response written: hand the request back to the core. */
  released(): void {
    this.onReleased(this);
  }
}
