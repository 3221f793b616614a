/**
 * Controller-level fault actions, on a schedule or fired by a command, seen by
 * the TypeScript initiator over real NVMe/TCP: namespace remove / add / resize
 * give the Namespace Attribute Changed AEN and the Changed Namespace List
 * (Linux nvmet_ns_changed), ANA state flips give the ANA change AEN and I/O
 * status of the new state, a scheduled controller fatal fails the matched
 * host's controller only. Bystanders (the other namespace, the other host) see nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type AsyncEvent, type Controller } from '../../initiator/index.js';
import { AerNotice, AerType } from '../../src/nvme/async-event.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { encodeRwCommand } from '../../src/nvme/sqe.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { AnaState, decodeAnaLog } from '../../src/nvme/ana.js';
import { NvmeStatus, NvmeStatusError } from '../../src/nvme/status.js';
import { CSTS_CFS } from '../../src/nvme/registers.js';
import { faultEngine, parseFaultRule } from '../../target/fault/index.js';
import { baseDoc, parsePrometheus, startStack, SUBNQN, until, type Stack } from '../api/helpers.js';

let s: Stack;
beforeAll(async () => {
  const doc = baseDoc();
  const sub = (doc['subsystems'] as Record<string, unknown>[])[0]!;
  (sub['namespaces'] as unknown[]).push({ nsid: 2, enable: 1, device: { path: 'ram:16M' }, nvmet_ts: { nvme: '0000:04:00.0' } });
  s = await startStack(doc);
});
afterAll(async () => {
  await s.close();
});
const open: Controller[] = [];
afterEach(async () => {
  faultEngine(s.svc.nvmet).clear();
  for (const c of open.splice(0)) c.abort();
});

const engine = () => faultEngine(s.svc.nvmet);
const rule = (json: unknown) => engine().add(parseFaultRule(json));

async function host(hostnqn: string, events: AsyncEvent[] = []): Promise<Controller> {
  const c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1, hostnqn, onAsyncEvent: (ev) => events.push(ev) });
  open.push(c);
  return c;
}

const statusOf = (p: Promise<unknown>): Promise<number> =>
  p.then(
    () => 0,
    (e: unknown) => {
      if (e instanceof NvmeStatusError) return e.status & 0x7ff;
      throw e;
    },
  );

const nsChanged = (evs: AsyncEvent[]) => evs.filter((e) => e.type === AerType.Notice && e.info === AerNotice.NsAttributeChanged);

describe('fault rules: namespace events', () => {
  it('namespace-remove on a schedule, then namespace-add fired by a Flush: AEN + Changed Namespace List each time; namespace 1 never notices', async () => {
    const events: AsyncEvent[] = [];
    const c = await host('nqn.2014-08.org.example:ns-events', events);
    await c.write(2, 0, new Uint8Array(4096).fill(0x42));
    expect(await c.activeNamespaces()).toEqual([1, 2]);
    rule({ id: 'rm', schedule: { afterMs: 50 }, match: { subsysnqn: SUBNQN }, action: { type: 'namespace-remove', nsid: 2 } });
    await until(() => nsChanged(events).length === 1, 3000, 'the Namespace Attribute Changed AEN');
    expect(nsChanged(events)[0]).toMatchObject({ logPage: LogId.ChangedNsList, changedNamespaces: [2] });
    expect(await c.activeNamespaces()).toEqual([1]);
    // (the initiator's read() refuses an inactive namespace itself: send the Read raw)
    const r = await c.ioQueues[0]!.submit({ sqe: encodeRwCommand(new Uint8Array(64), { opcode: IoOpcode.Read, cid: 0, nsid: 2, slba: 0, blocks: 8 }), dataIn: new Uint8Array(4096) });
    expect(r.status & 0x7ff).toBe(NvmeStatus.InvalidNs);
    expect(await statusOf(c.read(1, 0, 8))).toBe(0);
    expect(engine().get('rm')).toMatchObject({ injected: 1, spent: true });

    rule({ id: 'add', match: { set: 'io', opcode: IoOpcode.Flush, nsid: 1 }, fire: { count: 1 }, action: { type: 'namespace-add', nsid: 2 } });
    await c.flush(1);
    await until(() => nsChanged(events).length === 2, 3000, 'the second AEN');
    expect(nsChanged(events)[1]!.changedNamespaces).toEqual([2]);
    expect(await c.activeNamespaces()).toEqual([1, 2]);
    // Back and usable. (A RAM namespace comes back empty: disabling closes its backend, as nvmet_ns_disable
    // closes the device; a file namespace keeps its data.)
    await c.write(2, 0, new Uint8Array(4096).fill(0x43));
    expect(new Uint8Array(await c.read(2, 0, 8))).toEqual(new Uint8Array(4096).fill(0x43));
    expect(engine().injectedTotals().get('namespace-remove')).toBe(1);
    expect(engine().injectedTotals().get('namespace-add')).toBe(1);
  });

  it('namespace-resize: NSZE shrinks to the given blocks (LBAs beyond are out of range), and back to the backend size; an AEN each time', async () => {
    const events: AsyncEvent[] = [];
    const c = await host('nqn.2014-08.org.example:ns-resize', events);
    const full = Number((await c.identifyNamespace(2)).nsze);
    expect(full).toBe((16 << 20) / 512);
    rule({ schedule: { afterMs: 20 }, action: { type: 'namespace-resize', nsid: 2, blocks: 1024 } });
    await until(() => nsChanged(events).length === 1, 3000, 'the AEN');
    expect(nsChanged(events)[0]!.changedNamespaces).toEqual([2]);
    expect(Number((await c.identifyNamespace(2)).nsze)).toBe(1024);
    expect(await statusOf(c.read(2, 1020, 8))).toBe(NvmeStatus.LbaOutOfRange);
    expect(await statusOf(c.read(2, 1016, 8))).toBe(0);
    expect(Number((await c.identifyNamespace(1)).nsze)).toBe((64 << 20) / 512);
    engine().clear();
    rule({ schedule: { afterMs: 0 }, action: { type: 'namespace-resize', nsid: 2 } });
    await until(() => nsChanged(events).length === 2, 3000, 'the second AEN');
    expect(Number((await c.identifyNamespace(2)).nsze)).toBe(full);
  });
});

describe('fault rules: ANA state flips', () => {
  // The first state must hold while the test reads the log and does I/O under it: 2 s, not
  // 400 ms, so a loaded CI machine does not see the second flip first.
  it('ana-state (added over HTTP) every 2 s alternates inaccessible / optimized on the port: ANA change AEN, ANA log and I/O status follow', async () => {
    const events: AsyncEvent[] = [];
    const c = await host('nqn.2014-08.org.example:ana', events);
    const ana = s.svc.nvmet.getPort(1)!.ana;
    expect(ana.state(1)).toBe(AnaState.Optimized);
    const anaEvents = () => events.filter((e) => e.type === AerType.Notice && e.info === AerNotice.AnaChange);
    const add = await s.http('POST', '/api/faults', { id: 'flip', schedule: { afterMs: 30, everyMs: 2000, count: 2 }, match: { port: 1 }, action: { type: 'ana-state', group: 1, states: ['inaccessible', 'optimized'] } });
    expect(add.status).toBe(201);
    expect((await s.http('POST', '/api/faults', { schedule: { afterMs: 1 }, action: { type: 'hang' } })).text).toMatch(/body\.schedule: only controller-level actions/);
    await until(() => anaEvents().length === 1, 3000, 'the ANA change AEN');
    expect(anaEvents()[0]!.logPage).toBe(LogId.Ana);
    const log = decodeAnaLog(await c.getLogPage(LogId.Ana, 4096));
    expect(log.groups.find((g) => g.grpid === 1)?.state).toBe(AnaState.Inaccessible);
    expect(await statusOf(c.read(1, 0, 1))).toBe(NvmeStatus.AnaInaccessible);
    await until(() => anaEvents().length === 2, 6000, 'the second ANA change AEN');
    expect(ana.state(1)).toBe(AnaState.Optimized);
    expect(await statusOf(c.read(1, 0, 1))).toBe(0);
    expect(engine().get('flip')).toMatchObject({ injected: 2, spent: true });
    // /metrics counts it per action.
    const fam = parsePrometheus((await s.http('GET', '/metrics')).text);
    expect(fam.get('nvmet_faults_injected_total')?.samples.find((x) => x.labels['action'] === 'ana-state')?.value).toBe(2);
  });
});

describe('fault rules: scheduled controller fatal', () => {
  it("controller-fatal on a schedule, scoped by hostnqn: that host's controller sets CSTS.CFS and drops its queues; the other host's works", async () => {
    const victim = await host('nqn.2014-08.org.example:cfs-victim');
    const other = await host('nqn.2014-08.org.example:cfs-other');
    const ctrl = s.svc.nvmet.subsystems.flatMap((x) => x.controllers).find((x) => x.hostnqn === 'nqn.2014-08.org.example:cfs-victim')!;
    rule({ schedule: { afterMs: 30 }, match: { hostnqn: 'nqn.2014-08.org.example:cfs-victim' }, action: { type: 'controller-fatal' } });
    await until(() => (ctrl.csts & CSTS_CFS) !== 0, 3000, 'CSTS.CFS');
    await until(() => victim.ioQueues[0]!.closed, 3000, 'the victim queue dropped');
    expect(await statusOf(other.read(1, 0, 1))).toBe(0);
    expect(engine().injectedTotals().get('controller-fatal')).toBe(1);
  });
});

describe('fault rules: schedules end with the target', () => {
  it('a repeating scheduled rule stops firing once the target shuts down', async () => {
    const { createNvmet } = await import('../../target/create-nvmet.js');
    const { silentLogger } = await import('../../target/core/log.js');
    const nvmet = createNvmet({ logger: silentLogger });
    const sub = nvmet.addSubsystem({ nqn: 'nqn.2014-08.org.example:sched', allowAnyHost: true });
    await sub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 1 << 20 } }).enable();
    const e = faultEngine(nvmet);
    e.add(parseFaultRule({ id: 'tick', schedule: { everyMs: 20 }, action: { type: 'namespace-resize', nsid: 1, blocks: 100 } }));
    await until(() => (e.get('tick')?.injected ?? 0) >= 2, 3000, 'two firings');
    await nvmet.shutdown();
    const n = e.get('tick')!.injected;
    await new Promise((r) => setTimeout(r, 120));
    expect(e.get('tick')!.injected).toBe(n);
  });
});
