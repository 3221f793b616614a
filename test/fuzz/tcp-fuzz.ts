/**
 * Hostile-peer fuzzing of the NVMe/TCP port: a seeded generator drives many
 * short connections that send mutated PDUs (PDU framer, ICReq, capsules, H2CData,
 * TermReq) and, after a real ICReq + Connect, random admin and I/O commands (the
 * command parsers), while a bystander controller on another subsystem does
 * verified write/read I/O that must keep working. At the end every hostile
 * connection must be gone and every staging byte returned.
 *
 * Used by test/tcp/fuzz.test.ts (a few seconds in `npm test`) and by
 * `npm run fuzz -- --seconds 600 [--seed N]` for longer runs.
 */

import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect } from '../../initiator/index.js';
import type { Controller } from '../../initiator/index.js';
import { xorshift32 } from '../../src/stats/xorshift.js';
import { encodeConnectCommand, encodeConnectData, encodePropertySet, uuidToBytes } from '../../src/nvme/fabrics.js';
import { writeInCapsuleSgl, writeTcpTransportSgl } from '../../src/nvme/sgl.js';
import { Hlen, PduType } from '../../src/tcp/constants.js';
import { writeCommonHeader } from '../../src/tcp/header.js';
import { encodeICReq } from '../../src/tcp/ic.js';
import { startTarget, SUBNQN, HOSTNQN, HOSTID, pattern } from '../integration/harness.js';
import type { TestTarget } from '../integration/harness.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import type { TcpTransport } from '../../target/tcp/index.js';

/** The hostile hosts' subsystem; the bystander's (SUBNQN) is out of their reach. */
export const FUZZ_NQN = 'nqn.2024-01.io.nvmet-ts:fuzz';

export interface FuzzOptions {
  seconds: number;
  seed: number;
  /** Hostile connections open at once. */
  parallel?: number;
  log?: (m: string) => void;
}

export interface FuzzResult {
  seed: number;
  connections: number;
  bytesSent: number;
  /** Hostile connections the target closed (TermReq, timeout, error) before the fuzzer did. */
  closedByTarget: number;
  bystanderOps: number;
  /** CapsuleResps the hostile hosts got (their commands reached the command parsers). */
  responses: number;
  /** Staging bytes still held after all hostile connections were gone (must be 0). */
  leakedStaging: number;
  /** Connections still open on the port after the hostile ones closed (must be 1 + bystander's). */
  connectionsLeft: number;
}

export type Rng = () => number;

function int(r: Rng, n: number): number {
  return r() % n;
}
function chance(r: Rng, p: number): boolean {
  return r() / 0x1_0000_0000 < p;
}
function bytes(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r() & 0xff;
  return b;
}
function pick<T>(r: Rng, a: readonly T[]): T {
  return a[int(r, a.length)]!;
}

export function icreq(r: Rng, valid: boolean): Buffer {
  const b = Buffer.alloc(Hlen.ICReq);
  encodeICReq(b, 0, { pfv: 0, hpda: 0, hdgst: false, ddgst: false, maxr2t: int(r, 4) });
  if (!valid) mutate(r, b, 1 + int(r, 4));
  return b;
}

/** Flip a few random bytes, biased towards the common header. */
function mutate(r: Rng, b: Buffer, n: number): void {
  for (let i = 0; i < n && b.length > 0; i++) {
    const at = chance(r, 0.6) ? int(r, Math.min(8, b.length)) : int(r, b.length);
    b[at] = chance(r, 0.5) ? r() & 0xff : b[at]! ^ (1 << int(r, 8));
  }
}

/** A capsule of `sqe` with `data` in the capsule (or none). */
export function capsule(sqe: Buffer, data: Buffer | null): Buffer {
  const dl = data?.length ?? 0;
  const b = Buffer.alloc(Hlen.CapsuleCmd + dl);
  writeCommonHeader(b, 0, PduType.CapsuleCmd, 0, Hlen.CapsuleCmd, dl > 0 ? Hlen.CapsuleCmd : 0, b.length);
  sqe.copy(b, 8);
  if (data !== null) data.copy(b, Hlen.CapsuleCmd);
  return b;
}

