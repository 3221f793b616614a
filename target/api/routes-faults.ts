/**
 * /api/faults: fault and latency injection rules, live (target/fault/). Rules
 * added here act from the next command; they are not written to the config
 * (the config's `nvmet_ts.faults` holds a saved set, loaded at start).
 */

import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../service-error.js';
import { faultEngine, parseFaultRule, FaultRuleError } from '../fault/index.js';
import type { ApiContext } from './context.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

/** The rule JSON is checked by parseFaultRule (one validator for API, config, CLI); this only documents it. */
const ruleBody = {
  type: 'object',
  description: 'A fault rule: {id?, match?, fire?, action} (see target/fault/rule.ts and the README)',
  required: ['action'],
  properties: {
    id: { type: 'string' },
    match: { type: 'object' },
    fire: { type: 'object' },
    action: { type: 'object' },
  },
} as const;

export function faultRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const engine = faultEngine(ctx.svc.nvmet);

  app.get('/api/faults', { schema: { summary: 'List fault rules with their counters, injections per action and held commands' } }, async () => ({
    rules: engine.list(),
    injected: Object.fromEntries(engine.injectedTotals()),
    held: engine.heldCount,
  }));

  app.get<{ Params: { id: string } }>('/api/faults/:id', { schema: { summary: 'One fault rule', params: idParams } }, async (req) => {
    const r = engine.get(req.params.id);
    if (r === undefined) throw new ServiceError('not-found', 'ENOENT', `fault rule ${req.params.id} does not exist`);
    return r;
  });

  app.post('/api/faults', { schema: { summary: 'Add a fault rule (acts from the next command)', body: ruleBody } }, async (req, reply) => {
    try {
      return reply.code(201).send(engine.add(parseFaultRule(req.body, 'body'), 'api'));
    } catch (e) {
      if (e instanceof FaultRuleError) {
        const exists = e.path === 'id';
        throw new ServiceError(exists ? 'conflict' : 'invalid', exists ? 'EEXIST' : 'EINVAL', exists ? `body.${e.message}` : e.message);
      }
      throw e;
    }
  });

  app.delete<{ Params: { id: string } }>('/api/faults/:id', { schema: { summary: 'Remove a fault rule (held commands stay held until aborted or due)', params: idParams } }, async (req, reply) => {
    if (!engine.remove(req.params.id)) throw new ServiceError('not-found', 'ENOENT', `fault rule ${req.params.id} does not exist`);
    return reply.code(204).send();
  });

  app.delete('/api/faults', { schema: { summary: 'Remove every fault rule added over the API' } }, async (_req, reply) => {
    engine.clear('api');
    return reply.code(204).send();
  });
}
