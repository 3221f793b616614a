/** Keep Alive, Asynchronous Event Request, Abort (Linux admin-cmd.c). */

import type { Request } from '../../core/request.js';
import { NvmeStatus } from '../../../src/nvme/status.js';

/** Keep Alive: restart the keep-alive timer; without a KATO there is nothing to keep alive. */
export function executeKeepAlive(req: Request): void {
  const ctrl = req.ctrl;
  if (ctrl.kato === 0) {
    req.complete(NvmeStatus.KeepAliveInvalid);
    return;
  }
  ctrl.keepAlive();
  req.complete(0);
}

/** Asynchronous Event Request: held by the controller until an event occurs. */
export function executeAsyncEvent(req: Request): void {
  req.ctrl.queueAer(req);
}

/**
 * Abort: mandatory, but nothing we run can be usefully aborted; report
 * "command not aborted" (dword 0 bit 0) as Linux does.
 */
export function executeAbort(req: Request): void {
  req.setResult(1);
  req.complete(0);
}
