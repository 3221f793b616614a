/**
 * I/O command execution: Read, Write, Flush, Write Zeroes, Dataset Management.
 * The backend moves bytes between media and `req.data` (the staging buffer);
 * synchronous backends (RAM) complete without a promise.
 */

import type { Request } from '../../core/request.js';
import type { MaybePromise } from '../../backend/backend.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { rd32 } from '../../../src/nvme/le.js';
import { DSM_RANGE_SIZE } from './parse.js';

/** Dataset Management attribute: deallocate (cdw11 bit 2). */
const DSM_AD = 1 << 2;

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

/** Media errors become NVMe media statuses instead of a generic internal error. */
function mediaError(req: Request, status: number, e: unknown): void {
  req.queue.logger().error(`nsid ${req.nsid}: ${req.ns?.backend.kind ?? '?'} I/O failed: ${String(e)}`);
  req.complete(status | STATUS_DNR);
}

export function executeRead(req: Request): MaybePromise {
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

/** Force Unit Access (cdw12 bit 30). */
function fua(req: Request): boolean {
  return (req.sqe[51]! & 0x40) !== 0;
}

export function executeWrite(req: Request): MaybePromise {
  const backend = req.ns!.backend;
  // Write-through when the host disabled the volatile write cache or asked for FUA.
  const durable = !req.ctrl.vwc || fua(req);
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

/** Run a backend operation that carries no data and complete with success or `failStatus`. */
function simple(req: Request, op: () => MaybePromise, failStatus: number): MaybePromise {
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

export function executeFlush(req: Request): MaybePromise {
  const b = req.ns!.backend;
  return simple(req, () => b.flush(), NvmeStatus.WriteFault);
}

export function executeWriteZeroes(req: Request): MaybePromise {
  const b = req.ns!.backend;
  const { offset, length } = req;
  return simple(req, () => b.writeZeroes(offset, length), NvmeStatus.WriteFault);
}

/**
 * Dataset Management: only the Deallocate attribute does anything. All ranges
 * are checked before any is applied, so a bad range changes nothing.
 */
export function executeDsm(req: Request): MaybePromise {
  const attrs = rd32(req.sqe, 44);
  if ((attrs & DSM_AD) === 0) {
    req.complete(0);
    return;
  }
  const ns = req.ns!;
  const d = req.data!;
  const nr = req.aux;
  const nsze = ns.nsze;
  for (let i = 0; i < nr; i++) {
    const at = i * DSM_RANGE_SIZE;
    const nlb = rd32(d, at + 4);
    const lo = rd32(d, at + 8);
    const hi = rd32(d, at + 12);
    const slba = hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
    if (nlb === 0) continue;
    if (slba >= nsze || nlb > nsze - slba) {
      // Error location: the range list lives in data, so point at the NR field.
      req.errorLoc = 40;
      req.errorLba = slba;
      req.complete(NvmeStatus.LbaOutOfRange | STATUS_DNR);
      return;
    }
  }
  const b = ns.backend;
  const bs = ns.blockSize;
  return simple(
    req,
    () => {
      let pending: Promise<void> | undefined;
      for (let i = 0; i < nr; i++) {
        const at = i * DSM_RANGE_SIZE;
        const nlb = rd32(d, at + 4);
        if (nlb === 0) continue;
        const slba = rd32(d, at + 12) * 0x1_0000_0000 + rd32(d, at + 8);
        const r = b.deallocate(slba * bs, nlb * bs);
        if (r !== undefined) pending = pending === undefined ? r : pending.then(() => r);
      }
      return pending;
    },
    NvmeStatus.InternalError,
  );
}
