/**
 * Abort (admin 08h). CDW10: SQID bits 15:00, CID bits 31:16. Completion dword 0
 * bit 0 = 0: the command was aborted, 1: it was not (NVMe Base 2.0, 5.1 Abort).
 *
 * Linux nvmet_execute_abort always answers "not aborted" (dw0 = 1), since nothing
 * it runs can be stopped. Here the commands a fault rule holds (delay, hang —
 * target/fault/) can: one matching SQID/CID on this controller completes with
 * Command Abort Requested (SCT 0, SC 07h), and the Abort reports dw0 bit 0 = 0.
 * Anything else (running backend I/O, a held AER) is "not aborted", as in Linux.
 */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import { sqeCdw10 } from '../../../src/nvme/sqe.js';

function executeAbort(req: Request): void {
  const cdw10 = sqeCdw10(req.sqe);
  const sqid = cdw10 & 0xffff;
  const cid = cdw10 >>> 16;
  const aborted = req.queue.port.nvmet.faultHook?.abort(req.ctrl, sqid, cid) ?? false;
  req.setResult(aborted ? 0 : 1);
  req.complete(0);
}

export const abort: Command = { name: 'Abort', execute: executeAbort };
