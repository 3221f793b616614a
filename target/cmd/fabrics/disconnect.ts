/** Disconnect (NVMe over Fabrics 1.1, FCTYPE 08h). */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { disconnectRecfmt, FabricsOff } from '../../../src/nvme/fabrics.js';

/**
 * Disconnect (NVMe-oF): delete the I/O queue it was submitted on. The response
 * goes out first; the queue is torn down once the transport has released it.
 */
function executeDisconnect(req: Request): void {
  if (disconnectRecfmt(req.sqe) !== 0) {
    req.errorLoc = FabricsOff.Recfmt;
    req.complete(NvmeStatus.ConnectIncompatibleFormat | STATUS_DNR);
    return;
  }
  req.disconnectAfterResponse = true;
  req.complete(0);
}

export const disconnect: Command = { name: 'Disconnect', execute: executeDisconnect };
