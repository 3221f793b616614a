/** /api/hosts: host NQNs known to the target (configfs hosts/<nqn>). */

import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../service.js';
import { docJson, list, notFound, validateDoc } from './document.js';
import * as S from './schemas.js';
import type { ApiContext } from './context.js';

export function hostRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { svc } = ctx;

  app.get('/api/hosts', { schema: { summary: 'List hosts' } }, async () => list(docJson(svc.config), 'hosts'));

  app.post<{ Body: { nqn: string } }>('/api/hosts', { schema: { summary: 'Define a host NQN', body: S.nqnBody } }, async (req, reply) => {
    const nqn = req.body.nqn;
    await svc.update((cur) => {
      if (cur.hosts.some((h) => h.nqn === nqn)) throw new ServiceError(409, 'EEXIST', `body.nqn: host ${nqn} already exists`);
      const json = docJson(cur);
      const hosts = list(json, 'hosts');
      hosts.push({ nqn });
      return { config: validateDoc(svc, json, { prefix: `hosts[${hosts.length - 1}]`, label: 'body' }) };
    });
    return reply.code(201).send({ nqn });
  });

  app.get<{ Params: { nqn: string } }>('/api/hosts/:nqn', { schema: { summary: 'One host and the subsystems allowing it', params: S.nqnParams } }, async (req) => {
    const { nqn } = req.params;
    const h = svc.config.hosts.find((x) => x.nqn === nqn);
    if (h === undefined) throw notFound(`host ${nqn}`);
    const controllers = svc.nvmet.subsystems.flatMap((s) => s.controllers.filter((c) => c.hostnqn === nqn).map((c) => ({ subsystem: s.nqn, cntlid: c.cntlid, port: c.port.id })));
    return { nqn, allowed_by: svc.config.subsystems.filter((s) => s.allowedHosts.includes(nqn)).map((s) => s.nqn), live: { controllers } };
  });

  app.delete<{ Params: { nqn: string } }>('/api/hosts/:nqn', { schema: { summary: 'Forget a host (409 while a subsystem allows it)', params: S.nqnParams } }, async (req, reply) => {
    const { nqn } = req.params;
    await svc.update((cur) => {
      const i = cur.hosts.findIndex((h) => h.nqn === nqn);
      if (i < 0) throw notFound(`host ${nqn}`);
      const users = cur.subsystems.filter((s) => s.allowedHosts.includes(nqn)).map((s) => s.nqn);
      if (users.length > 0) throw new ServiceError(409, 'EBUSY', `host ${nqn} is allowed by ${users.join(', ')}: remove it from their allowed_hosts first`);
      const json = docJson(cur);
      list(json, 'hosts').splice(i, 1);
      return { config: validateDoc(svc, json) };
    });
    return reply.code(204).send();
  });
}
