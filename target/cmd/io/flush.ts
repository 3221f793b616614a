/** Flush (I/O 00h; Linux nvmet_bdev_execute_flush / nvmet_file_execute_flush). */

import type { Request } from '../../core/request.js';
import type { MaybePromise } from '../../backend/backend.js';
import type { Command } from '../command.js';
import { NvmeStatus } from '../../../src/nvme/status.js';
import { runMedia } from './media.js';

function executeFlush(req: Request): MaybePromise {
  const b = req.ns!.backend;
  return runMedia(req, () => b.flush(), NvmeStatus.WriteFault);
}

export const flush: Command = { name: 'Flush', execute: executeFlush };
