/**
 * I/O command parsing (Linux core.c nvmet_parse_io_cmd + io-cmd-*.c parse):
 * controller ready, namespace active, LBA range inside the namespace (LBA Out
 * of Range, per spec), transfer within MDTS. Computes the data direction and
 * length from the command; the staging buffer is filled/consumed by the transport.
 */

import { DataDir } from '../../core/fabrics-ops.js';
import type { Request } from '../../core/request.js';
import { FABRICS_OPCODE, IoOpcode } from '../../../src/nvme/opcodes.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { rd16, rd32 } from '../../../src/nvme/le.js';
import { parseFabricsIoCmd } from '../fabrics/parse.js';
import { AUTH_REQUIRED_STATUS, authOk } from '../fabrics/auth.js';
import { executeDsm, executeFlush, executeRead, executeWrite, executeWriteZeroes } from './read-write.js';

const NSID_LOC = 4;
const SLBA_LOC = 40;
const NLB_LOC = 48;
/** Dataset Management range entries are 16 bytes, at most 256 of them. */
export const DSM_RANGE_SIZE = 16;

/** Check SLBA/NLB of Read, Write and Write Zeroes against the namespace; sets offset/length. */
function parseLbaRange(req: Request): number {
  const ns = req.ns!;
  const sqe = req.sqe;
  const lo = rd32(sqe, SLBA_LOC);
  const hi = rd32(sqe, SLBA_LOC + 4);
  const nlb = rd16(sqe, NLB_LOC) + 1;
  const nsze = ns.nsze;
  // hi ≥ 2^21 puts SLBA above 2^53: certainly beyond any namespace.
  const slba = hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
  if (slba >= nsze || nlb > nsze - slba) {
    req.errorLoc = SLBA_LOC;
    req.errorLba = Math.min(slba, Number.MAX_SAFE_INTEGER);
    return NvmeStatus.LbaOutOfRange | STATUS_DNR;
  }
  req.offset = slba * ns.blockSize;
  req.length = nlb * ns.blockSize;
  return 0;
}

/** Transfers above MDTS are refused (Invalid Field), like a PCIe controller would. */
function checkMdts(req: Request, len: number): number {
  const max = req.ctrl.mdtsBytes();
  if (max !== 0 && len > max) {
    req.errorLoc = NLB_LOC;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  return 0;
}

export function parseIoCmd(req: Request): number {
  const op = req.opcode;
  if (op === FABRICS_OPCODE) return parseFabricsIoCmd(req);
  if (!authOk(req)) return AUTH_REQUIRED_STATUS;
  const ctrl = req.ctrl;
  if (!ctrl.isReady()) {
    req.errorLoc = 0;
    return NvmeStatus.CommandSequenceError | STATUS_DNR;
  }
  const ns = ctrl.subsys.findNamespaceRef(rd32(req.sqe, NSID_LOC));
  if (ns === null) {
    req.errorLoc = NSID_LOC;
    return NvmeStatus.InvalidNs | STATUS_DNR;
  }
  req.ns = ns;
  let st: number;
  switch (op) {
    case IoOpcode.Read:
    case IoOpcode.Write:
      st = parseLbaRange(req);
      if (st !== 0) return st;
      st = checkMdts(req, req.length);
      if (st !== 0) return st;
      req.transferLen = req.length;
      if (op === IoOpcode.Read) {
        req.dataDir = DataDir.C2H;
        req.executeFn = executeRead;
      } else {
        req.dataDir = DataDir.H2C;
        req.executeFn = executeWrite;
      }
      return 0;
    case IoOpcode.Flush:
      req.executeFn = executeFlush;
      return 0;
    case IoOpcode.WriteZeroes:
      st = parseLbaRange(req);
      if (st !== 0) return st;
      req.executeFn = executeWriteZeroes;
      return 0;
    case IoOpcode.DatasetManagement: {
      const nr = req.sqe[40]! + 1;
      req.aux = nr;
      req.dataDir = DataDir.H2C;
      req.transferLen = nr * DSM_RANGE_SIZE;
      req.executeFn = executeDsm;
      return 0;
    }
    default:
      req.errorLoc = 0;
      return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
}
