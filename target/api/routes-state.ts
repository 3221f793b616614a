/**
 * Whole-target routes: GET/PUT /api/state (the running document as nvmetcli JSON or
 * MessagePack), POST /api/save (write it to the config file) and GET /api/status.
 */

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pack } from 'msgpackr';
import { isJsonObject, type JsonObject } from '../config/json.js';
import { parseBackingSpec } from '../config/validators.js';
import { checkBackingPath, list, redactSecrets, restoreSecrets, validateDoc } from './document.js';
import * as S from './schemas.js';
import { apiContextOf } from './context.js';

export const MSGPACK = 'application/msgpack';

function wantsMsgpack(req: FastifyRequest<{ Querystring: { format?: string } }>): boolean {
  if (req.query.format !== undefined) return req.query.format === 'msgpack';
  const accept = req.headers.accept ?? '';
  return /application\/(x-)?msgpack/.test(accept);
}

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function stateRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const { svc } = ctx;

  app.get<{ Querystring: { format?: string } }>(
    '/api/state',
    { schema: { summary: 'Export the running configuration (nvmetcli JSON; MessagePack with Accept: application/msgpack or ?format=msgpack)', querystring: S.stateQuery } },
    async (req, reply) => {
      const json = redactSecrets(svc.configJson());
      if (wantsMsgpack(req)) return reply.type(MSGPACK).send(pack(json));
      return json;
    },
  );

  app.put<{ Body: JsonObject }>(
    '/api/state',
    { schema: { summary: 'Import a whole configuration (JSON or application/msgpack); objects that change are rebuilt, the rest stay live', body: S.stateBody } },
    async (req) => {
      const body = req.body;
      // File-backed namespaces: every path passes the data-directory rules (the start-up configuration's own files are trusted).
      const subs = Array.isArray(body['subsystems']) ? body['subsystems'] : [];
      for (let i = 0; i < subs.length; i++) {
        const s = subs[i];
        if (!isJsonObject(s) || !Array.isArray(s['namespaces'])) continue;
        for (let k = 0; k < s['namespaces'].length; k++) {
          const ns = s['namespaces'][k];
          const dev = isJsonObject(ns) ? ns['device'] : undefined;
          if (!isJsonObject(dev) || typeof dev['path'] !== 'string') continue;
          const p = dev['path'];
          const spec = parseBackingSpec(p);
          if (!spec.ok || spec.value.kind === 'ram' || p === '(null)' || p === '') continue;
          // Paths in a whole document are relative to the configuration file's directory, as at start-up.
          await checkBackingPath(p, svc.paths, `subsystems[${i}].namespaces[${k}].device.path`, svc.configDir);
        }
      }
      await svc.update(() => ({ config: validateDoc(svc, restoreSecrets(body, svc.configJson()), undefined, { rejectUnknown: true }) }), 'recreate');
      return redactSecrets(svc.configJson());
    },
  );

  app.post('/api/save', { schema: { summary: 'Write the running configuration to the config file (--save FILE, else --config FILE)' } }, async () => {
    const path = await svc.save();
    return { saved: path, bytes: Buffer.byteLength(svc.serialized()) };
  });

  app.get('/api/status', { schema: { summary: 'Version, uptime and object counts' } }, async () => {
    const cfg = svc.config;
    return {
      version: ctx.version,
      uptime_seconds: Math.round((Date.now() - svc.nvmet.startedAt) / 1000),
      policy: svc.policy,
      topology: svc.topologySource,
      save_path: svc.savePath ?? null,
      data_dir: svc.paths.dataDir,
      hosts: cfg.hosts.length,
      subsystems: cfg.subsystems.length,
      namespaces: cfg.subsystems.reduce((n, s) => n + s.namespaces.length, 0),
      ports: list(svc.configJson(), 'ports').length,
      controllers: svc.nvmet.subsystems.reduce((n, s) => n + s.controllers.length, 0),
      event_loops: svc.reactors?.loops ?? 1,
    };
  });

  app.get('/api/reactors', { schema: { summary: 'Event loops serving NVMe/TCP (--reactors): connections per reactor thread, commands they ran or forwarded' } }, async () => {
    const pool = svc.reactors;
    if (pool === null) return { event_loops: 1, handed_over: 0, local_commands: 0, forwarded_commands: 0, reactors: [] };
    const st = pool.stats();
    const conns = pool.connections();
    return {
      event_loops: st.loops,
      handed_over: st.handedOver,
      local_commands: st.localCommands,
      forwarded_commands: st.forwardedCommands,
      reactors: st.connections.map((n, i) => ({
        reactor: i + 1,
        connections: conns.filter((c) => c.reactor === i + 1).map((c) => ({ port: c.portId, qid: c.qid, cntlid: c.cntlid, peer: c.peer })),
      })),
    };
  });
}

