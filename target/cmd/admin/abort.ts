/** Abort (admin 08h; Linux nvmet_execute_abort). */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';

/**
 * Mandatory, but nothing we run can be usefully aborted: report "command not
 * aborted" (dword 0 bit 0) as Linux does.
 */
function executeAbort(req: Request): void {
  req.setResult(1);
  req.complete(0);
}

export const abort: Command = { name: 'Abort', execute: executeAbort };
