/** Keep Alive (admin 18h; Linux nvmet_execute_keep_alive). */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { NvmeStatus } from '../../../src/nvme/status.js';

/** Restart the keep-alive timer; without a KATO there is nothing to keep alive. */
function executeKeepAlive(req: Request): void {
  const ctrl = req.ctrl;
  if (ctrl.kato === 0) {
    req.complete(NvmeStatus.KeepAliveInvalid);
    return;
  }
  ctrl.keepAlive();
  req.complete(0);
}

export const keepAlive: Command = { name: 'Keep Alive', execute: executeKeepAlive };