function h2cData(r: Rng, cid: number, ttag: number, off: number, len: number): Buffer {
  const b = Buffer.alloc(Hlen.Data + len);
  writeCommonHeader(b, 0, PduType.H2CData, chance(r, 0.8) ? 0x04 : 0, Hlen.Data, Hlen.Data, b.length);
  b.writeUInt16LE(cid, 8);
  b.writeUInt16LE(ttag, 10);
  b.writeUInt32LE(off, 12);
  b.writeUInt32LE(len, 16);
  return b;
}

export function connectCapsule(qid: number, sqsize: number, cntlid: number, cid: number, subnqn = FUZZ_NQN, kato = qid === 0 ? 5000 : 0): Buffer {
  const sqe = Buffer.alloc(64);
  encodeConnectCommand(sqe, { qid, sqsize, cid, kato });
  sqe[1] = 0x40; // PSDT: SGL (fabrics)
  writeInCapsuleSgl(sqe.subarray(24, 40), 1024);
  const data = Buffer.from(encodeConnectData({ hostId: uuidToBytes(HOSTID), cntlid, subnqn, hostnqn: HOSTNQN }));
  return capsule(sqe, data);
}

/** Property Set CC = EN | IOSQES 6 | IOCQES 4: I/O queues may connect after it. */
export function enableCapsule(cid: number): Buffer {
  const sqe = Buffer.alloc(64);
  encodePropertySet(sqe, cid, 0x14, 4, 0x0046_0001);
  sqe[1] = 0x40;
  return capsule(sqe, null);
}

const ADMIN_OPCODES = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x10, 0x11, 0x15, 0x18, 0x19, 0x80, 0x81, 0x82, 0x84, 0x7c, 0x7f, 0xc0, 0xff];
const IO_OPCODES = [0x00, 0x01, 0x02, 0x04, 0x05, 0x08, 0x09, 0x0c, 0x0d, 0x0e, 0x11, 0x15, 0x7f, 0x80, 0xff];

/** A random command: opcode from the set, random nsid / CDWs / SGL, sometimes in-capsule data. */
function randomCommand(r: Rng, opcodes: readonly number[], cid: number, inlineMax: number): Buffer {
  const sqe = chance(r, 0.1) ? bytes(r, 64) : Buffer.alloc(64);
  sqe[0] = pick(r, opcodes);
  sqe[1] = chance(r, 0.9) ? 0x40 : r() & 0xff; // PSDT SGL, or anything
  sqe.writeUInt16LE(cid, 2);
  sqe.writeUInt32LE(pick(r, [1, 1, 1, 2, 0, 0xffffffff, r()]), 4);
  for (let dw = 10; dw <= 15; dw++) if (chance(r, 0.5)) sqe.writeUInt32LE(chance(r, 0.5) ? int(r, 64) : r(), dw * 4);
  let data: Buffer | null = null;
  const kind = int(r, 4);
  if (kind === 0) {
    const len = int(r, inlineMax + 64);
    writeInCapsuleSgl(sqe.subarray(24, 40), len);
    if (chance(r, 0.8)) data = bytes(r, Math.min(len, inlineMax + 32));
  } else if (kind === 1) {
    writeTcpTransportSgl(sqe.subarray(24, 40), chance(r, 0.7) ? 512 * (1 + int(r, 64)) : r());
  } else if (kind === 2) {
    sqe.set(bytes(r, 16), 24);
  }
  const b = capsule(sqe, data);
  if (chance(r, 0.05)) mutate(r, b, 1);
  return b;
}

/** Controller-side PDUs as seen by a hostile host: just enough to find CapsuleResp and R2T. */
export class Peer {
  private buf: Buffer = Buffer.alloc(0);
  readonly r2ts: Array<{ cid: number; ttag: number; off: number; len: number }> = [];
  cntlid = -1;
  responses = 0;
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      while (this.buf.length >= 8) {
        const plen = this.buf.readUInt32LE(4);
        if (plen < 8 || plen > 64 << 20) {
          this.buf = Buffer.alloc(0);
          break;
        }
        if (this.buf.length < plen) break;
        const type = this.buf[0]!;
        if (type === PduType.CapsuleResp && plen >= 24) {
          this.responses++;
          if (this.cntlid < 0) this.cntlid = this.buf.readUInt16LE(8);
        }
        if (type === PduType.R2T && plen >= 24) {
          this.r2ts.push({ cid: this.buf.readUInt16LE(8), ttag: this.buf.readUInt16LE(10), off: this.buf.readUInt32LE(12), len: this.buf.readUInt32LE(16) });
        }
        this.buf = this.buf.subarray(plen);
      }
      this.wake();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Wait (bounded) for something to arrive or the close. */
  async settle(ms: number): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((res) => {
      const t = setTimeout(res, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        res();
      });
    });
  }
  send(b: Buffer): number {
    if (this.closed || this.sock.destroyed) return 0;
    this.sock.write(b);
    return b.length;
  }
}

