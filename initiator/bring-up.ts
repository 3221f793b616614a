/**
 * The fabrics bring-up steps of a host, written once over `FabricsQueue`: what
 * Linux's `nvmf_connect_admin_queue` / `nvmf_connect_io_queue`, `nvmf_reg_read*` /
 * `nvmf_reg_write32`, `nvme_enable_ctrl` / `nvme_wait_ready` and
 * `nvme_shutdown_ctrl` do for every transport. `HostController` strings them
 * together; the loop host (target/loop/host.ts) calls them one by one so its
 * tests can stop between steps.
 */
import { FABRICS_OPCODE } from '../src/nvme/opcodes.js';
import { SQE_SIZE } from '../src/nvme/sqe.js';
import {
  AUTHREQ_ATR,
  connectResultAuthreq,
  connectResultCntlid,
  encodeConnectCommand,
  encodeConnectData,
  encodePropertyGet,
  encodePropertySet,
  uuidToBytes,
} from '../src/nvme/fabrics.js';
import { CSTS_CFS, CSTS_RDY, CSTS_SHST_SHIFT, CcCss, Reg, Shn, Shst, capMqes, capTimeout, decodeCap, encodeCc } from '../src/nvme/registers.js';
import type { StatusContext } from '../src/nvme/status.js';
import { NvmeError, TimeoutError, TransportError } from './errors.js';
import type { FabricsQueue, QueueCommand, QueueCompletion } from './fabrics-queue.js';
import { AuthenticationError, authenticateQueue } from './authenticate.js';
import { AuthFailure } from '../src/nvme/auth/ids.js';
import type { DhchapHostConfig } from '../src/nvme/auth/host-session.js';

/** What a Fabrics Connect command and its data carry. */
export interface ConnectParams {
  qid: number;
  /** 0's based SQ size. */
  sqsize: number;
  /** Keep Alive Timeout, ms (admin queue only; 0 = none). */
  kato: number;
  /** Connect attributes (e.g. CATTR_DISABLE_SQ_FLOW). */
  cattr?: number;
  /** Record format (0 is the only one defined). */
  recfmt?: number;
  /** 0xFFFF (dynamic) on the admin queue; the admin Connect's CNTLID on I/O queues. */
  cntlid: number;
  /** Host identifier, a UUID string. */
  hostid: string;
  hostnqn: string;
  subnqn: string;
  timeoutMs?: number;
  /** DH-HMAC-CHAP settings; the queue authenticates when the controller asks (AUTHREQ.ATR). */
  auth?: DhchapHostConfig | undefined;
}

/** Send Fabrics Connect on a fresh queue; the completion comes back whatever its status. */
export function sendConnect<R extends QueueCompletion>(q: FabricsQueue<R>, p: ConnectParams): Promise<R> {
  const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), {
    qid: p.qid,
    sqsize: p.sqsize,
    cattr: p.cattr ?? 0,
    recfmt: p.recfmt ?? 0,
    kato: p.kato,
  });
  const data = encodeConnectData({ hostId: uuidToBytes(p.hostid), cntlid: p.cntlid, subnqn: p.subnqn, hostnqn: p.hostnqn });
  const cmd: QueueCommand = { sqe, dataOut: data };
  if (p.timeoutMs !== undefined) cmd.timeoutMs = p.timeoutMs;
  return q.submit(cmd);
}

/**
 * Connect `q` as queue `p.qid`, then DH-HMAC-CHAP when the controller asks for it
 * (AUTHREQ.ATR) — as Linux's nvmf_connect_{admin,io}_queue. Sets `q.qid` and
 * resolves with the CNTLID; NvmeError for a refused Connect. A controller that does
 * not ask although the host wants bidirectional authentication is refused: the host
 * could not authenticate it.
 */
export async function connectQueue(q: FabricsQueue, p: ConnectParams): Promise<number> {
  const c = await sendConnect(q, p);
  if (c.status !== 0) {
    throw new NvmeError(c.status, { ...c, qid: p.qid, opcode: FABRICS_OPCODE }, `Connect qid ${p.qid} to ${p.subnqn}`, 'fabrics');
  }
  // The queue carries commands once Connect completed: its qid must be known for them.
  q.qid = p.qid;
  const atr = (connectResultAuthreq(c.dw0) & AUTHREQ_ATR) !== 0;
  if (atr) {
    if (p.auth === undefined) throw new AuthenticationError(p.qid, AuthFailure.Failed, false, 'the controller requires authentication and no DH-HMAC-CHAP secret is set');
    await authenticateQueue(q, p.qid, p.auth, p.timeoutMs ?? 5000);
  } else if (p.auth?.ctrlKey !== undefined) {
    throw new AuthenticationError(p.qid, AuthFailure.Failed, false, 'bidirectional authentication requested but the controller does not authenticate');
  }
  return connectResultCntlid(c.dw0);
}

/**
 * Submit and insist on success: NvmeError for a non-zero status, and a protocol
 * error when a transport that counts C2H bytes got fewer than asked (stale bytes
 * must never be handed over as data).
 */
