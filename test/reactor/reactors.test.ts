/**
 * Reactors (--reactors N): connections handed to worker threads run their Read/Write
 * on shared media and forward everything else to the main thread's core. Real
 * NVMe/TCP over loopback, real worker threads, the TypeScript initiator; each test
 * checks a reactor-served queue behaves as a main-thread queue would.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../initiator/index.js';
import { NvmeError } from '../../initiator/errors.js';
import { NvmeStatus } from '../../src/nvme/status.js';
import { AnaState } from '../../src/nvme/ana.js';
import { baseDoc, stackPerTest, startStack, until, type Stack } from '../api/helpers.js';
import { pattern } from '../integration/harness.js';

const t = stackPerTest();
type Host = Awaited<ReturnType<typeof connect>>;

/** A stack with `loops` event loops and a host with `queues` I/O queues; which qids a reactor serves. */
async function setup(loops: number, queues: number, doc = baseDoc()): Promise<{ s: Stack; c: Host; onReactor: number[]; onMain: number[] }> {
  const s = t.use(await startStack(doc, { reactors: loops }));
  const c = await connect({ ...t.hostOpts(), queues });
  const pool = s.svc.reactors;
  const onReactor = pool === null ? [] : pool.connections().map((x) => x.qid).filter((q) => q > 0);
  const onMain: number[] = [];
  for (let q = 1; q <= queues; q++) if (!onReactor.includes(q)) onMain.push(q);
  return { s, c, onReactor, onMain };
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (e) {
    if (e instanceof NvmeError) return e.status & 0x7ff;
    throw e;
  }
}

