/**
 * Fault and latency injection through the core's completion path, seen by the
 * host over the loop transport: exactly the injected behaviour, and a bystander
 * command (another queue, another LBA, the admin queue) is unaffected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setup, waitFor, pattern, type Fixture } from '../core/setup.js';
import { faultEngine, FaultEngine, parseFaultRule, FaultRuleError } from '../../target/fault/index.js';
import { setDataSgl, SQE_FLAGS_SGL } from '../../target/loop/host.js';
import { LoopDisconnectedError, type LoopQueue } from '../../target/loop/loop-transport.js';
import { encodeRwCommand, encodeSqe } from '../../src/nvme/sqe.js';
import { AdminOpcode, IoOpcode } from '../../src/nvme/opcodes.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { CSTS_CFS } from '../../src/nvme/registers.js';
import { silentLogger } from '../../target/core/log.js';

const BS = 512;
let f: Fixture;
afterEach(async () => {
  await f.close();
});

async function ready() {
  f = await setup();
  const c = await f.ready();
  const q1 = await c.connectIo(1);
  const q2 = await c.connectIo(2);
  return { c, q1, q2, engine: faultEngine(f.nvmet) };
}

/** A Read with a CID the test chooses (for Abort). */
function rawRead(q: LoopQueue, cid: number, slba: number, blocks = 1) {
  const sqe = encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Read, cid, nsid: 1, slba, blocks });
  sqe[1] = SQE_FLAGS_SGL;
  setDataSgl(sqe, blocks * BS);
  return q.submit(sqe);
}

function abortSqe(sqid: number, cid: number): Uint8Array {
  return encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.Abort, cdw10: (sqid & 0xffff) | (cid << 16) });
}

