/**
 * Dataset Management (I/O 09h; Linux nvmet_bdev_execute_dsm): only the
 * Deallocate attribute does anything. All ranges are checked before any is
 * applied, so a bad range changes nothing.
 */

import type { Request } from '../../core/request.js';
import type { MaybePromise } from '../../backend/backend.js';
import type { Command } from '../command.js';
import { DataDir } from '../../core/fabrics-ops.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { SqeOff } from '../../../src/nvme/sqe.js';
import { DsmAttr, dsmAttributes, dsmDataLength, dsmRangeCount, readDsmRange, type DsmRange } from '../../../src/nvme/dsm.js';
import { runMedia } from './media.js';

/** The range being looked at: one object, reused (no allocation per range). */
const range: DsmRange = { cattr: 0, nlb: 0, slba: 0 };

/** The range list arrives as data (NR + 1 ranges of 16 bytes). */
function parseDatasetManagement(req: Request): number {
  req.dataDir = DataDir.H2C;
  req.transferLen = dsmDataLength(req.sqe);
  return 0;
}

function executeDatasetManagement(req: Request): MaybePromise {
  if ((dsmAttributes(req.sqe) & DsmAttr.Deallocate) === 0) {
    req.complete(0);
    return;
  }
  const ns = req.ns!;
  const d = req.data!;
  const nr = dsmRangeCount(req.sqe);
  const nsze = ns.nsze;
  for (let i = 0; i < nr; i++) {
    const { nlb, slba } = readDsmRange(d, i, range);
    if (nlb === 0) continue;
    if (slba >= nsze || nlb > nsze - slba) {
      // Error location: the range list lives in data, so point at the NR field.
      req.errorLoc = SqeOff.Cdw10;
      req.errorLba = Math.min(slba, Number.MAX_SAFE_INTEGER);
      req.complete(NvmeStatus.LbaOutOfRange | STATUS_DNR);
      return;
    }
  }
  const b = ns.backend;
  const bs = ns.blockSize;
  return runMedia(
    req,
    () => {
      let pending: Promise<void> | undefined;
      for (let i = 0; i < nr; i++) {
        const { nlb, slba } = readDsmRange(d, i, range);
        if (nlb === 0) continue;
        const r = b.deallocate(slba * bs, nlb * bs);
        if (r !== undefined) pending = pending === undefined ? r : pending.then(() => r);
      }
      return pending;
    },
    NvmeStatus.InternalError,
  );
}

export const datasetManagement: Command = { name: 'Dataset Management', parse: parseDatasetManagement, execute: executeDatasetManagement };
