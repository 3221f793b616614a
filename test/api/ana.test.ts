/**
 * ANA over the management API, observed live through the TypeScript initiator:
 * a group created and set (immediately or through a "change" window), the
 * namespace's ana_grpid moved, the document storing nvmetcli's ana_groups.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { connect, NvmeError, type Controller } from '../../initiator/index.js';
import { startStack, enc, until, SUBNQN, type Stack } from './helpers.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { AnaState, decodeAnaLog } from '../../src/nvme/ana.js';
import { NvmeStatus, statusCode } from '../../src/nvme/status.js';

let s: Stack;
let c: Controller | undefined;
beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  await c?.close().catch(() => undefined);
  c = undefined;
  await s.close();
});

async function readStatus(ctrl: Controller): Promise<number> {
  const e = await ctrl.read(1, 0, 1).then(() => null, (x: unknown) => x);
  if (e === null) return 0;
  if (!(e instanceof NvmeError)) throw e;
  return statusCode(e.status);
}

describe('ANA groups over the API', () => {
  test('create group 2, move the namespace there, set inaccessible live, then optimized through a change window', async () => {
    c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, queues: 1, kato: 0 });
    const r1 = await s.http('PUT', '/api/ports/1/ana_groups/2', { state: 'non-optimized' });
    expect(r1.status).toBe(200);
    expect(r1.json).toEqual([
      { grpid: 1, state: 'optimized', live_state: 'optimized', target_state: 'optimized' },
      { grpid: 2, state: 'non-optimized', live_state: 'non-optimized', target_state: 'non-optimized' },
    ]);
    const r2 = await s.http('PATCH', `/api/subsystems/${enc(SUBNQN)}/namespaces/1`, { ana_grpid: 2 });
    expect(r2.status).toBe(200);
    const log = decodeAnaLog(await c.getLogPage(LogId.Ana, 4096));
    expect(log.groups.map((g) => [g.grpid, g.state, g.nsids])).toEqual([[1, AnaState.Optimized, []], [2, AnaState.NonOptimized, [1]]]);

    expect((await s.http('PUT', '/api/ports/1/ana_groups/2', { state: 'inaccessible' })).status).toBe(200);
    expect(await readStatus(c)).toBe(NvmeStatus.AnaInaccessible);

    const r3 = await s.http('PUT', '/api/ports/1/ana_groups/2', { state: 'optimized', transition_ms: 400 });
    expect(r3.json[1]).toEqual({ grpid: 2, state: 'optimized', live_state: 'change', target_state: 'optimized' });
    expect(await readStatus(c)).toBe(NvmeStatus.AnaTransition);
    await until(() => s.svc.nvmet.getPort(1)!.ana.state(2) === AnaState.Optimized, 3000, 'end of the change window');
    expect(await readStatus(c)).toBe(0);

    // The document keeps nvmetcli's shape.
    const doc = (await s.http('GET', '/api/state')).json;
    expect(doc.ports[0].ana_groups).toEqual([{ ana: { state: 'optimized' }, grpid: 2 }]);
    expect(doc.subsystems[0].namespaces[0].ana_grpid).toBe(2);
  });

  test('bad state, bad group id, window beyond ANATT are 400 naming the field; group 1 cannot go away', async () => {
    const bad = await s.http('PUT', '/api/ports/1/ana_groups/2', { state: 'happy' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/state/);
    const big = await s.http('PUT', '/api/ports/1/ana_groups/129', { state: 'optimized' });
    expect(big.status).toBe(400);
    expect(big.text).toMatch(/grpid/);
    const long = await s.http('PUT', '/api/ports/1/ana_groups/1', { state: 'optimized', transition_ms: 10_001 });
    expect(long.status).toBe(400);
    expect(long.text).toMatch(/transition_ms/);
    expect((await s.http('PUT', '/api/ports/1/ana_groups/1', { state: 'inaccessible' })).status).toBe(200);
    const del = await s.http('DELETE', '/api/ports/1/ana_groups/1');
    expect(del.status).toBe(200);
    expect(del.json[0]).toMatchObject({ grpid: 1, state: 'optimized', live_state: 'optimized' });
    expect((await s.http('DELETE', '/api/ports/1/ana_groups/5')).status).toBe(404);
    expect((await s.http('GET', '/api/ports/9/ana_groups')).status).toBe(404);
  });
});

describe('reservations through the configuration', () => {
  test('resv.enable set over the API turns reservations on for that namespace (rebuilt)', async () => {
    const { encodeResvReportCommand, decodeResvStatus } = await import('../../src/nvme/reservations.js');
    const report = async (ctrl: Controller): Promise<number> => {
      const r = await ctrl.submit(1, encodeResvReportCommand(new Uint8Array(64), { nsid: 1, length: 64 }), { dataIn: 64 });
      if (r.status === 0) decodeResvStatus(r.data!, true);
      return statusCode(r.status);
    };
    c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, queues: 1, kato: 0 });
    expect(await report(c)).toBe(NvmeStatus.InvalidOpcode);
    const r = await s.http('PATCH', `/api/subsystems/${enc(SUBNQN)}/namespaces/1`, { enable: 0 });
    expect(r.status).toBe(200);
    expect((await s.http('PATCH', `/api/subsystems/${enc(SUBNQN)}/namespaces/1`, { resv: { enable: '1' }, enable: 1 })).status).toBe(200);
    await until(() => s.svc.nvmet.getSubsystem(SUBNQN)!.getNamespace(1)?.enabled === true, 3000, 'namespace back');
    expect(await report(c)).toBe(0);
    expect(s.svc.nvmet.getSubsystem(SUBNQN)!.getNamespace(1)!.pr).not.toBeNull();
  });
});
