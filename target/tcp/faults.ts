/**
 * Connection state of injected NVMe/TCP faults (target/fault/ decides, the
 * queue applies; core/fabrics-ops.ts WireFault). A queue has none (`null`)
 * until a command arrives with an arrival-time WireFault bit, so a target
 * without fault rules pays one null check where these act.
 */

export class TcpFaultState {
  /** drop-after-pdus c2h: PDUs still allowed out (-1: no limit; 0: the connection is being dropped). */
  txLeft = -1;
  /** drop-after-pdus h2c: PDUs still handled (-1: no limit; 0: the next one closes the connection). */
  rxLeft = -1;
  /** pause-reading: ends the pause (null: not paused by a fault). */
  pauseTimer: NodeJS.Timeout | null = null;
  /** delay-r2t timers pending. */
  readonly r2tTimers = new Set<NodeJS.Timeout>();
  /** Staged bytes of writes whose R2T is delayed or withheld: the target, not the host, is late (no R2T timeout). */
  quietR2tBytes = 0;

  /** Connection gone: stop every timer. */
  dispose(): void {
    if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    for (const t of this.r2tTimers) clearTimeout(t);
    this.r2tTimers.clear();
  }
}
