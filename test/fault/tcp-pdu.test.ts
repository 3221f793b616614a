/**
 * NVMe/TCP PDU-level fault actions decided when the capsule arrives (term-req,
 * split-c2h-data, delay-r2t, withhold-r2t, drop-after-pdus, pause-reading), seen
 * by the TypeScript initiator over real sockets: the matching command gets
 * exactly the injected behaviour, the next command or a bystander connection
 * does not, and each injection is counted per action.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Controller } from '../../initiator/index.js';
import { TransportError } from '../../initiator/errors.js';
import { AdminOpcode, IoOpcode } from '../../src/nvme/opcodes.js';
import { encodeRwCommand, encodeSqe } from '../../src/nvme/sqe.js';
import { NvmeStatus } from '../../src/nvme/status.js';
import { Fes } from '../../src/tcp/constants.js';
import { faultEngine, parseFaultRule } from '../../target/fault/index.js';
import { startStack, SUBNQN, until, type Stack } from '../api/helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});
const open: Controller[] = [];
afterEach(async () => {
  faultEngine(s.svc.nvmet).clear();
  for (const c of open.splice(0)) c.abort();
});

const VICTIM = 'nqn.2014-08.org.example:pdu-victim';
const OTHER = 'nqn.2014-08.org.example:pdu-other';

async function host(hostnqn: string): Promise<Controller> {
  const c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1, hostnqn });
  open.push(c);
  return c;
}

const engine = () => faultEngine(s.svc.nvmet);
const rule = (json: unknown) => engine().add(parseFaultRule(json));
const BS = 512;
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

function readSqe(slba: number, blocks: number): Uint8Array {
  return encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Read, cid: 0, nsid: 1, slba, blocks });
}
function writeSqe(slba: number, blocks: number): Uint8Array {
  return encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Write, cid: 0, nsid: 1, slba, blocks });
}

describe('fault rules: NVMe/TCP PDUs decided at arrival', () => {
  it('term-req: the matching Read is answered by a C2HTermReq with the FES and FEI given, then the connection closes; a bystander is unaffected', async () => {
    const victim = await host(VICTIM);
    const other = await host(OTHER);
    await victim.write(1, 0, fill(4096, 0x11));
    rule({ match: { hostnqn: VICTIM, set: 'io', opcode: IoOpcode.Read }, fire: { count: 1 }, action: { type: 'term-req', fes: Fes.PduSequenceError, fei: 7 } });
    const err = await victim.read(1, 0, 8).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('term-req');
    expect((err as TransportError).fes).toBe(Fes.PduSequenceError);
    expect((err as TransportError).fei).toBe(7);
    await until(() => victim.ioQueues[0]!.closed, 3000, 'victim queue closed');
    expect(new Uint8Array(await other.read(1, 0, 8))).toEqual(fill(4096, 0x11));
    expect(engine().injectedTotals().get('term-req')).toBe(1);
  });

  it('split-c2h-data: the matching Read arrives in size-byte C2HData PDUs with the right data; the next Read in one PDU', async () => {
    const c = await host(VICTIM);
    const data = new Uint8Array(8 * BS).map((_, i) => (i * 7) & 0xff);
    await c.write(1, 16, data);
    rule({ match: { set: 'io', opcode: IoOpcode.Read }, fire: { count: 1 }, action: { type: 'split-c2h-data', size: 512 } });
    const q = c.ioQueues[0]!;
    const before = q.stats.c2hPdus;
    const buf = new Uint8Array(8 * BS);
    const r = await q.submit({ sqe: readSqe(16, 8), dataIn: buf });
    expect(r.status).toBe(0);
    expect(buf).toEqual(data);
    expect(q.stats.c2hPdus - before).toBe(8);
    const r2 = await q.submit({ sqe: readSqe(16, 8), dataIn: buf });
    expect(r2.status).toBe(0);
    expect(q.stats.c2hPdus - before).toBe(9);
    expect(engine().injectedTotals().get('split-c2h-data')).toBe(1);
  });

  it('delay-r2t: the matching Write gets its R2T ms late; a Read sent after it on the same queue completes first', async () => {
    const c = await host(VICTIM);
    rule({ match: { set: 'io', opcode: IoOpcode.Write }, fire: { count: 1 }, action: { type: 'delay-r2t', ms: 400 } });
    const q = c.ioQueues[0]!;
    const r2ts = q.stats.r2ts;
    const order: string[] = [];
    const t0 = performance.now();
    const w = q.submit({ sqe: writeSqe(32, 8), dataOut: fill(8 * BS, 0x5a), forceR2T: true }).then((r) => {
      order.push('write');
      return [r, performance.now() - t0] as const;
    });
    const rd = q.submit({ sqe: readSqe(0, 1), dataIn: new Uint8Array(BS) }).then((r) => {
      order.push('read');
      return r;
    });
    expect((await rd).status).toBe(0);
    const [wr, ms] = await w;
    expect(wr.status).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(order).toEqual(['read', 'write']);
    expect(q.stats.r2ts - r2ts).toBe(1);
    expect(new Uint8Array(await c.read(1, 32, 8))).toEqual(fill(8 * BS, 0x5a));
  });

  it('withhold-r2t: the matching Write never gets an R2T; Abort completes it with Command Abort Requested and the media is untouched', async () => {
    const c = await host(VICTIM);
    await c.write(1, 48, fill(4 * BS, 0x22));
    rule({ id: 'wh', match: { set: 'io', opcode: IoOpcode.Write }, fire: { count: 1 }, action: { type: 'withhold-r2t' } });
    const q = c.ioQueues[0]!;
    const r2ts = q.stats.r2ts;
    const w = q.submit({ sqe: writeSqe(48, 4), dataOut: fill(4 * BS, 0x77), forceR2T: true, timeoutMs: 0 });
    await until(() => engine().heldCommands().length === 1, 3000, 'the write is held');
    const held = engine().heldCommands()[0]!;
    expect(held).toMatchObject({ rule: 'wh', qid: 1, opcode: IoOpcode.Write });
    await new Promise((r) => setTimeout(r, 200));
    expect(q.stats.r2ts).toBe(r2ts); // still no R2T
    expect(q.outstanding).toBe(1);
    const ab = await c.admin.submit({ sqe: encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.Abort, cdw10: 1 | (held.cid << 16) }) });
    expect(ab.status).toBe(0);
    expect(ab.dw0 & 1).toBe(0); // aborted
    expect((await w).status).toBe(NvmeStatus.AbortedByRequest);
    expect(engine().heldCount).toBe(0);
    expect(new Uint8Array(await c.read(1, 48, 4))).toEqual(fill(4 * BS, 0x22));
    // The next write gets its R2T.
    expect((await q.submit({ sqe: writeSqe(48, 4), dataOut: fill(4 * BS, 0x33), forceR2T: true })).status).toBe(0);
    expect(q.stats.r2ts - r2ts).toBe(1);
    expect(new Uint8Array(await c.read(1, 48, 4))).toEqual(fill(4 * BS, 0x33));
  });

  it('withhold-r2t: a disconnect releases the held Write (nothing stays held)', async () => {
    const c = await host(VICTIM);
    rule({ match: { set: 'io', opcode: IoOpcode.Write }, fire: { count: 1 }, action: { type: 'withhold-r2t' } });
    const w = c.ioQueues[0]!.submit({ sqe: writeSqe(0, 4), dataOut: fill(4 * BS, 1), forceR2T: true, timeoutMs: 0 }).then(() => null, (e: unknown) => e);
    await until(() => engine().heldCount === 1, 3000, 'the write is held');
    c.abort();
    expect(await w).toBeInstanceOf(TransportError);
    await until(() => engine().heldCount === 0, 3000, 'the held write released');
  });

  it('drop-after-pdus c2h: a 512 KiB Read gets 2 of its 4 C2HData PDUs, then the connection closes', async () => {
    const c = await host(VICTIM);
    const q = c.ioQueues[0]!;
    const blocks = (512 * 1024) / BS;
    rule({ match: { set: 'io', opcode: IoOpcode.Read }, fire: { count: 1 }, action: { type: 'drop-after-pdus', pdus: 2 } });
    const before = q.stats.c2hPdus;
    const err = await q.submit({ sqe: readSqe(0, blocks), dataIn: new Uint8Array(blocks * BS) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).kind).toBe('closed');
    expect(q.stats.c2hPdus - before).toBe(2);
    expect(engine().injectedTotals().get('drop-after-pdus')).toBe(1);
  });

  it('drop-after-pdus h2c: after the matching Flush the target handles 1 more PDU (a Read), then drops the connection at the next', async () => {
    const c = await host(VICTIM);
    const q = c.ioQueues[0]!;
    rule({ match: { set: 'io', opcode: IoOpcode.Flush }, fire: { count: 1 }, action: { type: 'drop-after-pdus', pdus: 1, direction: 'h2c' } });
    await c.flush(1);
    expect((await q.submit({ sqe: readSqe(0, 1), dataIn: new Uint8Array(BS) })).status).toBe(0);
    const err = await q.submit({ sqe: readSqe(0, 1), dataIn: new Uint8Array(BS) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
  });

  it('pause-reading: after the matching Flush the connection reads nothing for ms; then commands flow again', async () => {
    const c = await host(VICTIM);
    const other = await host(OTHER);
    const q = c.ioQueues[0]!;
    rule({ match: { hostnqn: VICTIM, set: 'io', opcode: IoOpcode.Flush }, fire: { count: 1 }, action: { type: 'pause-reading', ms: 400 } });
    await c.flush(1); // the flush itself was read and runs
    const order: string[] = [];
    const t0 = performance.now();
    const r = q.submit({ sqe: readSqe(0, 1), dataIn: new Uint8Array(BS) }).then((x) => {
      order.push('victim');
      return [x, performance.now() - t0] as const;
    });
    // another connection is read meanwhile
    await other.read(1, 0, 1);
    order.push('other');
    const [res, ms] = await r;
    expect(res.status).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(390);
    expect(order).toEqual(['other', 'victim']);
    expect((await q.submit({ sqe: readSqe(0, 1), dataIn: new Uint8Array(BS) })).status).toBe(0);
    expect(engine().injectedTotals().get('pause-reading')).toBe(1);
  });
});
