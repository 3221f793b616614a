/** /api/hosts: host NQNs known to the target (configfs hosts/<nqn>) and their DH-HMAC-CHAP settings. */

import type { FastifyInstance } from 'fastify';
import { ServiceError } from '../service-error.js';
import { docJson, list, notFound, redactSecrets, restoreSecrets } from './document.js';
import { hostToJson } from '../config/index.js';
import type { JsonObject } from '../config/json.js';
import * as S from './schemas.js';
import { apiContextOf } from './context.js';

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function hostRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const { svc } = ctx;

  app.get('/api/hosts', { schema: { summary: 'List hosts (DH-HMAC-CHAP secrets are write-only)' } }, async () =>
    list(redactSecrets(docJson(svc.config)), 'hosts'),
  );

  app.post<{ Body: { nqn: string; dhchap?: JsonObject; nvmet_ts?: JsonObject } }>(
    '/api/hosts',
    { schema: { summary: 'Define a host NQN, optionally with its DH-HMAC-CHAP group and TLS PSK (nvmet_ts.tls_psk)', body: S.hostCreate } },
    async (req, reply) => {
      const { nqn, dhchap, nvmet_ts } = req.body;
      await svc.change((e) => {
        if (e.host(nqn) !== undefined) throw new ServiceError('conflict', 'EEXIST', `body.nqn: host ${nqn} already exists`);
        const host: JsonObject = { nqn };
        if (dhchap !== undefined) host['dhchap'] = dhchap;
        if (nvmet_ts !== undefined) host['nvmet_ts'] = nvmet_ts;
        e.putHostJson(host, { at: { label: 'body' }, create: true });
      });
      return reply.code(201).send({ nqn });
    },
  );

  app.patch<{ Params: { nqn: string }; Body: { dhchap?: JsonObject; nvmet_ts?: JsonObject } }>(
    '/api/hosts/:nqn',
    {
      schema: {
        summary: 'Change a host\'s DH-HMAC-CHAP settings or TLS PSK live (applies from the next authentication / connection, like configfs); "" clears a field',
        params: S.nqnParams,
        body: S.hostPatch,
      },
    },
    async (req) => {
      const { nqn } = req.params;
      await svc.change((e) => {
        const cur = e.host(nqn);
        if (cur === undefined) throw notFound(`host ${nqn}`);
        const host = hostToJson(cur);
        for (const group of ['dhchap', 'nvmet_ts'] as const) {
          const change = req.body[group];
          if (change === undefined) continue;
          const old = host[group];
          host[group] = { ...(old !== null && typeof old === 'object' && !Array.isArray(old) ? old : {}), ...change };
        }
        const restored = list(restoreSecrets({ hosts: [host] }, { hosts: [hostToJson(cur)] }), 'hosts')[0]!;
        e.putHostJson(restored, { at: { label: 'body' } });
      });
      return hostView(nqn);
    },
  );

  function hostView(nqn: string): JsonObject {
    const cur = svc.store.host(nqn);
    if (cur === undefined) throw notFound(`host ${nqn}`);
    const h = list(redactSecrets({ hosts: [hostToJson(cur)] }), 'hosts')[0]!;
    const controllers = svc.nvmet.subsystems.flatMap((s) =>
      s.controllers
        .filter((c) => c.hostnqn === nqn)
        .map((c) => ({ subsystem: s.nqn, cntlid: c.cntlid, port: c.port.id, authenticated: c.dhchap !== null ? c.adminQueue?.authenticated === true : null })),
    );
    return {
      ...h,
      allowed_by: svc.store.subsystemsAllowing(nqn),
      live: { controllers },
    };
  }

  app.get<{ Params: { nqn: string } }>('/api/hosts/:nqn', { schema: { summary: 'One host and the subsystems allowing it', params: S.nqnParams } }, async (req) =>
    hostView(req.params.nqn),
  );

  app.delete<{ Params: { nqn: string } }>('/api/hosts/:nqn', { schema: { summary: 'Forget a host (409 while a subsystem allows it)', params: S.nqnParams } }, async (req, reply) => {
    const { nqn } = req.params;
    await svc.change((e) => {
      if (e.host(nqn) === undefined) throw notFound(`host ${nqn}`);
      const users = svc.store.subsystemsAllowing(nqn);
      if (users.length > 0) throw new ServiceError('conflict', 'EBUSY', `host ${nqn} is allowed by ${users.join(', ')}: remove it from their allowed_hosts first`);
      e.removeHost(nqn);
    });
    return reply.code(204).send();
  });
}