describe('reactors', () => {
  it('spreads connections round-robin over the loops and serves Read/Write on reactor queues locally, one media for all', async () => {
    const { s, c, onReactor, onMain } = await setup(2, 3);
    try {
      // admin → main, qid 1 → reactor 1, qid 2 → main, qid 3 → reactor 1 (connections in order).
      expect(onReactor.sort()).toEqual([1, 3]);
      expect(onMain).toEqual([2]);
      const pool = s.svc.reactors!;
      // A reactor queue's first commands may go to the main thread: its view is on the way.
      await c.read(1, 0, 8, undefined, { qid: 1 });
      await c.read(1, 0, 8, undefined, { qid: 3 });
      await pool.flush();
      const before = pool.stats();
      // Written through one loop, read through the other, both ways.
      const a = pattern(64 * 1024, 7);
      const b = pattern(8 * 512, 9);
      await c.write(1, 0, a, { qid: 1 });
      await c.write(1, 4096, b, { qid: 2 });
      expect(Buffer.compare(await c.read(1, 0, 128, undefined, { qid: 2 }), a)).toBe(0);
      expect(Buffer.compare(await c.read(1, 4096, 8, undefined, { qid: 3 }), b)).toBe(0);
      // Unaligned to the 128 KiB media chunk and crossing it.
      const x = pattern(96 * 1024, 11);
      await c.write(1, 200, x, { qid: 3 });
      expect(Buffer.compare(await c.read(1, 200, 192, undefined, { qid: 2 }), x)).toBe(0);
      await pool.flush();
      const after = pool.stats();
      expect(after.localCommands - before.localCommands).toBe(3);
      expect(after.connections).toEqual([2]);
    } finally {
      await c.close();
    }
  });

  it('counts reactor I/O in the namespace stats, the SMART log and the link accounting exactly as one loop would', async () => {
    const run = async (loops: number): Promise<{ stats: object; links: object; smart: { hostReads: bigint; hostWrites: bigint } }> => {
      const { s, c, onReactor } = await setup(loops, 2);
      try {
        const qid = loops > 1 ? onReactor[0]! : 1;
        for (let i = 0; i < 5; i++) await c.write(1, i * 300, pattern(4096 * (i + 1), i), { qid });
        for (let i = 0; i < 7; i++) await c.read(1, i * 333, 8 * (i + 1), undefined, { qid });
        // The SMART log waits for the reactors' counters itself (Nvmet.statsSync).
        const smart = await c.smartLog();
        await s.svc.reactors?.flush();
        const ns = s.svc.nvmet.subsystems.find((x) => x.nqn.endsWith('api-test'))!.namespaces[0]!;
        const links = s.svc.dp!.accounting.snapshot();
        return { stats: { ...ns.stats }, links, smart: { hostReads: smart.hostReadCommands, hostWrites: smart.hostWriteCommands } };
      } finally {
        await c.close();
        await t.use(await startStack()).close();
      }
    };
    const one = await run(1);
    const two = await run(2);
    expect(two.stats).toEqual(one.stats);
    expect(two.smart).toEqual(one.smart);
    expect(two.links).toEqual(one.links);
  });

  it('forwards what it cannot run: out-of-range LBAs get the core status and Error Information entry, Flush and Write Zeroes run on the main thread', async () => {
    const { s, c, onReactor } = await setup(2, 1);
    try {
      expect(onReactor).toEqual([1]);
      const nsze = 64 * 2048;
      expect(await statusOf(c.read(1, nsze - 4, 8, undefined, { qid: 1 }))).toBe(NvmeStatus.LbaOutOfRange);
      const log = await c.errorLog(1);
      expect(log[0]!.sqid).toBe(1);
      expect(log[0]!.status & 0x7ff).toBe(NvmeStatus.LbaOutOfRange);
      await c.write(1, 0, pattern(4096, 3), { qid: 1 });
      await c.writeZeroes(1, 0, 4, { qid: 1 });
      await c.flush(1, { qid: 1 });
      const back = await c.read(1, 0, 8, undefined, { qid: 1 });
      expect(Buffer.compare(back.subarray(0, 2048), Buffer.alloc(2048))).toBe(0);
      expect(Buffer.compare(back.subarray(2048), pattern(4096, 3).subarray(2048))).toBe(0);
      await s.svc.reactors!.flush();
      expect(s.svc.reactors!.stats().forwardedCommands).toBeGreaterThanOrEqual(4);
    } finally {
      await c.close();
    }
  });

  it('stops running I/O locally the moment a namespace is disabled, and a re-enabled namespace starts empty', async () => {
    const { s, c, onReactor } = await setup(2, 1);
    try {
      expect(onReactor).toEqual([1]);
      await c.write(1, 0, pattern(4096, 5), { qid: 1 });
      const ns = s.svc.nvmet.subsystems.find((x) => x.nqn.endsWith('api-test'))!.namespaces[0]!;
      await ns.disable();
      expect(await statusOf(c.read(1, 0, 8, undefined, { qid: 1 }))).toBe(NvmeStatus.InvalidNs);
      expect(await statusOf(c.write(1, 0, pattern(4096, 6), { qid: 1 }))).toBe(NvmeStatus.InvalidNs);
      await ns.enable();
      expect(Buffer.compare(await c.read(1, 0, 8, undefined, { qid: 1 }), Buffer.alloc(4096))).toBe(0);
      await c.write(1, 0, pattern(4096, 8), { qid: 1 });
      expect(Buffer.compare(await c.read(1, 0, 8, undefined, { qid: 1 }), pattern(4096, 8))).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('drops a reactor connection when the core deletes its controller, and leaves no connection behind on close', async () => {
    const { s, c, onReactor } = await setup(2, 1);
    expect(onReactor).toEqual([1]);
    const ctrl = s.svc.nvmet.subsystems.find((x) => x.nqn.endsWith('api-test'))!.controllers[0]!;
    ctrl.delete('test');
    await until(() => s.svc.reactors!.stats().connections[0] === 0, 5000, 'the reactor connection to close');
    await expect(c.read(1, 0, 8, undefined, { qid: 1 })).rejects.toThrow();
    await c.close().catch(() => {});
  });

  it('keeps connections on the main thread while a fault rule is armed', async () => {
    const s = t.use(await startStack(baseDoc(), { reactors: 2 }));
    const { faultEngine } = await import('../../target/fault/index.js');
    const { parseFaultRule } = await import('../../target/fault/index.js');
    faultEngine(s.svc.nvmet).add(parseFaultRule({ match: { set: 'io', opcode: 0x99 }, action: { type: 'status', sct: 0, sc: 2, dnr: true } }));
    const c = await connect({ ...t.hostOpts(), queues: 2 });
    try {
      expect(s.svc.reactors!.stats().handedOver).toBe(0);
      await c.write(1, 0, pattern(4096, 1));
    } finally {
      await c.close();
    }
  });

  it('serves a reactor queue with header and data digests and SQ flow control disabled', async () => {
    const s = t.use(await startStack(baseDoc(), { reactors: 2 }));
    const c = await connect({ ...t.hostOpts(), queues: 1, hdgst: true, ddgst: true, disableSqFlow: true });
    try {
      expect(s.svc.reactors!.connections().map((x) => x.qid)).toEqual([1]);
      for (let i = 0; i < 4; i++) {
        const d = pattern(4096 * (i + 1) * 3, 20 + i);
        await c.write(1, i * 1000, d, { qid: 1 });
        expect(Buffer.compare(await c.read(1, i * 1000, d.length / 512, undefined, { qid: 1 }), d)).toBe(0);
      }
      await s.svc.reactors!.flush();
      expect(s.svc.reactors!.stats().localCommands).toBeGreaterThanOrEqual(6);
    } finally {
      await c.close();
    }
  });

  it('shows reactor I/O in the API: /api/reactors, namespace stats and the /metrics latency histogram, current at the time of the request', async () => {
    const s = t.use(await startStack(baseDoc(), { reactors: 2 }));
    const c = await connect({ ...t.hostOpts(), queues: 1 });
    try {
      // Let the pool see the API's observer (it polls every 250 ms), and the queue get its view.
      await new Promise((r) => setTimeout(r, 300));
      await c.read(1, 0, 8, undefined, { qid: 1 });
      const r0 = await s.http('GET', '/api/reactors');
      expect(r0.status).toBe(200);
      const before = r0.json.local_commands as number;
      for (let i = 0; i < 10; i++) await c.write(1, i * 8, pattern(4096, i), { qid: 1 });
      for (let i = 0; i < 10; i++) await c.read(1, i * 8, 8, undefined, { qid: 1 });
      // No wait here: the API's read waits for the reactors' report itself.
      const r = await s.http('GET', '/api/reactors');
      expect(r.json.event_loops).toBe(2);
      expect(r.json.local_commands - before).toBe(20);
      expect(r.json.reactors[0].connections).toEqual([expect.objectContaining({ port: 1, qid: 1 })]);
      const m = await s.http('GET', '/metrics');
      const text = m.text;
      const count = (op: string): number => Number(new RegExp(`nvmet_io_latency_seconds_count\\{op="${op}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
      expect(count('write')).toBe(10);
      expect(count('read')).toBeGreaterThanOrEqual(11);
      const st = await s.http('GET', '/api/status');
      expect(st.json.event_loops).toBe(2);
    } finally {
      await c.close();
    }
  });

  it('counts I/O on reactor queues as traffic for the keep-alive timer (TBKAS)', async () => {
    const s = t.use(await startStack(baseDoc(), { reactors: 2 }));
    // The host sends no Keep Alive in the window: only the reactor's I/O can keep the controller.
    const c = await connect({ ...t.hostOpts(), queues: 1, kato: 1000, keepAliveIntervalMs: 3_600_000 });
    try {
      expect(s.svc.reactors!.connections().map((x) => x.qid)).toEqual([1]);
      // 2.5 KATO periods with only reactor I/O: the controller must stay.
      const end = Date.now() + 2500;
      while (Date.now() < end) {
        await c.read(1, 0, 8, undefined, { qid: 1 });
        await new Promise((r) => setTimeout(r, 20));
      }
      const sub = s.svc.nvmet.subsystems.find((x) => x.nqn.endsWith('api-test'))!;
      expect(sub.controllers).toHaveLength(1);
    } finally {
      await c.close().catch(() => {});
    }
  });

  it('counts connections handed to reactors against the port\'s max_connections', async () => {
    const doc = baseDoc();
    const port = (doc['ports'] as Record<string, Record<string, string>>[])[0]!;
    port['param'] = { ...port['param'], max_connections: '3' };
    const s = t.use(await startStack(doc, { reactors: 2 }));
    const { connect: tcpConnect } = await import('node:net');
    const open = (): Promise<import('node:net').Socket> =>
      new Promise((res, rej) => {
        const so = tcpConnect(s.tcpPort(1), '127.0.0.1', () => res(so));
        so.once('error', rej);
      });
    const socks = [await open(), await open(), await open()];
    try {
      await until(() => s.svc.reactors!.stats().handedOver === 1, 5000, 'one of three connections to reach the reactor');
      const fourth = await open();
      socks.push(fourth);
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error('the 4th connection was not refused')), 5000);
        fourth.once('close', () => {
          clearTimeout(timer);
          res();
        });
        fourth.on('error', () => {});
      });
      expect(socks.slice(0, 3).every((x) => !x.destroyed)).toBe(true);
    } finally {
      for (const x of socks) x.destroy();
    }
  });

  it('refuses a fault rule while reactors serve connections (faults act on the main thread only), with a 409 naming why', async () => {
    const s = t.use(await startStack(baseDoc(), { reactors: 2 }));
    const c = await connect({ ...t.hostOpts(), queues: 1 });
    try {
      expect(s.svc.reactors!.connections()).toHaveLength(1);
      const r = await s.http('POST', '/api/faults', { match: { set: 'io' }, action: { type: 'status', sct: 0, sc: 6, dnr: true } });
      expect(r.status).toBe(409);
      expect(r.json.code).toBe('EBUSY');
      expect(r.json.error).toMatch(/1 connection\(s\) are served by reactor threads/);
    } finally {
      await c.close();
    }
    await until(() => s.svc.reactors!.connections().length === 0, 5000, 'the reactor connection to go');
    const ok = await s.http('POST', '/api/faults', { match: { set: 'io' }, action: { type: 'status', sct: 0, sc: 6, dnr: true } });
    expect(ok.status).toBe(201);
  });

  it('answers with the ANA state of an inaccessible group on a reactor queue, and runs locally again once it is optimized', async () => {
    const { s, c, onReactor } = await setup(2, 1);
    try {
      expect(onReactor).toEqual([1]);
      const port = s.svc.nvmet.ports.find((p) => p.id === 1)!;
      await c.read(1, 0, 8, undefined, { qid: 1 });
      port.ana.setState(1, AnaState.Inaccessible);
      expect(await statusOf(c.read(1, 0, 8, undefined, { qid: 1 }))).toBe(NvmeStatus.AnaInaccessible);
      port.ana.setState(1, AnaState.Optimized);
      await c.read(1, 0, 8, undefined, { qid: 1 }); // the queue's view is refreshed by this one
      await s.svc.reactors!.flush();
      const before = s.svc.reactors!.stats().localCommands;
      await c.write(1, 0, pattern(4096, 4), { qid: 1 });
      await s.svc.reactors!.flush();
      expect(s.svc.reactors!.stats().localCommands - before).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('sends every command of a namespace with reservations to the main thread, and a shrunk namespace refuses LBAs past its new end', async () => {
    const doc = baseDoc();
    const sub = (doc['subsystems'] as Record<string, unknown[]>[])[0]!;
    sub['namespaces'] = [
      { nsid: 1, enable: 1, device: { path: 'ram:64M' }, nvmet_ts: { nvme: '0000:04:00.0' } },
      { nsid: 2, enable: 1, device: { path: 'ram:16M' }, nvmet_ts: { nvme: '0000:05:00.0' }, resv: { enable: '1' } },
    ];
    const { s, c, onReactor } = await setup(2, 1, doc);
    try {
      expect(onReactor).toEqual([1]);
      await c.read(1, 0, 8, undefined, { qid: 1 });
      await s.svc.reactors!.flush();
      const st0 = s.svc.reactors!.stats();
      await c.write(2, 0, pattern(4096, 2), { qid: 1 });
      expect(Buffer.compare(await c.read(2, 0, 8, undefined, { qid: 1 }), pattern(4096, 2))).toBe(0);
      await s.svc.reactors!.flush();
      const st1 = s.svc.reactors!.stats();
      expect(st1.localCommands - st0.localCommands).toBe(0);
      expect(st1.forwardedCommands - st0.forwardedCommands).toBe(2);
      const ns1 = s.svc.nvmet.subsystems.find((x) => x.nqn.endsWith('api-test'))!.namespaces.find((n) => n.nsid === 1)!;
      ns1.resize(1024);
      expect(await statusOf(c.read(1, 1020, 8, undefined, { qid: 1 }))).toBe(NvmeStatus.LbaOutOfRange);
      ns1.resize(null);
      expect(Buffer.compare(await c.read(1, 1020, 8, undefined, { qid: 1 }), Buffer.alloc(4096))).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('closes a reactor connection that sends a malformed PDU, and the main thread lets go of it', async () => {
    const s = t.use(await startStack(baseDoc(), { reactors: 2 }));
    const { connect: tcpConnect } = await import('node:net');
    const open = (): Promise<import('node:net').Socket> =>
      new Promise((res, rej) => {
        const so = tcpConnect(s.tcpPort(1), '127.0.0.1', () => res(so));
        so.once('error', rej);
      });
    const first = await open(); // the main thread's turn
    const second = await open(); // the reactor's
    try {
      await until(() => s.svc.reactors!.stats().connections[0] === 1, 5000, 'the second connection to reach the reactor');
      const got: Buffer[] = [];
      second.on('data', (b: Buffer) => got.push(b));
      second.on('error', () => {});
      const closed = new Promise<void>((res) => second.once('close', () => res()));
      // PDU type 0x7e does not exist: a fatal error for the queue (C2HTermReq, then close).
      second.write(Buffer.from([0x7e, 0, 8, 0, 8, 0, 0, 0]));
      await closed;
      const all = Buffer.concat(got);
      expect(all[0]).toBe(0x03); // C2HTermReq
      await until(() => s.svc.reactors!.stats().connections[0] === 0, 5000, 'the main thread to drop its side');
      expect(first.destroyed).toBe(false);
    } finally {
      first.destroy();
      second.destroy();
    }
  });
});