export async function submitChecked<R extends QueueCompletion>(
  q: FabricsQueue<R>,
  what: string,
  cmd: QueueCommand,
  ctx: StatusContext,
): Promise<R> {
  const c = await q.submit(cmd);
  if (c.status !== 0) throw new NvmeError(c.status, { ...c, qid: q.qid, opcode: cmd.sqe[0]! }, what, ctx);
  const want = cmd.dataIn?.length ?? 0;
  if (c.dataLen !== undefined && c.dataLen !== want) {
    throw new TransportError('protocol', `${what} on ${q.describe()} succeeded with ${c.dataLen} of ${want} data bytes`);
  }
  return c;
}

/** Which status context a command's opcode belongs to, for messages. */
export function adminContext(sqe: Uint8Array): StatusContext {
  return sqe[0] === FABRICS_OPCODE ? 'fabrics' : 'admin';
}

function withTimeout(cmd: QueueCommand, timeoutMs: number | undefined): QueueCommand {
  if (timeoutMs !== undefined) cmd.timeoutMs = timeoutMs;
  return cmd;
}

/** Fabrics Property Get on the admin queue; 8-byte properties come back whole. */
export async function propertyGet(admin: FabricsQueue, offset: number, size: 4 | 8, timeoutMs?: number): Promise<bigint> {
  const sqe = encodePropertyGet(new Uint8Array(SQE_SIZE), 0, offset, size);
  const c = await submitChecked(admin, `Property Get 0x${offset.toString(16)}`, withTimeout({ sqe }, timeoutMs), 'fabrics');
  const v = (BigInt(c.dw1 >>> 0) << 32n) | BigInt(c.dw0 >>> 0);
  return size === 4 ? v & 0xffff_ffffn : v;
}

/** Fabrics Property Set on the admin queue. */
export async function propertySet(admin: FabricsQueue, offset: number, size: 4 | 8, value: number | bigint, timeoutMs?: number): Promise<void> {
  const sqe = encodePropertySet(new Uint8Array(SQE_SIZE), 0, offset, size, value);
  await submitChecked(admin, `Property Set 0x${offset.toString(16)}`, withTimeout({ sqe }, timeoutMs), 'fabrics');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long to wait for CSTS.RDY / SHST: CAP.TO (500 ms units), kept within [0.5 s, 15 s]. */
export function readyTimeoutMs(cap: bigint): number {
  return Math.min(15_000, Math.max(500, capTimeout(cap) * 500));
}

/** Poll CSTS until `ok` (backing off 1 → 50 ms); CSTS.CFS or `ms` running out fail. */
export async function waitCsts(admin: FabricsQueue, ok: (csts: number) => boolean, what: string, ms: number, timeoutMs?: number): Promise<number> {
  const deadline = performance.now() + ms;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const csts = Number(await propertyGet(admin, Reg.Csts, 4, timeoutMs));
    if ((csts & CSTS_CFS) !== 0) throw new TransportError('protocol', `controller fatal status (CSTS.CFS) while waiting for ${what}`);
    if (ok(csts)) return csts;
    if (performance.now() >= deadline) throw new TimeoutError(`waiting for ${what} (CSTS 0x${csts.toString(16)})`, ms);
    await sleep(delay);
  }
}

/** CC with EN=1, 64/16-byte entries and the command set CAP.CSS offers (0 when CAP was not read: NVM). */
export function enableCc(cap: bigint): number {
  const css = decodeCap(cap).css;
  // CAP.CSS bit 6: I/O command set independent features (CC.CSS 110b); bit 7: admin only.
  const ccCss = (css & 0x40) !== 0 ? CcCss.AllIo : (css & 0x01) !== 0 ? CcCss.Nvm : (css & 0x80) !== 0 ? CcCss.AdminOnly : CcCss.Nvm;
  return encodeCc({ en: true, css: ccCss, mps: 0, ams: 0, shn: Shn.None, iosqes: 6, iocqes: 4 });
}

/** CC.EN=1 (see enableCc), then wait for CSTS.RDY. */
export async function enableController(admin: FabricsQueue, cap: bigint, readyMs: number): Promise<void> {
  await propertySet(admin, Reg.Cc, 4, enableCc(cap));
  await waitCsts(admin, (csts) => (csts & CSTS_RDY) !== 0, 'CSTS.RDY=1', readyMs);
}

/** CC.SHN=normal, then wait for CSTS.SHST=complete; every command bounded by `timeoutMs`. */
export async function shutdownController(admin: FabricsQueue, readyMs: number, timeoutMs: number): Promise<void> {
  const cc = Number(await propertyGet(admin, Reg.Cc, 4, timeoutMs));
  await propertySet(admin, Reg.Cc, 4, (cc & ~(3 << 14)) | (Shn.Normal << 14), timeoutMs);
  await waitCsts(admin, (csts) => ((csts >>> CSTS_SHST_SHIFT) & 3) === Shst.Complete, 'CSTS.SHST=complete', readyMs, timeoutMs);
}

/** I/O queue depth: what was asked, within CAP.MQES and Identify MAXCMD (an SQ of N entries holds N − 1). */
export function ioQueueDepth(want: number, cap: bigint, maxcmd: number): number {
  const mqes = capMqes(cap);
  let depth = Math.min(want, mqes > 0 ? mqes : 0xffff);
  if (maxcmd > 1) depth = Math.min(depth, maxcmd - 1);
  return Math.max(1, depth);
}
