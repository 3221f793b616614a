/**
 * /api/p2p/providers/:bdf/{remove,add}: provider hot-remove and hot-add (p2pdma.rst
 * lifecycles). `remove` takes { "mode": "dmabuf" | "pgmap" } (default dmabuf) and answers
 * once the provider is gone: in dmabuf mode after every importer's move_notify, in pgmap
 * mode after every allocation was freed.
 */

import type { FastifyInstance } from 'fastify';
import { REMOVAL_MODES, type RemovalMode } from '../../src/p2pdma/lifecycle.js';
import { ServiceError } from '../service-error.js';
import { P2pError } from '../../src/p2pdma/errors.js';
import * as S from './schemas.js';
import { apiContextOf } from './context.js';

const removeBody = {
  type: 'object',
  additionalProperties: false,
  properties: { mode: { type: 'string', enum: [...REMOVAL_MODES] } },
} as const;

/** p2pdma's errno as HTTP: EBUSY is a conflict with the provider's state, the rest a bad request. */
function asHttp(e: unknown): unknown {
  if (e instanceof P2pError) return new ServiceError(e.code === 'EBUSY' ? 'conflict' : 'invalid', e.code, e.message);
  return e;
}

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function p2pProviderRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const { svc } = ctx;
  const dp = () => {
    if (svc.dp === null) throw new ServiceError('not-found', 'ENODEV', 'the p2pmem data path is off in this target');
    return svc.dp;
  };

  app.post<{ Params: { bdf: string }; Body: { mode?: RemovalMode } | undefined }>(
    '/api/p2p/providers/:bdf/remove',
    { schema: { summary: 'Hot-remove a p2pmem provider: dmabuf (move_notify to importers, then unmap) or pgmap (wait for every allocation)', params: S.bdfParams, body: removeBody } },
    async (req) => {
      const d = dp();
      if (svc.topology.get(req.params.bdf) === undefined) throw new ServiceError('not-found', 'ENODEV', `no PCI function ${req.params.bdf} in the topology`);
      const report = await d.removeProvider(req.params.bdf, req.body?.mode ?? 'dmabuf').catch((e: unknown) => {
        throw asHttp(e);
      });
      return { ...report, ports: d.state().ports.map((p) => ({ portid: p.portId, provider: p.provider, reason: p.reason, provider_changes: p.providerChanges })) };
    },
  );

  app.post<{ Params: { bdf: string } }>(
    '/api/p2p/providers/:bdf/add',
    { schema: { summary: 'Hot-add (re-probe) a p2pmem provider removed earlier', params: S.bdfParams } },
    async (req) => {
      const d = dp();
      if (svc.topology.get(req.params.bdf) === undefined) throw new ServiceError('not-found', 'ENODEV', `no PCI function ${req.params.bdf} in the topology`);
      let f;
      try {
        f = d.addProvider(req.params.bdf);
      } catch (e) {
        throw asHttp(e);
      }
      return { provider: d.providerState(f.bdf), ports: d.state().ports.map((p) => ({ portid: p.portId, provider: p.provider, reason: p.reason, provider_changes: p.providerChanges })) };
    },
  );
}
