/**
 * The core's seam for fault and latency injection (target/fault/ implements it;
 * the assembler target/create-nvmet.ts installs it as `Nvmet.faultHook`). The core
 * asks three times per command and knows nothing of rules:
 *
 * - `onArrival(req)` once `init` accepted the command, before its data moves: the
 *   hook may set arrival-time WireFault bits (core/fabrics-ops.ts) for the transport,
 *   or hold the request (`holdForFault`, an R2T never sent).
 * - `beforeExecute(req)` once the request is about to run. The hook may complete it
 *   itself (an injected status) and return true: the handler then never runs. Or it
 *   may leave a `CompletionFault` on `req.completionFault` to act when the handler
 *   completes.
 * - `CompletionFault.onComplete(req, status)` when the handler completes: change the
 *   data about to go to the host (a corrupted read), or hold the completion (return
 *   true) and later call `req.complete(status)` again — or never (the host's timeout
 *   path). A held request dropped by its transport calls `cancel(req)`.
 */

import type { Request } from './request.js';
import type { Controller } from './controller.js';

export interface CompletionFault {
  /** true = completion held: the hook calls `req.complete()` later (or never). */
  onComplete(req: Request, status: number): boolean;
  /** The transport released a held request (connection gone): forget it. */
  cancel(req: Request): void;
}

export interface FaultHook {
  /** A command was accepted (`init`), before any data moves: transport faults decided at arrival go on `req.wireFault`. */
  onArrival(req: Request): void;
  /** true = the hook completed `req` itself; do not run the handler. */
  beforeExecute(req: Request): boolean;
  /** Abort command: complete the held command `cid` of queue `sqid` with Command Abort Requested; false if none is held. */
  abort(ctrl: Controller, sqid: number, cid: number): boolean;
  /** Whether any rule could fire now (absent: assume so). Reactors serve nothing locally while it is true. */
  armed?(): boolean;
}
