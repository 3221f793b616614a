/**
 * /api/ports: ports (configfs ports/<portid>), their subsystem links
 * (ports/<id>/subsystems/<nqn> symlinks), referrals and p2pmem decision.
 * A port listens while at least one subsystem is linked to it, as in Linux (configfs.c
 * nvmet_port_subsys_allow_link enables the port with its first link,
 * nvmet_port_subsys_drop_link disables it with its last); it is removed live.
 */

import type { FastifyInstance } from 'fastify';
import type { JsonObject, JsonValue } from '../config/json.js';
import { isJsonObject } from '../config/json.js';
import { ServiceError } from '../service-error.js';
import { docJson, list, notFound } from './document.js';
import { portToJson, type PortConfig } from '../config/index.js';
import { portView } from './views.js';
import * as S from './schemas.js';
import { apiContextOf } from './context.js';

type PortP = { Params: { portid: string } };

export function findPort(at: { port(portid: number): PortConfig | undefined }, portid: number): PortConfig {
  const p = at.port(portid);
  if (p === undefined) throw notFound(`port ${portid}`);
  return p;
}

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function portRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const { svc } = ctx;
  const view = (portid: number): JsonObject => portView(svc, portToJson(findPort(svc.store, portid)));

  app.get('/api/ports', { schema: { summary: 'List ports with their live state' } }, async () => list(docJson(svc.config), 'ports').map((p) => portView(svc, p)));

  app.post<{ Body: JsonObject }>('/api/ports', { schema: { summary: 'Create a port (nvmetcli port object); it listens once a subsystem is linked', body: S.portCreate } }, async (req, reply) => {
    const portid = Number(req.body['portid']);
    await svc.change((e) => {
      if (e.port(portid) !== undefined) throw new ServiceError('conflict', 'EEXIST', `body.portid: port ${portid} already exists`);
      e.putPortJson({ addr: {}, subsystems: [], referrals: [], ...req.body }, { at: { label: 'body' }, create: true });
    });
    return reply.code(201).send(view(portid));
  });

  app.get<PortP>('/api/ports/:portid', { schema: { summary: 'One port', params: S.portParams } }, async (req) => view(Number(req.params.portid)));

  app.patch<PortP & { Body: JsonObject }>(
    '/api/ports/:portid',
    { schema: { summary: 'Change addr/param/nvmet_ts groups (merged); an address change re-binds the port, disconnecting its hosts', params: S.portParams, body: S.portPatch } },
    async (req) => {
      const portid = Number(req.params.portid);
      await svc.change((e) => {
        const port = portToJson(findPort(e, portid));
        for (const [k, v] of Object.entries(req.body)) {
          const curv = port[k];
          port[k] = isJsonObject(curv) && isJsonObject(v) ? { ...curv, ...v } : (v as JsonValue);
        }
        e.putPortJson(port, { at: { label: 'body' } });
      });
      return view(portid);
    },
  );

  app.delete<PortP>('/api/ports/:portid', { schema: { summary: 'Remove a port: stop listening, tear down its controllers', params: S.portParams } }, async (req, reply) => {
    const portid = Number(req.params.portid);
    await svc.change((e) => {
      findPort(e, portid);
      e.removePort(portid);
    });
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ subsystem links

  app.get<PortP>('/api/ports/:portid/subsystems', { schema: { summary: 'Subsystems exported through a port', params: S.portParams } }, async (req) => {
    return [...findPort(svc.store, Number(req.params.portid)).subsystems];
  });

  app.post<PortP & { Body: { nqn: string } }>(
    '/api/ports/:portid/subsystems',
    { schema: { summary: 'Export a subsystem through a port (link); the first link makes the port listen', params: S.portParams, body: S.nqnBody } },
    async (req, reply) => {
      const portid = Number(req.params.portid);
      const nqn = req.body.nqn;
      await svc.change((e) => {
        if (e.subsystem(nqn) === undefined) throw new ServiceError('invalid', 'ENOENT', `body.nqn: subsystem ${nqn} does not exist`);
        const cur = findPort(e, portid);
        if (cur.subsystems.includes(nqn)) throw new ServiceError('conflict', 'EEXIST', `body.nqn: ${nqn} is already linked to port ${portid}`);
        e.link(portid, nqn, { at: { label: `port ${portid}` } });
      });
      return reply.code(201).send([...findPort(svc.store, portid).subsystems]);
    },
  );

  app.delete<{ Params: { portid: string; nqn: string } }>(
    '/api/ports/:portid/subsystems/:nqn',
    { schema: { summary: 'Stop exporting a subsystem through a port (its controllers there are torn down; unlinking the last stops the port listening)', params: S.portLinkParams } },
    async (req, reply) => {
      const portid = Number(req.params.portid);
      const { nqn } = req.params;
      await svc.change((e) => {
        const cur = findPort(e, portid);
        if (!cur.subsystems.includes(nqn)) throw notFound(`link from port ${portid} to ${nqn}`);
        e.unlink(portid, nqn);
      });
      return reply.code(204).send();
    },
  );

  // ------------------------------------------------------------ referrals

  app.get<PortP>('/api/ports/:portid/referrals', { schema: { summary: "A port's discovery referrals", params: S.portParams } }, async (req) => {
    return list(portToJson(findPort(svc.store, Number(req.params.portid))), 'referrals');
  });

  app.post<PortP & { Body: JsonObject }>(
    '/api/ports/:portid/referrals',
    { schema: { summary: 'Add a referral (shown in this port\'s discovery log when enabled)', params: S.portParams, body: S.referralCreate } },
    async (req, reply) => {
      const portid = Number(req.params.portid);
      const name = String(req.body['name']);
      await svc.change((e) => {
        const port = portToJson(findPort(e, portid));
        const refs = list(port, 'referrals');
        if (refs.some((r) => r['name'] === name)) throw new ServiceError('conflict', 'EEXIST', `body.name: referral ${name} already exists on port ${portid}`);
        refs.push({ addr: {}, ...req.body });
        e.putPortJson(port, { at: { label: 'body', inner: `.referrals[${refs.length - 1}]` } });
      });
      return reply.code(201).send(list(portToJson(findPort(svc.store, portid)), 'referrals').find((r) => r['name'] === name));
    },
  );

  app.delete<{ Params: { portid: string; name: string } }>(
    '/api/ports/:portid/referrals/:name',
    { schema: { summary: 'Remove a referral', params: S.referralParams } },
    async (req, reply) => {
      const portid = Number(req.params.portid);
      const { name } = req.params;
      await svc.change((e) => {
        const cur = findPort(e, portid);
        if (!cur.referrals.some((r) => r.name === name)) throw notFound(`referral ${name} of port ${portid}`);
        e.putPort({ ...cur, referrals: cur.referrals.filter((r) => r.name !== name) });
      });
      return reply.code(204).send();
    },
  );

  app.get<PortP>('/api/ports/:portid/p2pmem', { schema: { summary: "The port's p2pmem provider decision and why", params: S.portParams } }, async (req) => {
    const portid = Number(req.params.portid);
    findPort(svc.store, portid);
    const d = svc.portP2p(portid);
    return { ...d, fallbacks: svc.hooks.fallbacks?.(portid) ?? 0 };
  });
}
