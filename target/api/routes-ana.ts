/**
 * /api/ports/:portid/ana_groups: a port's ANA groups (configfs
 * ports/<id>/ana_groups/<grpid>/ana/state) with their live state. A state set
 * here reaches the hosts at once (ANA change AEN, ANA log, I/O statuses), or —
 * with `transition_ms` — after a window in which the group reports ANA Change
 * (0Fh), at most ANATT (10 s). The document stores the final state.
 */

import type { FastifyInstance } from 'fastify';
import type { JsonObject } from '../config/json.js';
import { ServiceError } from '../service-error.js';
import { list, notFound } from './document.js';
import { portToJson } from '../config/index.js';
import { findPort } from './routes-ports.js';
import { ANA_STATE_NAMES, anaStateFromName, type AnaState } from '../../src/nvme/ana.js';
import { NVMET_ANATT, NVMET_MAX_ANAGRPS } from '../core/ana.js';
import * as S from './schemas.js';
import { apiContextOf } from './context.js';

type GroupP = { Params: { portid: string; grpid: string } };

const groupParams = {
  type: 'object',
  required: ['portid', 'grpid'],
  properties: { portid: { type: 'string', pattern: '^[0-9]{1,5}$' }, grpid: { type: 'string', pattern: '^[0-9]{1,3}$' } },
} as const;

const stateBody = {
  type: 'object',
  required: ['state'],
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: Object.values(ANA_STATE_NAMES) },
    transition_ms: { type: 'integer', minimum: 0, maximum: NVMET_ANATT * 1000 },
  },
} as const;

const stateName = (v: number): string => ANA_STATE_NAMES[v as AnaState] ?? 'none';


function checkGrpid(raw: string): number {
  const g = Number(raw);
  if (!Number.isInteger(g) || g < 1 || g > NVMET_MAX_ANAGRPS) throw new ServiceError('invalid', 'EINVAL', `params.grpid: ${raw} must be 1..${NVMET_MAX_ANAGRPS}`);
  return g;
}

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function anaRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const { svc } = ctx;

  const view = (portid: number): JsonObject[] => {
    const port = portToJson(findPort(svc.store, portid));
    const live = svc.nvmet.getPort(portid);
    const doc = new Map<number, string>();
    for (const g of list(port, 'ana_groups')) {
      const ana = g['ana'];
      const st = typeof ana === 'object' && ana !== null && !Array.isArray(ana) ? ana['state'] : undefined;
      doc.set(Number(g['grpid']), typeof st === 'string' && st !== '' ? st : 'optimized');
    }
    const ids = new Set<number>([1, ...doc.keys(), ...(live?.ana.groups() ?? [])]);
    return [...ids].sort((a, b) => a - b).map((grpid) => {
      const v: JsonObject = { grpid, state: doc.get(grpid) ?? 'optimized' };
      if (live !== undefined && live.ana.has(grpid)) {
        v['live_state'] = stateName(live.ana.state(grpid));
        v['target_state'] = stateName(live.ana.targetState(grpid));
      }
      return v;
    });
  };

  app.get<{ Params: { portid: string } }>(
    '/api/ports/:portid/ana_groups',
    { schema: { summary: 'ANA groups of a port: configured state, live state and the state a "change" window moves to', params: S.portParams } },
    async (req) => view(Number(req.params.portid)),
  );

  app.put<GroupP & { Body: { state: string; transition_ms?: number } }>(
    '/api/ports/:portid/ana_groups/:grpid',
    { schema: { summary: 'Create an ANA group or set its state live (optionally through an ANA Change window of transition_ms)', params: groupParams, body: stateBody } },
    async (req) => {
      const portid = Number(req.params.portid);
      const grpid = checkGrpid(req.params.grpid);
      const state = anaStateFromName(req.body.state);
      if (state === undefined) throw new ServiceError('invalid', 'EINVAL', `body.state: "${req.body.state}" is not an ANA state`);
      const ms = req.body.transition_ms ?? 0;
      findPort(svc.store, portid);
      const live = svc.nvmet.getPort(portid);
      // The window starts now; the document update below then finds the group already heading there.
      if (ms > 0 && live !== undefined && live.ana.has(grpid)) live.ana.setState(grpid, state, { transitionMs: ms });
      await svc.change((e) => {
        const port = portToJson(findPort(e, portid));
        const groups = list(port, 'ana_groups');
        const g = groups.find((x) => Number(x['grpid']) === grpid);
        if (g !== undefined) g['ana'] = { state: req.body.state };
        else groups.push({ grpid, ana: { state: req.body.state } });
        e.putPortJson(port, { at: { label: 'port' } });
      });
      return view(portid);
    },
  );

  app.delete<GroupP>(
    '/api/ports/:portid/ana_groups/:grpid',
    { schema: { summary: 'Remove an ANA group from a port (group 1 is implicit: it returns to optimized)', params: groupParams } },
    async (req) => {
      const portid = Number(req.params.portid);
      const grpid = checkGrpid(req.params.grpid);
      await svc.change((e) => {
        const port = portToJson(findPort(e, portid));
        const groups = list(port, 'ana_groups');
        const i = groups.findIndex((x) => Number(x['grpid']) === grpid);
        if (i < 0 && grpid !== 1) throw notFound(`ANA group ${grpid} on port ${portid}`);
        if (i >= 0) groups.splice(i, 1);
        e.putPortJson(port, { at: { label: 'port' } });
      });
      return view(portid);
    },
  );
}
