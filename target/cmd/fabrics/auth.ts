/**
 * Fabrics Authentication Send / Receive (Linux fabrics-cmd-auth.c nvmet_execute_auth_send /
 * nvmet_execute_auth_receive) and the authentication checks of Connect and of every other
 * command (auth.c nvmet_setup_auth, nvmet_check_auth_status).
 *
 * The DH-HMAC-CHAP state machine itself is src/nvme/auth/controller-session.ts; this file
 * moves its messages in and out of requests, runs the transaction timer and tears the
 * controller down on failure, as the kernel does.
 */

import { DataDir } from '../../core/fabrics-ops.js';
import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';
import type { Controller } from '../../core/controller.js';
import type { CoreQueueImpl, QueueAuth } from '../../core/queue.js';
import { AUTHREQ_ATR, FabricsOff, authLength, authSecp, authSpsp0, authSpsp1 } from '../../../src/nvme/fabrics.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { AUTH_SECP_DHCHAP, AUTH_SPSP0, AUTH_SPSP1, AUTH_FAILURE_NAMES } from '../../../src/nvme/auth/ids.js';
import { DhchapCtrlSession, type AuthStepResult } from '../../../src/nvme/auth/controller-session.js';
import type { Subsystem } from '../../core/subsystem.js';

/**
 * Largest Authentication Send/Receive payload: a Reply with two SHA-512 values and an
 * ffdhe8192 value is 16 + 128 + 1024 bytes; AUTH_Negotiate with one descriptor is 72.
 * Anything beyond 4 KiB is refused before a buffer is allocated.
 */
export const AUTH_MAX_PAYLOAD = 4096;

/**
 * Authentication transaction timeout, as Linux's nvmet_execute_auth_send (fabrics-cmd-auth.c,
 * 6.x): every Authentication Send that does not end the transaction (re)arms the queue's
 * auth_expired_work for `ctrl->kato ? ctrl->kato : 120` seconds (ctrl->kato is KATO rounded
 * up to whole seconds); Authentication Receive leaves it running; Success2 / a failure
 * cancels it. On expiry the queue returns to Negotiate (nvmet_auth_expired_work), so the
 * host's late message then fails the transaction. A host slower than its own KATO between
 * two Sends (a QEMU/TCG guest computing ffdhe8192, say) is failed, exactly as Linux fails
 * it; such a host needs a longer `nvme connect --keep-alive-tmo`.
 */
export const AUTH_DEFAULT_TIMEOUT_MS = 120_000;

/** The transaction timeout of a controller with this KATO (ms). */
export function authTransactionTimeoutMs(katoMs: number): number {
  return katoMs > 0 ? Math.ceil(katoMs / 1000) * 1000 : AUTH_DEFAULT_TIMEOUT_MS;
}


/**
 * nvmet_setup_auth at admin Connect: authentication is required when the host has a
 * DH-HMAC-CHAP key, except on the discovery subsystem and on a subsystem that allows any
 * host (both skipped by Linux too).
 */
export function setupAuth(ctrl: Controller, subsys: Subsystem): void {
  ctrl.dhchap = null;
  if (subsys.isDiscovery || subsys.allowAnyHost) return;
  const h = ctrl.port.nvmet.hostDhchap(ctrl.hostnqn);
  if (h === undefined) return;
  ctrl.dhchap = { ...h, hostnqn: ctrl.hostnqn, subnqn: subsys.nqn };
}

/** AUTHREQ of a Connect response on this controller (0 or ATR). */
export function connectAuthreq(ctrl: Controller): number {
  return ctrl.dhchap !== null ? AUTHREQ_ATR : 0;
}

/** nvmet_check_auth_status: false when the host must authenticate this queue first. */
export function authOk(req: Request): boolean {
  const q = req.queue;
  return q.authenticated || q.ctrl === null || q.ctrl.dhchap === null;
}

/** The status a command gets before authentication completed (NVME_SC_AUTH_REQUIRED | DNR). */
export const AUTH_REQUIRED_STATUS = NvmeStatus.AuthRequired | STATUS_DNR;

