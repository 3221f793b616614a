/**
 * DH-HMAC-CHAP over NVMe/TCP with real sockets: the TypeScript initiator against the
 * in-process target. Connect's AUTHREQ.ATR, Authentication Send/Receive on the admin and
 * every I/O queue, uni/bidirectional, each hash, two DH groups, failure reason codes,
 * re-authentication with a changed key, and commands refused before authentication
 * (nvmet_check_auth_status: Authentication Required, DNR).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import { AuthenticationError, authReceive, authSend } from '../../initiator/authenticate.js';
import { HostQueue } from '../../initiator/host-queue.js';
import { encodeConnectCommand, encodeConnectData, uuidToBytes, connectResultAuthreq, AUTHREQ_ATR, CNTLID_DYNAMIC } from '../../src/nvme/fabrics.js';
import { encodeSqe, SQE_SIZE } from '../../src/nvme/sqe.js';
import { AdminOpcode } from '../../src/nvme/opcodes.js';
import { NvmeStatus, statusCode, STATUS_DNR } from '../../src/nvme/status.js';
import { encodePropertyGet } from '../../src/nvme/fabrics.js';
import { Reg } from '../../src/nvme/registers.js';
import { AuthFailure, authHashByName, dhGroupByName, formatDhchapSecret, parseDhchapSecret } from '../../src/nvme/auth/index.js';
import { DhchapHostSession } from '../../src/nvme/auth/host-session.js';
import { decodeFailure, encodeNegotiate } from '../../src/nvme/auth/messages.js';
import type { DhchapHostSettings } from '../../src/nvme/auth/index.js';
import { startTarget, until, SUBNQN, HOSTNQN, HOSTID, pattern } from './harness.js';
import type { TestTarget } from './harness.js';

const key = (hash: 0 | 1 | 2 | 3, len: 32 | 48 | 64, seed: number): string =>
  formatDhchapSecret({ hash, key: Uint8Array.from({ length: len }, (_, i) => (i * 31 + seed) & 0xff) });
const HOST_SECRET = key(1, 32, 7);
const CTRL_SECRET = key(2, 48, 9);

let t: TestTarget | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

async function authTarget(s: { hash?: string; dhgroup?: string; ctrl?: boolean; hostSecret?: string } = {}): Promise<TestTarget> {
  const target = await startTarget({ allowAnyHost: false, allowedHosts: [HOSTNQN] });
  const settings: DhchapHostSettings = {
    hostKey: parseDhchapSecret(s.hostSecret ?? HOST_SECRET),
    ctrlKey: s.ctrl === true ? parseDhchapSecret(CTRL_SECRET) : undefined,
    hash: authHashByName(s.hash ?? 'hmac(sha256)')!,
    dhGroup: dhGroupByName(s.dhgroup ?? 'null')!,
  };
  target.nvmet.addHost(HOSTNQN);
  target.nvmet.setHostDhchap(HOSTNQN, settings);
  return target;
}

const base = () => ({ host: t!.host, port: t!.tcpPort, subnqn: SUBNQN, hostnqn: HOSTNQN, hostid: HOSTID, queues: 2, queueDepth: 8 });

async function verifiedIo(c: Awaited<ReturnType<typeof connect>>): Promise<void> {
  const data = pattern(8 * 512, 42);
  await c.write(1, 16, data);
  expect(Buffer.from(await c.read(1, 16, 8)).equals(Buffer.from(data))).toBe(true);
}

describe('DH-HMAC-CHAP', () => {
  for (const hash of ['hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)']) {
    for (const dhgroup of ['ffdhe2048', 'ffdhe3072']) {
      for (const ctrl of [false, true]) {
        test(`${hash} ${dhgroup} ${ctrl ? 'bidirectional' : 'unidirectional'}: admin and I/O queues authenticate, I/O works`, async () => {
          t = await authTarget({ hash, dhgroup, ctrl });
          const c = await connect({ ...base(), dhchapSecret: HOST_SECRET, ...(ctrl ? { dhchapCtrlSecret: CTRL_SECRET } : {}) });
          try {
            await verifiedIo(c);
            const ctl = t.subsys.getController(c.cntlid)!;
            expect(ctl.queues.filter((q) => q !== undefined).every((q) => q!.authenticated)).toBe(true);
          } finally {
            await c.close();
          }
        });
      }
    }
  }

  test('null DH group works', async () => {
    t = await authTarget({ dhgroup: 'null' });
    const c = await connect({ ...base(), dhchapSecret: HOST_SECRET });
    await verifiedIo(c);
    await c.close();
  });

  test('wrong host key: AUTH_Failure1 "failed", the controller is torn down', async () => {
    t = await authTarget();
    const err = await connect({ ...base(), dhchapSecret: key(1, 32, 8) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).rescodeExp).toBe(AuthFailure.Failed);
    expect((err as AuthenticationError).byController).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.subsys.controllers.length).toBe(0);
  });

  test('wrong controller key: the host refuses the controller (Failure2)', async () => {
    t = await authTarget({ ctrl: true });
    const err = await connect({ ...base(), dhchapSecret: HOST_SECRET, dhchapCtrlSecret: key(2, 48, 10) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).byController).toBe(false);
    expect((err as AuthenticationError).rescodeExp).toBe(AuthFailure.Failed);
  });

  test('configured DH group the host does not offer: DH group unusable', async () => {
    t = await authTarget({ dhgroup: 'ffdhe4096' });
    const err = await connect({ ...base(), dhchapSecret: HOST_SECRET, dhchapDhGroupIds: [0, 1] }).catch((e: unknown) => e);
    expect((err as AuthenticationError).rescodeExp).toBe(AuthFailure.DhgroupUnusable);
  });

  test('a host without a secret cannot use a controller that requires authentication', async () => {
    t = await authTarget();
    const err = await connect(base()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
  });

  test('commands before authentication: Authentication Required (DNR) on admin and I/O queues', async () => {
    t = await authTarget();
    const q = await HostQueue.open({ host: t.host, port: t.tcpPort });
    try {
      const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid: 0, sqsize: 31, kato: 0 });
      const data = encodeConnectData({ hostId: uuidToBytes(HOSTID), cntlid: CNTLID_DYNAMIC, subnqn: SUBNQN, hostnqn: HOSTNQN });
      const c = await q.submit({ sqe, dataOut: data });
      expect(c.status).toBe(0);
      expect(connectResultAuthreq(c.dw0) & AUTHREQ_ATR).toBe(AUTHREQ_ATR);
      q.qid = 0;
      const id = new Uint8Array(SQE_SIZE);
      encodeSqe(id, { opcode: AdminOpcode.Identify });
      id[40] = 1;
      const r = await q.submit({ sqe: id, dataIn: new Uint8Array(4096) });
      expect(r.status).toBe(NvmeStatus.AuthRequired | STATUS_DNR);
      const pg = await q.submit({ sqe: encodePropertyGet(new Uint8Array(SQE_SIZE), 0, Reg.Cap, 8) });
      expect(statusCode(pg.status)).toBe(NvmeStatus.AuthRequired);
    } finally {
      q.close('test');
    }
  });

  test('re-authentication: the host re-runs it on every queue; a changed key applies to it', async () => {
    t = await authTarget({ dhgroup: 'ffdhe2048', ctrl: true });
    const c = await connect({ ...base(), dhchapSecret: HOST_SECRET, dhchapCtrlSecret: CTRL_SECRET });
    try {
      await c.reauthenticate();
      await verifiedIo(c);
      // The operator rotates the host key; the old one no longer authenticates.
      const next = key(3, 64, 11);
      t.nvmet.setHostDhchap(HOSTNQN, { hostKey: parseDhchapSecret(next), ctrlKey: parseDhchapSecret(CTRL_SECRET), hash: authHashByName('hmac(sha256)')!, dhGroup: dhGroupByName('ffdhe2048')! });
      const err = await c.reauthenticate().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).rescodeExp).toBe(AuthFailure.Failed);
    } finally {
      c.abort();
    }
    const c2 = await connect({ ...base(), dhchapSecret: key(3, 64, 11), dhchapCtrlSecret: CTRL_SECRET });
    await c2.reauthenticate();
    await verifiedIo(c2);
    await c2.close();
  });

  /** A raw admin queue after a Connect with this KATO that asked for authentication. */
  async function connectedAdminQueue(katoMs: number): Promise<HostQueue> {
    const q = await HostQueue.open({ host: t!.host, port: t!.tcpPort });
    const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid: 0, sqsize: 31, kato: katoMs });
    const data = encodeConnectData({ hostId: uuidToBytes(HOSTID), cntlid: CNTLID_DYNAMIC, subnqn: SUBNQN, hostnqn: HOSTNQN });
    const c = await q.submit({ sqe, dataOut: data });
    expect(c.status).toBe(0);
    expect(connectResultAuthreq(c.dw0) & AUTHREQ_ATR).toBe(AUTHREQ_ATR);
    q.qid = 0;
    return q;
  }
  const controllers = (): number => t!.subsys.controllers.length;

  test('transaction timeout = KATO, as Linux (nvmet_execute_auth_send: kato ? kato : 120 s): a Reply later than KATO fails, one within passes', async () => {
    t = await authTarget();
    for (const [katoMs, late] of [[2000, true], [5000, false]] as const) {
      const q = await connectedAdminQueue(katoMs);
      try {
        const s = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey: parseDhchapSecret(HOST_SECRET) }, 77);
        await authSend(q, 0, s.negotiate(), 5000);
        const challenge = await authReceive(q, 0, 5000);
        // 2.4 s after the Negotiate: past a 2 s KATO (the transaction went back to Negotiate,
        // so the Reply is an unexpected message and fails the controller), within a 5 s one.
        // The keep-alive timer cannot be the cause: the auth traffic keeps it alive to 4 s.
        await new Promise((r) => setTimeout(r, 2400));
        const reply = s.reply(challenge);
        if (late) {
          await authSend(q, 0, reply, 5000).catch(() => undefined);
          await until(() => controllers() === 0, 1000, 'controller torn down by the late Reply');
        } else {
          await authSend(q, 0, reply, 5000);
          expect(s.success1(await authReceive(q, 0, 5000))).toBeUndefined();
          expect(controllers()).toBe(1);
        }
      } finally {
        q.close('test');
      }
      await until(() => controllers() === 0, 3000, 'controller gone');
    }
  });

  test('secure channel concatenation asked for (SC_C NEWTLSPSK): Failure1 "concatenation mismatch", never a plain session', async () => {
    t = await authTarget();
    const q = await connectedAdminQueue(0);
    try {
      await authSend(q, 0, encodeNegotiate({ tid: 5, scC: 1, hashIds: [1, 2, 3], dhGroupIds: [0, 1, 2] }), 5000);
      const f = decodeFailure(await authReceive(q, 0, 5000));
      expect(f.rescodeExp).toBe(AuthFailure.ConcatMismatch);
      await until(() => controllers() === 0, 2000, 'controller torn down');
    } finally {
      q.close('test');
    }
  });

  test('unknown security protocol or zero length: Invalid Field', async () => {
    t = await authTarget();
    const q = await HostQueue.open({ host: t.host, port: t.tcpPort });
    try {
      const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid: 0, sqsize: 31, kato: 0 });
      const data = encodeConnectData({ hostId: uuidToBytes(HOSTID), cntlid: CNTLID_DYNAMIC, subnqn: SUBNQN, hostnqn: HOSTNQN });
      expect((await q.submit({ sqe, dataOut: data })).status).toBe(0);
      q.qid = 0;
      const send = new Uint8Array(SQE_SIZE);
      encodeSqe(send, { opcode: 0x7f });
      send[4] = 0x05;
      send[41] = 1;
      send[42] = 1;
      send[43] = 0xea;
      send[44] = 8;
      const r = await q.submit({ sqe: send, dataOut: new Uint8Array(8) });
      expect(statusCode(r.status)).toBe(NvmeStatus.InvalidField);
      expect(r.status & STATUS_DNR).toBe(STATUS_DNR);
      send[43] = 0xe9;
      send[44] = 0;
      const z = await q.submit({ sqe: send });
      expect(statusCode(z.status)).toBe(NvmeStatus.InvalidField);
    } finally {
      q.close('test');
    }
  });
});

test('no key configured for the host: no AUTHREQ, a host with only a host secret proceeds (Linux)', async () => {
  t = await startTarget({ allowAnyHost: false, allowedHosts: [HOSTNQN] });
  const c = await connect({ ...base(), dhchapSecret: HOST_SECRET });
  await verifiedIo(c);
  await c.close();
  // Asking to authenticate the controller where it does not authenticate is refused.
  const err = await connect({ ...base(), dhchapSecret: HOST_SECRET, dhchapCtrlSecret: CTRL_SECRET }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AuthenticationError);
});
