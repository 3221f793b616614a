/**
 * Asymmetric Namespace Access through the TCP initiator, as Linux nvmet does it
 * (admin-cmd.c identify/ANA log, core.c nvmet_check_ana_state,
 * configfs.c ana_groups): Identify fields, the ANA log with and without RGO,
 * change counts, the ANA change AEN, and the path statuses of I/O.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, NvmeError } from '../../initiator/index.js';
import type { AsyncEvent, Controller } from '../../initiator/index.js';
import { NvmeStatus, STATUS_DNR, statusCode } from '../../src/nvme/status.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { Cns } from '../../src/nvme/identify.js';
import { decodeIdentifyNamespace } from '../../src/nvme/identify-ns.js';
import { ANA_LOG_RGO, AnaState, decodeAnaLog } from '../../src/nvme/ana.js';
import { AerNotice, AerType } from '../../src/nvme/async-event.js';
import { Cmic } from '../../src/nvme/identify-ctrl.js';
import { rd32 } from '../../src/nvme/le.js';
import { startTarget, SUBNQN, pattern } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget | undefined;
let c: Controller | undefined;
afterEach(async () => {
  await c?.close();
  await t?.stop();
  c = undefined;
  t = undefined;
});

async function setup(events?: AsyncEvent[]): Promise<{ t: TestTarget; c: Controller }> {
  t = await startTarget({ namespaces: { 1: 4 << 20, 2: 4 << 20 } });
  c = await connect({
    host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1,
    ...(events !== undefined ? { onAsyncEvent: (ev: AsyncEvent) => events.push(ev) } : {}),
  });
  return { t, c };
}

async function statusOf(p: Promise<unknown>): Promise<number> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof NvmeError)) throw new Error(`expected an NvmeError, got ${String(e)}`);
  return e.status;
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const anaLog = async (ctrl: Controller, rgo = false) => decodeAnaLog(await ctrl.getLogPage(LogId.Ana, 4096, { lsp: rgo ? ANA_LOG_RGO : 0 }));

describe('ANA identify fields', () => {
  test('Identify Controller: CMIC ANA, ANACAP 0x1f, ANATT 10, ANAGRPMAX = NANAGRPID = 128; Identify Namespace ANAGRPID', async () => {
    const { t, c } = await setup();
    const id = await c.identifyController();
    expect(id.cmic & Cmic.Ana).toBe(Cmic.Ana);
    expect(id.anacap).toBe(0x1f);
    expect(id.anatt).toBe(10);
    expect(id.anagrpmax).toBe(128);
    expect(id.nanagrpid).toBe(128);
    t.port.ana.addGroup(7);
    t.subsys.getNamespace(2)!.setAnaGrpid(7);
    expect((await c.identifyNamespace(1)).anagrpid).toBe(1);
    expect((await c.identifyNamespace(2)).anagrpid).toBe(7);
    // CNS 08h (I/O command set independent) carries ANAGRPID at byte 4 too.
    expect(rd32(await c.identify(Cns.CsIndependentNamespace, 2), 4)).toBe(7);
  });
});

describe('ANA log page (LID 0Ch)', () => {
  test('group 1 implicit and optimized with every namespace; RGO drops the NSID lists', async () => {
    const { c } = await setup();
    const log = await anaLog(c);
    expect(log.ngrps).toBe(1);
    expect(log.groups).toEqual([{ grpid: 1, chgcnt: log.chgcnt, state: AnaState.Optimized, nsids: [1, 2] }]);
    const rgo = await anaLog(c, true);
    expect(rgo.groups).toEqual([{ grpid: 1, chgcnt: log.chgcnt, state: AnaState.Optimized, nsids: [] }]);
  });

  test('group changes bump the change count, are reported per port, and raise the ANA change AEN', async () => {
    const events: AsyncEvent[] = [];
    const { t, c } = await setup(events);
    const before = (await anaLog(c)).chgcnt;
    t.port.ana.addGroup(2);
    await until(() => events.length === 1, 'ANA change AEN');
    expect(events[0]).toMatchObject({ type: AerType.Notice, info: AerNotice.AnaChange, logPage: LogId.Ana });
    t.subsys.getNamespace(2)!.setAnaGrpid(2);
    t.port.ana.setState(2, AnaState.NonOptimized);
    // Masked until the host reads the log (nvmet_aen_bit_disabled): no second event yet.
    await new Promise((r) => setTimeout(r, 50));
    expect(events.length).toBe(1);
    const log = await anaLog(c);
    expect(log.chgcnt).toBe(before + 3n);
    expect(log.groups).toEqual([
      { grpid: 1, chgcnt: log.chgcnt, state: AnaState.Optimized, nsids: [1] },
      { grpid: 2, chgcnt: log.chgcnt, state: AnaState.NonOptimized, nsids: [2] },
    ]);
    // Read with RAE=0: re-armed, the next change reports again.
    t.port.ana.setState(2, AnaState.Optimized);
    await until(() => events.length === 2, 'second ANA change AEN');
  });

  // Linux nvmet_ports_make: every group but 1 starts NVME_ANA_INACCESSIBLE on a port. A state
  // of 0 would make a Linux host WARN in nvme_parse_ana_log and fail the connect (seen with the
  // 6.1 host: a second port serving a subsystem while another port defined group 2).
  test('a group defined only on another port is listed Inaccessible here, and I/O to its namespaces fails over', async () => {
    const { t, c } = await setup();
    const other = t.nvmet.addPort({ portId: 2, trtype: t.port.addr.trtype, traddr: '127.0.0.1', trsvcid: '0' });
    other.ana.addGroup(9);
    const log = await anaLog(c);
    expect(log.groups.map((g) => [g.grpid, g.state])).toEqual([[1, AnaState.Optimized], [9, AnaState.Inaccessible]]);
    expect(log.groups.every((g) => g.state !== 0)).toBe(true);
    t.subsys.getNamespace(2)!.setAnaGrpid(9);
    const st = await statusOf(c.read(2, 0, 1));
    expect(statusCode(st)).toBe(NvmeStatus.AnaInaccessible);
    expect(st & STATUS_DNR).toBe(0);
    expect((await anaLog(c)).groups.find((g) => g.grpid === 9)?.nsids).toEqual([2]);
  });
});

describe('I/O through a non-optimized path', () => {
  const cases: [string, AnaState, number][] = [
    ['inaccessible', AnaState.Inaccessible, NvmeStatus.AnaInaccessible],
    ['persistent loss', AnaState.PersistentLoss, NvmeStatus.AnaPersistentLoss],
    ['change', AnaState.Change, NvmeStatus.AnaTransition],
  ];
  for (const [name, state, want] of cases) {
    test(`${name}: reads and writes fail with 0x${want.toString(16)} and no DNR; back to optimized they work`, async () => {
      const { t, c } = await setup();
      await c.write(1, 0, pattern(512, 1));
      t.port.ana.setState(1, state);
      const st = await statusOf(c.read(1, 0, 1));
      expect(statusCode(st)).toBe(want);
      expect(st & STATUS_DNR).toBe(0);
      expect(statusCode(await statusOf(c.write(1, 0, pattern(512, 2))))).toBe(want);
      // Admin commands still work; Identify NUSE is 0 where Linux reports it so.
      const ns = decodeIdentifyNamespace(await c.identify(Cns.Namespace, 1));
      expect(ns.nuse).toBe(state === AnaState.Change ? ns.nsze : 0n);
      t.port.ana.setState(1, AnaState.NonOptimized);
      expect(new Uint8Array(await c.read(1, 0, 1))).toEqual(pattern(512, 1));
    });
  }

  test('a "change" window: Transition during it, the target state after', async () => {
    const { t, c } = await setup();
    t.port.ana.setState(1, AnaState.Inaccessible, { transitionMs: 300 });
    expect(statusCode(await statusOf(c.read(1, 0, 1)))).toBe(NvmeStatus.AnaTransition);
    await until(() => t.port.ana.state(1) === AnaState.Inaccessible, 'end of the change window');
    expect(statusCode(await statusOf(c.read(1, 0, 1)))).toBe(NvmeStatus.AnaInaccessible);
  });
});