export function open(port: number): Promise<Peer> {
  return new Promise((res, rej) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => res(new Peer(s)));
    s.once('error', rej);
  });
}

/** One hostile session; returns bytes sent and whether the target closed it first. */
async function hostile(r: Rng, port: number, inlineMax: number): Promise<{ sent: number; closedByTarget: boolean; responses: number }> {
  const p = await open(port);
  let sent = 0;
  const mode = int(r, 5);
  try {
    if (mode === 0) {
      sent += p.send(bytes(r, 1 + int(r, 600)));
    } else if (mode === 1) {
      sent += p.send(icreq(r, false));
    } else {
      sent += p.send(icreq(r, true));
      await p.settle(20);
      let cid = 1;
      if (mode >= 3) {
        // a real Connect first, so commands reach the admin / I/O command parsers
        let qid = 0;
        if (mode === 4) {
          const admin = await open(port);
          admin.send(icreq(r, true));
          await admin.settle(20);
          admin.send(connectCapsule(0, 31, 0xffff, 0));
          for (let i = 0; i < 10 && admin.cntlid < 0 && !admin.closed; i++) await admin.settle(20);
          admin.send(enableCapsule(1));
          for (let i = 0; i < 10 && admin.responses < 2 && !admin.closed; i++) await admin.settle(20);
          sent += p.send(connectCapsule(1, 31, admin.cntlid < 0 ? 0xffff : admin.cntlid, 0));
          qid = 1;
          setTimeout(() => admin.sock.destroy(), 200).unref();
        } else {
          sent += p.send(connectCapsule(0, 31, 0xffff, 0));
        }
        await p.settle(20);
        const n = 1 + int(r, 24);
        for (let i = 0; i < n && !p.closed; i++) {
          sent += p.send(randomCommand(r, qid === 0 ? ADMIN_OPCODES : IO_OPCODES, cid++, inlineMax));
          if (chance(r, 0.3)) await p.settle(5);
          // answer some R2Ts, with right or wrong fields and lengths
          while (p.r2ts.length > 0 && !p.closed) {
            const t = p.r2ts.shift()!;
            if (chance(r, 0.2)) continue;
            const len = chance(r, 0.8) ? Math.min(t.len, 256 * 1024) : int(r, 9000);
            const b = h2cData(r, chance(r, 0.9) ? t.cid : r() & 0xffff, chance(r, 0.9) ? t.ttag : r() & 0xffff, chance(r, 0.9) ? t.off : r(), len);
            if (chance(r, 0.1)) mutate(r, b, 1);
            sent += p.send(b);
          }
        }
      } else {
        // PDU-level noise after a good ICReq: framer and header checks
        const n = 1 + int(r, 8);
        for (let i = 0; i < n && !p.closed; i++) {
          const k = int(r, 4);
          let b: Buffer;
          if (k === 0) b = randomCommand(r, ADMIN_OPCODES, cid++, inlineMax);
          else if (k === 1) b = h2cData(r, r() & 0xffff, r() & 0xffff, int(r, 4096), int(r, 4096));
          else if (k === 2) {
            b = Buffer.alloc(Hlen.TermReq + int(r, 64));
            writeCommonHeader(b, 0, PduType.H2CTermReq, 0, Hlen.TermReq, 0, b.length);
          } else b = bytes(r, 8 + int(r, 200));
          mutate(r, b, int(r, 3));
          if (chance(r, 0.2)) b = b.subarray(0, int(r, b.length));
          sent += p.send(b);
        }
      }
    }
    await p.settle(chance(r, 0.5) ? 5 : 40);
    return { sent, closedByTarget: p.closed, responses: p.responses };
  } finally {
    p.sock.destroy();
  }
}