describe('fault rules: command level', () => {
  it('status: the matching Read (qid, LBA range) fails with the given SCT/SC/DNR; other LBAs, queues and Writes do not', async () => {
    const { c, q1, q2, engine } = await ready();
    await c.write(q1, 1, 0, pattern(4 * BS, 1), BS);
    engine.add(parseFaultRule({ match: { qid: 1, set: 'io', opcode: IoOpcode.Read, nsid: 1, lba: { first: 2, last: 3 } }, action: { type: 'status', sct: 2, sc: 0x81, dnr: true } }));
    expect((await c.read(q1, 1, 2, 1, BS)).status).toBe(0x281 | STATUS_DNR); // Unrecovered Read Error
    expect((await c.read(q1, 1, 0, 3, BS)).status).toBe(0x281 | STATUS_DNR); // overlaps LBA 2
    const ok = await c.read(q1, 1, 0, 2, BS);
    expect(ok.status).toBe(0);
    expect(ok.data).toEqual(pattern(4 * BS, 1).subarray(0, 2 * BS));
    expect((await c.read(q2, 1, 2, 1, BS)).status).toBe(0); // qid 2: bystander
    expect((await c.identify(1)).status).toBe(0);
    expect(engine.list()[0]).toMatchObject({ hits: 2, injected: 2, spent: false });
    expect(engine.injectedTotals().get('status')).toBe(2);
  });

  it('status instead of running: a failed Write leaves the media as it was', async () => {
    const { c, q1, engine } = await ready();
    await c.write(q1, 1, 8, pattern(BS, 2), BS);
    engine.add(parseFaultRule({ match: { set: 'io', opcode: IoOpcode.Write }, fire: { count: 1 }, action: { type: 'status', sct: 0, sc: 6 } }));
    expect((await c.write(q1, 1, 8, pattern(BS, 3), BS)).status).toBe(NvmeStatus.InternalError);
    expect((await c.read(q1, 1, 8, 1, BS)).data).toEqual(pattern(BS, 2));
    expect((await c.write(q1, 1, 8, pattern(BS, 3), BS)).status).toBe(0); // count 1: spent
    expect(engine.list()[0]).toMatchObject({ injected: 1, spent: true });
  });

  it('everyNth and count: fires on the 2nd and 4th match, then is spent', async () => {
    const { c, q1, engine } = await ready();
    engine.add(parseFaultRule({ id: 'nth', match: { set: 'io', opcode: IoOpcode.Read }, fire: { everyNth: 2, count: 2 }, action: { type: 'status', sct: 0, sc: 4 } }));
    const got: number[] = [];
    for (let i = 0; i < 7; i++) got.push((await c.read(q1, 1, 0, 1, BS)).status);
    expect(got).toEqual([0, 4, 0, 4, 0, 0, 0]);
    expect(engine.get('nth')).toMatchObject({ hits: 4, injected: 2, spent: true });
  });

  it('probability with a seed replays the same firings; another seed differs', async () => {
    const { c, q1, engine } = await ready();
    const run = async (seed: number): Promise<string> => {
      engine.clear();
      engine.add(parseFaultRule({ match: { set: 'io' }, fire: { probability: 0.5, seed }, action: { type: 'status', sct: 0, sc: 4 } }));
      let s = '';
      for (let i = 0; i < 32; i++) s += (await c.read(q1, 1, 0, 1, BS)).status === 0 ? '.' : 'x';
      return s;
    };
    const a = await run(42);
    expect(await run(42)).toBe(a);
    expect(await run(7)).not.toBe(a);
    expect(a).toMatch(/x/);
    expect(a).toMatch(/\./);
  });

  it('delay: the matching Read completes after the delay while a bystander on another queue completes at once', async () => {
    const { c, q1, q2, engine } = await ready();
    engine.add(parseFaultRule({ match: { qid: 1 }, action: { type: 'delay', ms: 80 } }));
    const t0 = performance.now();
    let slowAt = 0;
    const slow = c.read(q1, 1, 0, 1, BS).then((r) => ((slowAt = performance.now() - t0), r));
    const fast = await c.read(q2, 1, 0, 1, BS);
    const fastAt = performance.now() - t0;
    expect(fast.status).toBe(0);
    expect(slowAt).toBe(0); // still held
    expect((await slow).status).toBe(0);
    expect(slowAt).toBeGreaterThanOrEqual(75);
    expect(fastAt).toBeLessThan(slowAt);
    expect(engine.heldCount).toBe(0);
  });

  it('hang + Abort: the held Read completes with Command Abort Requested and Abort reports dw0 bit 0 = 0; Abort of anything else reports "not aborted"', async () => {
    const { c, q1, q2, engine } = await ready();
    engine.add(parseFaultRule({ match: { qid: 1, set: 'io', opcode: IoOpcode.Read }, action: { type: 'hang' } }));
    let done = false;
    const hung = rawRead(q1, 0x4242, 0).finally(() => (done = true));
    await waitFor(() => engine.heldCount === 1, 2000, 'held read');
    expect((await c.read(q2, 1, 0, 1, BS)).status).toBe(0); // bystander
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    // Not held: a CID not in flight, and the right CID on the wrong SQ (Linux answers every Abort this way).
    expect((await c.adminCmd(abortSqe(1, 0x4243))).dw0 & 1).toBe(1);
    expect((await c.adminCmd(abortSqe(2, 0x4242))).dw0 & 1).toBe(1);
    const ab = await c.adminCmd(abortSqe(1, 0x4242));
    expect(ab.status).toBe(0);
    expect(ab.dw0 & 1).toBe(0);
    const r = await hung;
    expect(r.status).toBe(NvmeStatus.AbortedByRequest);
    expect(engine.heldCount).toBe(0);
  });

  it('hang: a held command whose connection drops is forgotten and its slot freed', async () => {
    const { c, q1, engine } = await ready();
    engine.add(parseFaultRule({ match: { qid: 1 }, action: { type: 'hang' } }));
    const hung = rawRead(q1, 7, 0);
    await waitFor(() => engine.heldCount === 1, 2000, 'held read');
    q1.close('host gave up');
    await expect(hung).rejects.toBeInstanceOf(LoopDisconnectedError);
    await waitFor(() => engine.heldCount === 0, 2000, 'hold dropped');
    const q3 = await c.connectIo(3);
    engine.clear();
    expect((await c.read(q3, 1, 0, 1, BS)).status).toBe(0);
  });

  it('corrupt-data: the Read returns flipped bytes, the media keeps the data; counted', async () => {
    const { c, q1, engine } = await ready();
    const data = pattern(2 * BS, 9);
    await c.write(q1, 1, 16, data, BS);
    engine.add(parseFaultRule({ match: { set: 'io', opcode: IoOpcode.Read, lba: { first: 16, last: 16 } }, fire: { count: 1 }, action: { type: 'corrupt-data', offset: 3, length: 2, xor: 0x0f } }));
    const bad = (await c.read(q1, 1, 16, 2, BS)).data!;
    const want = data.slice();
    want[3]! ^= 0x0f;
    want[4]! ^= 0x0f;
    expect(bad).toEqual(want);
    expect((await c.read(q1, 1, 16, 2, BS)).data).toEqual(data);
    expect(engine.injectedTotals().get('corrupt-data')).toBe(1);
  });
});

