/**
 * /api/faults over HTTP, seen by the TypeScript initiator over real NVMe/TCP:
 * a rule added live acts exactly on the commands it matches, is counted in
 * /metrics, and removing it restores normal behaviour. Bad rules get 4xx naming the field.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import type { Controller } from '../../initiator/controller.js';
import { NvmeStatusError, STATUS_DNR } from '../../src/nvme/status.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { startStack, parsePrometheus, SUBNQN, type Stack } from './helpers.js';

let s: Stack;
let c: Controller;
beforeAll(async () => {
  s = await startStack();
  c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1 });
});
afterAll(async () => {
  await c?.close();
  await s.close();
});

const statusOf = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
    return 0;
  } catch (e) {
    if (e instanceof NvmeStatusError) return e.status;
    throw e;
  }
};

describe('/api/faults', () => {
  test('rejects bad rules with 400 naming the field', async () => {
    for (const [body, field] of [
      [{ action: { type: 'status', sct: 0 } }, 'body.action.sc'],
      [{ match: { quid: 1 }, action: { type: 'hang' } }, 'body.match.quid'],
      [{ match: { lba: { first: 9, last: 1 } }, action: { type: 'hang' } }, 'body.match.lba.last'],
      [{ action: { type: 'delay', p50: 5 } }, 'body.action.p99'],
    ] as const) {
      const r = await s.http('POST', '/api/faults', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}`));
    }
    expect((await s.http('GET', '/api/faults')).json.rules).toEqual([]);
  });

  test('a status rule fails exactly the matching read once over NVMe/TCP; counted in /metrics', async () => {
    await c.write(1, 0, new Uint8Array(4096).fill(0x5a));
    const add = await s.http('POST', '/api/faults', {
      id: 'bad-read',
      match: { set: 'io', opcode: IoOpcode.Read, nsid: 1, lba: { first: 0, last: 7 } },
      fire: { count: 1 },
      action: { type: 'status', sct: 2, sc: 0x81, dnr: true },
    });
    expect(add.status).toBe(201);
    expect(add.json).toMatchObject({ id: 'bad-read', injected: 0, spent: false, source: 'api' });
    expect((await s.http('POST', '/api/faults', { id: 'bad-read', action: { type: 'hang' } })).status).toBe(409);

    expect(await statusOf(c.read(1, 64, 8))).toBe(0); // other LBAs: bystander
    expect(await statusOf(c.read(1, 0, 8))).toBe(0x281 | STATUS_DNR); // Unrecovered Read Error
    expect(await statusOf(c.read(1, 0, 8))).toBe(0); // count 1: spent
    expect(await statusOf(c.write(1, 0, new Uint8Array(4096).fill(1)))).toBe(0);

    const one = await s.http('GET', '/api/faults/bad-read');
    expect(one.json).toMatchObject({ hits: 1, injected: 1, spent: true }); // hits: matches while live
    const fam = parsePrometheus((await s.http('GET', '/metrics')).text);
    expect(fam.get('nvmet_faults_injected_total')?.samples.find((x) => x.labels['action'] === 'status')?.value).toBe(1);

    expect((await s.http('DELETE', '/api/faults/bad-read')).status).toBe(204);
    expect((await s.http('DELETE', '/api/faults/bad-read')).status).toBe(404);
    expect((await s.http('GET', '/api/faults/bad-read')).status).toBe(404);
  });

  test('corrupt-data and delay act on the TCP data path; removing them restores it', async () => {
    const data = new Uint8Array(4096).map((_, i) => i & 0xff);
    await c.write(1, 100, data);
    expect((await s.http('POST', '/api/faults', { id: 'flip', match: { set: 'io', opcode: IoOpcode.Read, lba: { first: 100, last: 100 } }, action: { type: 'corrupt-data', offset: 10, xor: 0xff } })).status).toBe(201);
    expect((await s.http('POST', '/api/faults', { id: 'slow', match: { set: 'io', opcode: IoOpcode.Read }, action: { type: 'delay', ms: 60 } })).status).toBe(201);
    const t0 = performance.now();
    const got = await c.read(1, 100, 8);
    const ms = performance.now() - t0;
    const want = data.slice();
    want[10] = want[10]! ^ 0xff;
    // First matching rule acts: "flip" (listed first) corrupts, "slow" does not see this read.
    expect(new Uint8Array(got)).toEqual(want);
    const t1 = performance.now();
    expect(await c.read(1, 200, 8)).toBeInstanceOf(Uint8Array);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(55);
    expect(ms).toBeLessThan(performance.now() - t1 + 1000);
    expect((await s.http('DELETE', '/api/faults')).status).toBe(204);
    expect(new Uint8Array(await c.read(1, 100, 8))).toEqual(data);
    const list = await s.http('GET', '/api/faults');
    expect(list.json.rules).toEqual([]);
    expect(list.json.injected).toMatchObject({ 'corrupt-data': 1, delay: 1 });
  });
});
