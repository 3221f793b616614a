/** The config's `nvmet_ts.faults`: parsed with JSON-path errors, serialized back, applied by the service. */
import { describe, expect, it } from 'vitest';
import { parseConfig, configToJson } from '../../target/config/index.js';
import { faultEngine } from '../../target/fault/index.js';
import { baseDoc, startStack } from '../api/helpers.js';

const rule = { id: 'slow', match: { set: 'io', opcode: 2 }, action: { type: 'delay', p50: 5, p99: 50 } };

describe('config nvmet_ts.faults', () => {
  it('parses rules and serializes them back', () => {
    const r = parseConfig({ ...baseDoc(), nvmet_ts: { faults: [rule] } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.faults).toEqual([rule]);
    expect(configToJson(r.config)['nvmet_ts']).toEqual({ faults: [rule] });
    const plain = parseConfig(baseDoc());
    expect(plain.ok && configToJson(plain.config)['nvmet_ts']).toBe(undefined);
  });

  it.each([
    [{ faults: [rule, { action: { type: 'status', sct: 1 } }] }, 'nvmet_ts.faults[1].action.sc'],
    [{ faults: [{ match: { qid: 'one' }, action: { type: 'hang' } }] }, 'nvmet_ts.faults[0].match.qid'],
    [{ faults: [rule, rule] }, 'nvmet_ts.faults[1].id'],
    [{ faults: {} }, 'nvmet_ts.faults'],
    [{ fault: [] }, 'nvmet_ts.fault'],
    [[], 'nvmet_ts'],
  ])('rejects %j naming %s', (section, path) => {
    const r = parseConfig({ ...baseDoc(), nvmet_ts: section });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toContain(path);
  });

  it('the service loads the rules at start and replaces them when the config changes', async () => {
    const s = await startStack({ ...baseDoc(), nvmet_ts: { faults: [rule] } });
    try {
      const engine = faultEngine(s.svc.nvmet);
      expect(engine.list()).toMatchObject([{ id: 'slow', source: 'config', action: rule.action }]);
      const r = await s.http('POST', '/api/faults', { id: 'live', action: { type: 'hang' }, match: { qid: 9 } });
      expect(r.status).toBe(201);
      const doc = { ...baseDoc(), nvmet_ts: { faults: [{ ...rule, id: 'slower', action: { type: 'delay', ms: 100 } }] } };
      const put = await s.http('PUT', '/api/state', doc);
      expect(put.status, put.text).toBeLessThan(300);
      expect(engine.list().map((x) => [x.id, x.source])).toEqual([['live', 'api'], ['slower', 'config']]);
    } finally {
      await s.close();
    }
  });
});
