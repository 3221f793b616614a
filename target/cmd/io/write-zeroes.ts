/** Write Zeroes (I/O 08h; Linux nvmet_bdev_execute_write_zeroes). */

import type { Request } from '../../core/request.js';
import type { MaybePromise } from '../../backend/backend.js';
import type { Command } from '../command.js';
import { NvmeStatus } from '../../../src/nvme/status.js';
import { runMedia } from './media.js';
import { parseLbaRange } from './lba-range.js';

function executeWriteZeroes(req: Request): MaybePromise {
  const b = req.ns!.backend;
  const { offset, length } = req;
  return runMedia(req, () => b.writeZeroes(offset, length), NvmeStatus.WriteFault);
}

export const writeZeroes: Command = { name: 'Write Zeroes', parse: parseLbaRange, execute: executeWriteZeroes };
