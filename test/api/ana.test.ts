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