function checkSecurityFields(req: Request): number {
  const sqe = req.sqe;
  if (authSecp(sqe) !== AUTH_SECP_DHCHAP) {
    req.errorLoc = FabricsOff.AuthSecp;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  if (authSpsp0(sqe) !== AUTH_SPSP0) {
    req.errorLoc = FabricsOff.AuthSpsp0;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  if (authSpsp1(sqe) !== AUTH_SPSP1) {
    req.errorLoc = FabricsOff.AuthSpsp1;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  const len = authLength(sqe);
  if (len === 0 || len > AUTH_MAX_PAYLOAD) {
    req.errorLoc = FabricsOff.AuthLen;
    return NvmeStatus.InvalidField | STATUS_DNR;
  }
  return 0;
}

function parseAuthSend(req: Request): number {
  const st = checkSecurityFields(req);
  if (st !== 0) return st;
  req.dataDir = DataDir.H2C;
  req.transferLen = authLength(req.sqe);
  return 0;
}

function parseAuthReceive(req: Request): number {
  const st = checkSecurityFields(req);
  if (st !== 0) return st;
  req.dataDir = DataDir.C2H;
  req.transferLen = authLength(req.sqe);
  return 0;
}

/**
 * Parse of the commands that wait for authentication like any other but sit in a
 * table the authentication gate of the dispatcher does not cover (Property Get/Set).
 */
export function requireAuth(req: Request): number {
  return authOk(req) ? 0 : AUTH_REQUIRED_STATUS;
}

function queueAuth(q: CoreQueueImpl, ctrl: Controller): QueueAuth {
  if (q.dhchap !== null) return q.dhchap;
  const session = new DhchapCtrlSession(() => {
    // Re-authentication on the admin queue reloads the host's settings (nvmet_setup_auth
    // with reset); I/O queues use the controller's.
    if (q.qid === 0 && ctrl.dhchap !== null) {
      const h = ctrl.port.nvmet.hostDhchap(ctrl.hostnqn);
      if (h !== undefined) ctrl.dhchap = { ...h, hostnqn: ctrl.hostnqn, subnqn: ctrl.subsys.nqn };
    }
    return ctrl.dhchap!;
  }, q.qid);
  let timer: NodeJS.Timeout | null = null;
  const auth: QueueAuth & { arm(ms: number): void; disarm(): void } = {
    session,
    arm(ms: number) {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        ctrl.log.debug(`ctrl ${ctrl.cntlid} qid ${q.qid}: authentication transaction expired, resetting`);
        session.expire();
      }, ms);
      timer.unref();
    },
    disarm() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
    close() {
      this.disarm();
    },
  };
  q.dhchap = auth;
  return auth;
}

function finish(req: Request, ctrl: Controller, auth: QueueAuth, r: AuthStepResult, send: boolean): void {
  const a = auth as QueueAuth & { arm(ms: number): void; disarm(): void };
  req.queue.authenticated = auth.session.authenticated;
  // Linux arms the timer on Send only; a Receive mid-transaction leaves it running.
  if (!r.armTimer) a.disarm();
  else if (send) a.arm(authTransactionTimeoutMs(ctrl.kato));
  req.complete(0);
  if (r.fatal) {
    const why = AUTH_FAILURE_NAMES[auth.session.status] ?? `reason ${auth.session.status}`;
    // After the response is queued, as nvmet_ctrl_fatal_error defers to a work item.
    const detail = auth.session.detail;
    setImmediate(() => ctrl.fatalError(`qid ${req.queue.qid}: DH-HMAC-CHAP failed (${why}; ${detail})`));
  } else if (auth.session.authenticated && !r.armTimer) {
    ctrl.log.info(`ctrl ${ctrl.cntlid} qid ${req.queue.qid}: host ${ctrl.hostnqn} authenticated (DH-HMAC-CHAP ${auth.session.hash.hmac})`);
  }
}

/**
 * The queue's authentication state, or undefined after completing `req` with Invalid Field
 * when this host has no key here (Linux fails the Reply for want of a host key; nothing to
 * negotiate means the same outcome, earlier).
 */
function authOf(req: Request): QueueAuth | undefined {
  if (req.ctrl.dhchap !== null) return queueAuth(req.queue, req.ctrl);
  req.errorLoc = 0;
  req.complete(NvmeStatus.InvalidField | STATUS_DNR);
  return undefined;
}

function executeAuthSend(req: Request): void {
  const auth = authOf(req);
  if (auth === undefined) return;
  const r = auth.session.send(req.data!.subarray(0, req.transferLen));
  finish(req, req.ctrl, auth, r, true);
}

function executeAuthReceive(req: Request): void {
  const auth = authOf(req);
  if (auth === undefined) return;
  const out = auth.session.receive(req.transferLen);
  if (out === undefined) {
    req.errorLoc = FabricsOff.AuthLen;
    req.complete(NvmeStatus.InvalidField | STATUS_DNR);
    return;
  }
  const buf = req.data!;
  buf.fill(0, 0, req.transferLen);
  buf.set(out.data.subarray(0, Math.min(out.data.length, req.transferLen)), 0);
  finish(req, req.ctrl, auth, out.result, false);
}

export const authenticationSend: Command = { name: 'Authentication Send', parse: parseAuthSend, execute: executeAuthSend };
export const authenticationReceive: Command = { name: 'Authentication Receive', parse: parseAuthReceive, execute: executeAuthReceive };
