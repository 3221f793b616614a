/**
 * Running a backend operation for a media command: synchronous backends (RAM)
 * complete without a promise, asynchronous ones (file) with one; media errors
 * become NVMe media statuses instead of a generic internal error.
 */

import type { Request } from '../../core/request.js';
import { BackendStatusError, type MaybePromise } from '../../backend/backend.js';
import { STATUS_DNR } from '../../../src/nvme/status.js';

export function mediaError(req: Request, status: number, e: unknown): void {
  // A backend that knows its status (e.g. a retryable Transient Transport Error) keeps it, DNR as it says.
  if (e instanceof BackendStatusError) {
    req.queue.logger().warn(`nsid ${req.nsid}: ${e.message}`);
    req.complete(e.status);
    return;
  }
  req.queue.logger().error(`nsid ${req.nsid}: ${req.ns?.backend.kind ?? '?'} I/O failed: ${String(e)}`);
  req.complete(status | STATUS_DNR);
}

/** Run a backend operation that carries no data and complete with success or `failStatus`. */
export function runMedia(req: Request, op: () => MaybePromise, failStatus: number): MaybePromise {
  let r: MaybePromise;
  try {
    r = op();
  } catch (e) {
    mediaError(req, failStatus, e);
    return;
  }
  if (r === undefined) {
    req.complete(0);
    return;
  }
  return r.then(
    () => req.complete(0),
    (e: unknown) => mediaError(req, failStatus, e),
  );
}
