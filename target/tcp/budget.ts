/**
 * The staging budget shared by every NVMe/TCP connection of a target: bytes of
 * staging buffers the transport has asked the core for and not yet handed back
 * (reads executing or waiting for the host to take their data, in-capsule data,
 * buffers held for R2T'd write data).
 *
 * Linux nvmet-tcp has no such budget: it allocates each command's SGL from the
 * page allocator and relies on 2 × SQSIZE command slots per queue. A userspace
 * target on a shared machine needs a figure the operator can rely on, so a
 * command whose data would pass the budget waits (not executed, no R2T sent,
 * nothing allocated) until buffers come back. A queue with nothing staged may
 * still take one command out of a small reserve beyond the budget, so a well-
 * behaved host keeps moving while hostile ones hold the rest: the hard ceiling
 * is `limit + reserve`.
 */

import type { Logger } from '../core/log.js';

/** A queue with commands waiting for budget. */
export interface BudgetWaiter {
  /** Admit whatever now fits; true when nothing is left waiting. */
  admitDeferred(): boolean;
}

/** Don't repeat the "budget exhausted" line more often than this. */
const LOG_INTERVAL_MS = 10_000;

function mib(n: number): string {
  return `${(n / (1 << 20)).toFixed(n % (1 << 20) === 0 ? 0 : 1)} MiB`;
}

export class StagingBudget {
  /** Bytes staged now, all connections. */
  used = 0;
  /** Of which held for R2T'd write data that has not arrived. */
  r2tUsed = 0;
  /** Highest `used` / `r2tUsed` seen (tests, stats). */
  peak = 0;
  r2tPeak = 0;
  /** Times a command had to wait for the shared budget. */
  deferrals = 0;
  private readonly waiting = new Set<BudgetWaiter>();
  private pumpScheduled = false;
  private lastLog = -Infinity;

  constructor(
    /** Soft limit: commands beyond it wait. */
    readonly limit: number,
    /** Extra room a queue with nothing staged may use for one command. */
    readonly reserve: number,
    /** Limit for R2T-held write buffers (within `limit`). */
    readonly r2tLimit: number,
    private readonly log: Logger,
  ) {}

  /**
   * May a queue that has `own` bytes staged stage `len` more? Does not take
   * them; call `take` once the buffer is allocated.
   */
  fits(len: number, r2t: boolean, own: number): boolean {
    const after = this.used + len;
    if (after <= this.limit && (!r2t || this.r2tUsed + len <= this.r2tLimit)) return true;
    if (own === 0 && after <= this.limit + this.reserve) return true;
    // one command larger than budget + reserve (a small configured budget) still runs, alone
    if (this.used === 0) return true;
    this.deferrals++;
    const now = performance.now();
    if (now - this.lastLog >= LOG_INTERVAL_MS) {
      this.lastLog = now;
      this.log.warn(
        `tcp: staging budget exhausted (${mib(this.used)} of ${mib(this.limit)} in use, ${mib(this.r2tUsed)} of ${mib(this.r2tLimit)} held for R2T data): ` +
          `commands wait for buffers to be returned (${this.deferrals} deferred so far)`,
      );
    }
    return false;
  }

  take(len: number, r2t: boolean): void {
    this.used += len;
    if (this.used > this.peak) this.peak = this.used;
    if (r2t) {
      this.r2tUsed += len;
      if (this.r2tUsed > this.r2tPeak) this.r2tPeak = this.r2tUsed;
    }
  }

  /** R2T'd data arrived: the buffer now counts as an executing command's. */
  r2tDone(len: number): void {
    this.r2tUsed -= len;
    if (this.waiting.size !== 0) this.schedulePump();
  }

  give(len: number, r2t: boolean): void {
    this.used -= len;
    if (r2t) this.r2tUsed -= len;
    if (this.waiting.size !== 0) this.schedulePump();
  }

  wait(w: BudgetWaiter): void {
    this.waiting.add(w);
  }

  unwait(w: BudgetWaiter): void {
    this.waiting.delete(w);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(this.pump);
  }

  /** Waiting queues in arrival order; one still waiting goes to the back (round robin). */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    for (const w of [...this.waiting]) {
      this.waiting.delete(w);
      if (!w.admitDeferred()) this.waiting.add(w);
    }
  };
}