describe('fault rules: controller level', () => {
  for (const type of ['controller-fatal', 'keep-alive-expire'] as const) {
    it(`${type}: the matching host's controller fails (CSTS.CFS, queues dropped); another host's controller is unaffected`, async () => {
      f = await setup({ subsys: { allowAnyHost: true } });
      const victim = await f.ready({ hostnqn: 'nqn.2014-08.org.example:victim' });
      const other = await f.ready({ hostnqn: 'nqn.2014-08.org.example:other' });
      const vq = await victim.connectIo(1);
      const oq = await other.connectIo(1);
      const engine = faultEngine(f.nvmet);
      engine.add(parseFaultRule({ match: { hostnqn: 'nqn.2014-08.org.example:victim', set: 'admin', opcode: AdminOpcode.KeepAlive }, action: { type } }));
      const ctrl = f.subsys.controllers.find((x) => x.cntlid === victim.cntlid)!;
      await expect(victim.keepAlive()).rejects.toBeInstanceOf(LoopDisconnectedError);
      expect(ctrl.csts & CSTS_CFS).toBe(CSTS_CFS);
      await expect(victim.read(vq, 1, 0, 1, BS)).rejects.toBeInstanceOf(LoopDisconnectedError);
      expect((await other.identify(1)).status).toBe(0);
      expect((await other.read(oq, 1, 0, 1, BS)).status).toBe(0);
      expect(engine.injectedTotals().get(type)).toBe(1);
    });
  }
});

describe('fault rules: list, remove, validation', () => {
  it('adds with ids, lists with counters, removes', () => {
    const e = new FaultEngine(silentLogger);
    const a = e.add(parseFaultRule({ action: { type: 'hang' } }));
    e.add(parseFaultRule({ id: 'mine', action: { type: 'delay', p50: 5, p99: 50 } }));
    expect(a.id).toBe('rule-1');
    expect(e.list().map((r) => r.id)).toEqual(['rule-1', 'mine']);
    expect(() => e.add(parseFaultRule({ id: 'mine', action: { type: 'hang' } }))).toThrow(/exists already/);
    expect(e.remove('rule-1')).toBe(true);
    expect(e.remove('rule-1')).toBe(false);
    expect(e.list().map((r) => r.id)).toEqual(['mine']);
  });

  it.each([
    [{}, 'rule.action'],
    [{ action: { type: 'explode' } }, 'rule.action.type'],
    [{ action: { type: 'status', sct: 0 } }, 'rule.action.sc'],
    [{ action: { type: 'status', sct: 9, sc: 1 } }, 'rule.action.sct'],
    [{ action: { type: 'delay', p50: 10 } }, 'rule.action.p99'],
    [{ action: { type: 'delay', p50: 10, p99: 5 } }, 'rule.action.p99'],
    [{ match: { qid: -1 }, action: { type: 'hang' } }, 'rule.match.qid'],
    [{ match: { set: 'nvm' }, action: { type: 'hang' } }, 'rule.match.set'],
    [{ match: { lba: { first: 5, last: 4 } }, action: { type: 'hang' } }, 'rule.match.lba.last'],
    [{ match: { quid: 1 }, action: { type: 'hang' } }, 'rule.match.quid'],
    [{ fire: { probability: 1.5 }, action: { type: 'hang' } }, 'rule.fire.probability'],
    [{ action: { type: 'hang', ms: 5 } }, 'rule.action.ms'],
  ])('rejects %j naming %s', (spec, path) => {
    let err: unknown;
    try {
      parseFaultRule(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FaultRuleError);
    expect((err as FaultRuleError).path).toBe(path);
  });
});

describe('fault rules: NVMe/TCP-only actions on the loop transport', () => {
  it('a rule naming the loop port is refused on match.port; without a port it is no hit on loop, and command-level rules still act', async () => {
    const { c, q1, engine } = await ready();
    let err: unknown = null;
    try {
      engine.add(parseFaultRule({ match: { port: f.port.id }, action: { type: 'term-req', fes: 1 } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FaultRuleError);
    expect((err as FaultRuleError).path).toBe('match.port');
    expect((err as Error).message).toMatch(/loop port/);
    await c.write(q1, 1, 0, pattern(BS, 9), BS);
    engine.add(parseFaultRule({ id: 'tcp', match: { set: 'io', opcode: IoOpcode.Read }, action: { type: 'term-req', fes: 1 } }));
    engine.add(parseFaultRule({ id: 'cmd', match: { set: 'io', opcode: IoOpcode.Read }, fire: { count: 1 }, action: { type: 'status', sct: 0, sc: 4 } }));
    expect((await c.read(q1, 1, 0, 1, BS)).status).toBe(4);
    const ok = await c.read(q1, 1, 0, 1, BS);
    expect(ok.status).toBe(0);
    expect(ok.data).toEqual(pattern(BS, 9));
    expect(engine.get('tcp')).toMatchObject({ hits: 0, injected: 0 });
  });
});
