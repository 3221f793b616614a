/**
 * /api/faults: fault and latency injection rules, live (target/fault/). Rules
 * added here act from the next command (or on their schedule); /api/save writes
 * them into the config's `nvmet_ts.faults` (appended to the config's own rules),
 * from where they load at the next start.
 */

import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../service-error.js';
import { faultEngine, parseFaultRule, FaultRuleError } from '../fault/index.js';
import { apiContextOf } from './context.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

/** The rule JSON is checked by parseFaultRule (one validator for API, config, CLI); this only documents it. */
const ruleBody = {
  type: 'object',
  description: 'A fault rule: {id?, match?, fire? | schedule?, action} (see target/fault/rule.ts and the README)',
  required: ['action'],
  properties: {
    id: { type: 'string' },
    match: { type: 'object' },
    fire: { type: 'object' },
    schedule: { type: 'object' },
    action: { type: 'object' },
  },
} as const;

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function faultRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const engine = faultEngine(ctx.svc.nvmet);

  app.get('/api/faults', { schema: { summary: 'List fault rules with their counters, injections per action and held commands' } }, async () => ({
    rules: engine.list(),
    injected: Object.fromEntries(engine.injectedTotals()),
    held: engine.heldCount,
    heldCommands: engine.heldCommands(),
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
        // Paths from parsing start with "body"; the engine's checks (id taken, a TCP-only action on another transport's port) name the rule's own field.
        if (e.path === 'reactors') throw new ServiceError('conflict', 'EBUSY', e.reason);
        const exists = e.path === 'id';
        const msg = e.path.startsWith('body') ? e.message : `body.${e.message}`;
        throw new ServiceError(exists ? 'conflict' : 'invalid', exists ? 'EEXIST' : 'EINVAL', msg);
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