/** Verified I/O on the bystander until `stop()`; rejects on the first error or mismatch. */
function bystanderLoop(c: Controller, seed: number): { stop: () => Promise<number> } {
  let running = true;
  let ops = 0;
  const r = xorshift32(seed ^ 0x5eed);
  const done = (async () => {
    while (running) {
      const blocks = 1 + int(r, 64);
      const slba = int(r, 8192 - blocks);
      const data = pattern(blocks * 512, r());
      await c.write(1, slba, data);
      const back = await c.read(1, slba, blocks);
      if (!Buffer.from(back).equals(Buffer.from(data))) throw new Error(`bystander: data mismatch at LBA ${slba} (${blocks} blocks)`);
      ops += 2;
    }
    return ops;
  })();
  return {
    stop: async () => {
      running = false;
      return done;
    },
  };
}

/** Start a target, fuzz it for `seconds`, check the invariants, stop it. */
export async function runFuzz(o: FuzzOptions): Promise<FuzzResult> {
  const log = o.log ?? (() => {});
  const t: TestTarget = await startTarget({
    namespaces: { 1: 8 << 20 },
    tcp: {
      logger: { debug() {}, info() {}, warn() {}, error: (m) => log(`target error: ${m}`) },
      limits: { pduTimeoutMs: 500, icreqTimeoutMs: 500, connectTimeoutMs: 1000 },
    },
  });
  const fuzzSub = t.nvmet.addSubsystem({ nqn: FUZZ_NQN, allowAnyHost: true, allowedHosts: [], serial: 'NVMETTSFUZZ', model: 'nvmet-ts fuzz' });
  await fuzzSub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 4 << 20 }, blockSize: 512 }).enable();
  await fuzzSub.addNamespace({ nsid: 2, backend: { kind: 'ram', size: 1 << 20 }, blockSize: 4096 }).enable();
  t.port.addSubsystem(fuzzSub);
  const tcp = t.nvmet.transport(TrType.TCP) as TcpTransport;
  const by = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1 });
  const loop = bystanderLoop(by, o.seed);
  const r = xorshift32(o.seed);
  const res: FuzzResult = { seed: o.seed, connections: 0, bytesSent: 0, closedByTarget: 0, bystanderOps: 0, responses: 0, leakedStaging: 0, connectionsLeft: 0 };
  const end = performance.now() + o.seconds * 1000;
  const parallel = Math.max(1, o.parallel ?? 4);
  let failure: unknown = null;
  try {
    const workers = Array.from({ length: parallel }, (_, w) =>
      (async () => {
        const wr = xorshift32((r() ^ (w * 0x9e3779b9)) >>> 0);
        while (performance.now() < end && failure === null) {
          const h = await hostile(wr, t.tcpPort, t.port.inlineDataSize);
          res.connections++;
          res.bytesSent += h.sent;
          if (h.closedByTarget) res.closedByTarget++;
          res.responses += h.responses;
        }
      })(),
    );
    await Promise.all(workers);
  } catch (e) {
    failure = e;
  } finally {
    try {
      res.bystanderOps = await loop.stop();
      // one more verified round trip after the storm
      const d = pattern(4096, o.seed);
      await by.write(1, 100, d);
      const back = await by.read(1, 100, 8);
      if (!Buffer.from(back).equals(Buffer.from(d))) throw new Error('bystander: final read mismatch');
    } catch (e) {
      failure ??= e;
    }
    // hostile connections are all destroyed by the fuzzer: the target must let go of everything
    const deadline = performance.now() + 5000;
    while (performance.now() < deadline && (tcp.connections(1) > 2 || tcp.budget.used !== 0)) await new Promise((s) => setTimeout(s, 20));
    res.connectionsLeft = tcp.connections(1);
    res.leakedStaging = tcp.budget.used;
    await by.close().catch(() => {});
    await t.stop();
  }
  if (failure !== null) throw failure;
  log(
    `fuzz seed ${res.seed}: ${res.connections} hostile connections, ${res.bytesSent} bytes, ${res.closedByTarget} closed by the target, ${res.responses} responses; ` +
      `bystander ${res.bystanderOps} verified ops; staging left ${res.leakedStaging} B, connections left ${res.connectionsLeft}`,
  );
  return res;
}
