/**
 * In-band authentication of one host queue (DH-HMAC-CHAP), the way Linux's host runs it
 * after a Connect whose response has AUTHREQ.ATR set (drivers/nvme/host/auth.c
 * nvme_queue_auth_work): Authentication Send(Negotiate) → Receive(Challenge) →
 * Send(Reply) → Receive(Success1) → Send(Success2) when bidirectional. A failure the host
 * detects is sent to the controller as AUTH_Failure2 before giving up.
 */

import { FabricsType } from '../src/nvme/opcodes.js';
import { encodeAuthCommand, SQE_SIZE } from '../src/nvme/index.js';
import { AUTH_FAILURE_NAMES, AUTH_SECP_DHCHAP, AUTH_SPSP0, AUTH_SPSP1 } from '../src/nvme/auth/ids.js';
import { DhchapAuthError, DhchapHostSession, type DhchapHostConfig } from '../src/nvme/auth/host-session.js';
import type { FabricsQueue } from './fabrics-queue.js';
import { NvmeError } from './errors.js';

/** Receive buffer: the largest message (Challenge with SHA-512 and ffdhe8192) is 16 + 64 + 1024 bytes. */
const AUTH_RECEIVE_LEN = 4096;

/** Authentication failed; `rescodeExp` is the DH-HMAC-CHAP reason code explanation. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  constructor(
    readonly qid: number,
    readonly rescodeExp: number,
    /** True when the controller refused (AUTH_Failure1), false when the host did. */
    readonly byController: boolean,
    detail: string,
  ) {
    super(`qid ${qid}: DH-HMAC-CHAP ${AUTH_FAILURE_NAMES[rescodeExp] ?? `failure ${rescodeExp}`}: ${detail}`);
  }
}

/** One Authentication Send of a DH-HMAC-CHAP message (exported for tests that step a transaction). */
export async function authSend(q: FabricsQueue, qid: number, payload: Uint8Array, timeoutMs: number): Promise<void> {
  const sqe = encodeAuthCommand(new Uint8Array(SQE_SIZE), {
    cid: 0,
    fctype: FabricsType.AuthenticationSend,
    secp: AUTH_SECP_DHCHAP,
    spsp0: AUTH_SPSP0,
    spsp1: AUTH_SPSP1,
    length: payload.length,
  });
  const c = await q.submit({ sqe, dataOut: payload, timeoutMs });
  if (c.status !== 0) throw new NvmeError(c.status, { ...c, qid, opcode: 0x7f }, 'Authentication Send', 'fabrics');
}

/** One Authentication Receive; the message, cut to what the controller sent. */
export async function authReceive(q: FabricsQueue, qid: number, timeoutMs: number): Promise<Uint8Array> {
  const sqe = encodeAuthCommand(new Uint8Array(SQE_SIZE), {
    cid: 0,
    fctype: FabricsType.AuthenticationReceive,
    secp: AUTH_SECP_DHCHAP,
    spsp0: AUTH_SPSP0,
    spsp1: AUTH_SPSP1,
    length: AUTH_RECEIVE_LEN,
  });
  const buf = new Uint8Array(AUTH_RECEIVE_LEN);
  const c = await q.submit({ sqe, dataIn: buf, timeoutMs });
  if (c.status !== 0) throw new NvmeError(c.status, { ...c, qid, opcode: 0x7f }, 'Authentication Receive', 'fabrics');
  // Transports that do not count C2H bytes hand over the whole buffer; the message says its own length.
  return buf.subarray(0, c.dataLen ?? buf.length);
}

/** Transaction ids: one per authentication, like the host's ctrl->transaction counter. */
let transaction = 0;

/** Authenticate `q` (qid `qid`); resolves when the controller accepted the host (and, bidirectional, vice versa). */
export async function authenticateQueue(q: FabricsQueue, qid: number, cfg: DhchapHostConfig, timeoutMs: number): Promise<{ hashId: number; dhGroupId: number }> {
  transaction = (transaction + 1) & 0xffff;
  const s = new DhchapHostSession(cfg, transaction);
  await authSend(q, qid, s.negotiate(), timeoutMs);
  const step = async <T>(f: () => T): Promise<T> => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof DhchapAuthError)) throw e;
      if (!e.sentByController) await authSend(q, qid, s.failure2(e.rescodeExp), timeoutMs).catch(() => undefined);
      throw new AuthenticationError(qid, e.rescodeExp, e.sentByController, e.message);
    }
  };
  const challenge = await authReceive(q, qid, timeoutMs);
  const reply = await step(() => s.reply(challenge));
  await authSend(q, qid, reply, timeoutMs);
  const success1 = await authReceive(q, qid, timeoutMs);
  const success2 = await step(() => s.success1(success1));
  if (success2 !== undefined) await authSend(q, qid, success2, timeoutMs);
  return { hashId: s.hashId, dhGroupId: s.dhGroupId };
}
