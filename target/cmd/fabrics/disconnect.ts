import type { Request } from '../../core/request.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { rd16 } from '../../../src/nvme/le.js';

/**
 * Disconnect (NVMe-oF): delete the I/O queue it was submitted on. The response
 * goes out first; the queue is torn down once the transport has released it.
 */
export function executeDisconnect(req: Request): void {
  if (rd16(req.sqe, 40) !== 0) {
    req.errorLoc = 40;
    req.complete(NvmeStatus.ConnectIncompatibleFormat | STATUS_DNR);
    return;
  }
  req.disconnectAfterResponse = true;
  req.complete(0);
}
