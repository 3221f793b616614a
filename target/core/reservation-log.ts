/**
 * Per-controller Reservation Notification log queue (Linux struct
 * nvmet_pr_log_mgr, pr.c nvmet_pr_add_resv_log / nvmet_execute_get_log_page_resv):
 * a bounded FIFO of notifications with a 64-bit count that skips 0, and a count
 * of logs lost to overflow that the next read folds into its Log Page Count.
 */

import { ResvLogType, type ResvNotificationLog } from '../../src/nvme/reservations.js';

/** Linux NVMET_PR_LOG_QUEUE_SIZE. */
export const NVMET_PR_LOG_QUEUE_SIZE = 64;
const U64_MAX = (1n << 64n) - 1n;

interface Entry {
  count: bigint;
  type: number;
  nsid: number;
}

export class ResvLogQueue {
  private counter = 0n;
  private lost = 0n;
  private readonly queue: Entry[] = [];

  get length(): number {
    return this.queue.length;
  }

  /** Queue one notification; false when it was lost to a full queue. */
  add(type: number, nsid: number): boolean {
    this.counter = this.counter === U64_MAX ? 1n : this.counter + 1n;
    if (this.queue.length >= NVMET_PR_LOG_QUEUE_SIZE) {
      this.lost++;
      return false;
    }
    this.queue.push({ count: this.counter, type, nsid });
    return true;
  }

  /** Pop the oldest notification as the 64-byte page describes it (an empty page when none). */
  take(): ResvNotificationLog {
    const cur = this.queue.shift();
    if (cur === undefined) return { count: 0n, type: ResvLogType.Empty, available: 0, nsid: 0 };
    const next = this.queue[0];
    let lost: bigint;
    if (next !== undefined) {
      // Gaps between consecutive queued counts are logs lost while the queue was full.
      lost = next.count > cur.count ? next.count - cur.count - 1n : U64_MAX - cur.count + next.count - 1n;
    } else {
      lost = this.lost;
    }
    this.lost = this.lost >= lost ? this.lost - lost : 0n;
    const total = (cur.count + lost) & U64_MAX;
    return { count: total === 0n ? 1n : total, type: cur.type, available: this.queue.length, nsid: cur.nsid };
  }
}
