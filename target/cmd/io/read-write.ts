/**
 * Read (I/O 02h) and Write (I/O 01h) (Linux nvmet_bdev_execute_rw /
 * nvmet_file_execute_rw). The backend moves bytes between media and `req.data`
 * (the staging buffer); synchronous backends (RAM) complete without a promise,
 * and no closure is made on that path.
 */

import type { Request } from '../../core/request.js';
import type { MaybePromise } from '../../backend/backend.js';
import type { Command } from '../command.js';
import { DataDir } from '../../core/fabrics-ops.js';
import { NvmeStatus } from '../../../src/nvme/status.js';
import { sqeFua } from '../../../src/nvme/sqe.js';
import { checkMdts, parseLbaRange } from './lba-range.js';
import { mediaError } from './media.js';

/** SLBA/NLB inside the namespace, within MDTS; the data is the blocks themselves. */
function parseReadWrite(req: Request, dir: DataDir): number {
  let st = parseLbaRange(req);
  if (st !== 0) return st;
  st = checkMdts(req, req.length);
  if (st !== 0) return st;
  req.transferLen = req.length;
  req.dataDir = dir;
  return 0;
}

function completeRead(req: Request): void {
  const st = req.ns!.stats;
  st.readCommands++;
  st.bytesRead += req.length;
  req.complete(0);
}

function completeWrite(req: Request): void {
  const st = req.ns!.stats;
  st.writeCommands++;
  st.bytesWritten += req.length;
  req.complete(0);
}

function executeRead(req: Request): MaybePromise {
  let r: MaybePromise;
  try {
    r = req.ns!.backend.read(req.offset, req.data!);
  } catch (e) {
    mediaError(req, NvmeStatus.UnrecoveredReadError, e);
    return;
  }
  if (r === undefined) {
    completeRead(req);
    return;
  }
  return r.then(
    () => completeRead(req),
    (e: unknown) => mediaError(req, NvmeStatus.UnrecoveredReadError, e),
  );
}

function executeWrite(req: Request): MaybePromise {
  const backend = req.ns!.backend;
  // Write-through when the host disabled the volatile write cache or asked for FUA.
  const durable = !req.ctrl.vwc || sqeFua(req.sqe);
  let r: MaybePromise;
  try {
    r = backend.write(req.offset, req.data!);
    if (r === undefined && durable) r = backend.flush();
  } catch (e) {
    mediaError(req, NvmeStatus.WriteFault, e);
    return;
  }
  if (r === undefined) {
    completeWrite(req);
    return;
  }
  return r
    .then(() => (durable ? backend.flush() : undefined))
    .then(
      () => completeWrite(req),
      (e: unknown) => mediaError(req, NvmeStatus.WriteFault, e),
    );
}

export const read: Command = { name: 'Read', parse: (req) => parseReadWrite(req, DataDir.C2H), execute: executeRead };
export const write: Command = { name: 'Write', parse: (req) => parseReadWrite(req, DataDir.H2C), execute: executeWrite };
