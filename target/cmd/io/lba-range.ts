/**
 * The checks media commands share at parse time (Linux nvmet_bdev_parse_io_cmd /
 * nvmet_check_data_len): SLBA/NLB inside the namespace (LBA Out of Range, per
 * spec), transfer within MDTS.
 */

import type { Request } from '../../core/request.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { SqeOff, sqeBlockCount, sqeSlba } from '../../../src/nvme/sqe.js';

/** Check SLBA/NLB of Read, Write and Write Zeroes against the namespace; sets offset/length. */
export function parseLbaRange(req: Request): number {
  const ns = req.ns!;
  const sqe = req.sqe;
  // Above 2^53 the number is inexact but certainly beyond any namespace; the error log gets the clamp.
  const slba = sqeSlba(sqe);
  const nlb = sqeBlockCount(sqe);
  const nsze = ns.nsze;
  if (slba >= nsze || nlb > nsze - slba) {
    req.errorLoc = SqeOff.Cdw10;
    req.errorLba = Math.min(slba, Number.MAX_SAFE_INTEGER);
    return NvmeStatus.LbaOutOfRange | STATUS_DNR;
  }
  req.offset = slba * ns.blockSize;
  req.length = nlb * ns.blockSize;
  return 0;
}

/** Transfers above MDTS are refused (Invalid Field), like a PCIe controller would. */
export function checkMdts(req: Request, len: number): number {
  const max = req.ctrl.mdtsBytes();
  if (max !== 0 && len > max) {
    req.errorLoc = SqeOff.Cdw12;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  return 0;
}
