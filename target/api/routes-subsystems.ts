/**
 * /api/subsystems: subsystems (configfs subsystems/<nqn>), their namespaces
 * (namespaces/<nsid>) and allowed hosts (allowed_hosts/<hostnqn> symlinks).
 */

import type { FastifyInstance } from 'fastify';
import type { JsonObject, JsonValue } from '../config/json.js';
import { isJsonObject } from '../config/json.js';
import { NSID_MAX } from '../config/validators.js';
import { ServiceError } from '../service-error.js';
import { checkBackingPath, docJson, list, notFound } from './document.js';
import { subsystemToJson, type SubsystemConfig } from '../config/index.js';
import { namespaceView, subsystemView } from './views.js';
import * as S from './schemas.js';
import { apiContextOf, type ApiContext } from './context.js';

type NqnP = { Params: { nqn: string } };
type NsP = { Params: { nqn: string; nsid: string } };
type HostP = { Params: { nqn: string; hostnqn: string } };

function findSub(at: { subsystem(nqn: string): SubsystemConfig | undefined }, nqn: string): SubsystemConfig {
  const s = at.subsystem(nqn);
  if (s === undefined) throw notFound(`subsystem ${nqn}`);
  return s;
}

function findNs(sub: JsonObject, nsid: number, nqn: string): { index: number; ns: JsonObject } {
  const nss = list(sub, 'namespaces');
  const index = nss.findIndex((n) => Number(n['nsid']) === nsid);
  if (index < 0) throw notFound(`namespace ${nsid} of ${nqn}`);
  return { index, ns: nss[index]! };
}

/** Namespace device paths in a body → checked absolute paths (or "ram:SIZE"). */
async function checkDevice(ctx: ApiContext, body: JsonObject, field: string): Promise<void> {
  const dev = body['device'];
  if (!isJsonObject(dev) || dev['path'] === undefined) return;
  const p = dev['path'];
  if (typeof p !== 'string') throw new ServiceError('invalid', 'EINVAL', `${field}: must be a string`);
  dev['path'] = await checkBackingPath(p, ctx.svc.paths, field);
}

/** Merge a PATCH-style object: groups (plain objects) merge key by key, everything else replaces. */
function merge(target: JsonObject, patch: JsonObject): void {
  for (const [k, v] of Object.entries(patch)) {
    const cur = target[k];
    if (isJsonObject(v) && isJsonObject(cur)) target[k] = { ...cur, ...v };
    else target[k] = v as JsonValue;
  }
}

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function subsystemRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const { svc } = ctx;
  const json = (nqn: string): JsonObject => subsystemToJson(findSub(svc.store, nqn));
  const view = (nqn: string): JsonObject => subsystemView(svc, json(nqn));

  app.get('/api/subsystems', { schema: { summary: 'List subsystems' } }, async () =>
    list(docJson(svc.config), 'subsystems').map((s) => subsystemView(svc, s)),
  );

  app.post<{ Body: JsonObject }>('/api/subsystems', { schema: { summary: 'Create a subsystem (nvmetcli subsystem object)', body: S.subsystemCreate } }, async (req, reply) => {
    const body = req.body;
    const namespaces = Array.isArray(body['namespaces']) ? (body['namespaces'] as JsonObject[]) : [];
    for (let i = 0; i < namespaces.length; i++) await checkDevice(ctx, namespaces[i]!, `body.namespaces[${i}].device.path`);
    const nqn = String(body['nqn']);
    await svc.change((e) => {
      if (e.subsystem(nqn) !== undefined) throw new ServiceError('conflict', 'EEXIST', `body.nqn: subsystem ${nqn} already exists`);
      e.putSubsystemJson({ attr: {}, allowed_hosts: [], namespaces: [], ...body }, { at: { label: 'body' }, create: true });
    });
    return reply.code(201).send(view(nqn));
  });

  app.get<NqnP>('/api/subsystems/:nqn', { schema: { summary: 'One subsystem', params: S.nqnParams } }, async (req) => view(req.params.nqn));

  app.patch<NqnP & { Body: JsonObject }>(
    '/api/subsystems/:nqn',
    { schema: { summary: 'Change subsystem attributes (attr group merged) or replace allowed_hosts', params: S.nqnParams, body: S.subsystemPatch } },
    async (req) => {
      const { nqn } = req.params;
      await svc.change((e) => {
        const sub = subsystemToJson(findSub(e, nqn));
        merge(sub, req.body);
        e.putSubsystemJson(sub, { at: { label: 'body' } });
      });
      return view(nqn);
    },
  );

  app.delete<NqnP>('/api/subsystems/:nqn', { schema: { summary: 'Delete a subsystem (unlinked from every port first)', params: S.nqnParams } }, async (req, reply) => {
    const { nqn } = req.params;
    await svc.change((e) => {
      findSub(e, nqn);
      e.removeSubsystem(nqn);
      for (const portid of svc.store.portsLinking(nqn)) e.unlink(portid, nqn);
    });
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ namespaces

  app.get<NqnP>('/api/subsystems/:nqn/namespaces', { schema: { summary: "A subsystem's namespaces", params: S.nqnParams } }, async (req) => {
    const { nqn } = req.params;
    return list(json(nqn), 'namespaces').map((ns) => namespaceView(svc, nqn, ns));
  });

  app.post<NqnP & { Body: JsonObject }>(
    '/api/subsystems/:nqn/namespaces',
    { schema: { summary: 'Add a namespace (device.path "ram:1G" or a file in the data directory); enable: 1 exposes it live', params: S.nqnParams, body: S.namespaceCreate } },
    async (req, reply) => {
      const { nqn } = req.params;
      const body = { ...req.body };
      if (isJsonObject(body['device'])) body['device'] = { ...body['device'] };
      await checkDevice(ctx, body, 'body.device.path');
      const nsid = await svc.change<number>((e) => {
        const cur = findSub(e, nqn);
        let id: number;
        if (body['nsid'] !== undefined) {
          id = Number(body['nsid']);
          if (!Number.isInteger(id) || id < 1 || id > NSID_MAX) throw new ServiceError('invalid', 'EINVAL', `body.nsid: must be an integer 1..${NSID_MAX}`);
          if (cur.namespaces.some((n) => n.nsid === id)) throw new ServiceError('conflict', 'EEXIST', `body.nsid: namespace ${id} already exists in ${nqn}`);
        } else {
          const used = new Set(cur.namespaces.map((n) => n.nsid));
          id = 1;
          while (used.has(id)) id++;
        }
        const sub = subsystemToJson(cur);
        const nss = list(sub, 'namespaces');
        nss.push({ enable: 0, ...body, nsid: id });
        e.putSubsystemJson(sub, { at: { label: 'body', inner: `.namespaces[${nss.length - 1}]` } });
        return id;
      });
      return reply.code(201).send(namespaceView(svc, nqn, findNs(json(nqn), nsid, nqn).ns));
    },
  );

  app.get<NsP>('/api/subsystems/:nqn/namespaces/:nsid', { schema: { summary: 'One namespace', params: S.nsParams } }, async (req) => {
    const { nqn } = req.params;
    return namespaceView(svc, nqn, findNs(json(nqn), Number(req.params.nsid), nqn).ns);
  });

  app.patch<NsP & { Body: JsonObject }>(
    '/api/subsystems/:nqn/namespaces/:nsid',
    { schema: { summary: 'Change a namespace: enable/disable live; device and p2pmem only while disabled (409 EBUSY otherwise)', params: S.nsParams, body: S.namespacePatch } },
    async (req) => {
      const { nqn } = req.params;
      const nsid = Number(req.params.nsid);
      const body = { ...req.body };
      if (isJsonObject(body['device'])) body['device'] = { ...body['device'] };
      await checkDevice(ctx, body, 'body.device.path');
      await svc.change((e) => {
        const sub = subsystemToJson(findSub(e, nqn));
        const { index: k, ns } = findNs(sub, nsid, nqn);
        merge(ns, body);
        e.putSubsystemJson(sub, { at: { label: 'body', inner: `.namespaces[${k}]` } });
      });
      return namespaceView(svc, nqn, findNs(json(nqn), nsid, nqn).ns);
    },
  );

  app.delete<NsP>('/api/subsystems/:nqn/namespaces/:nsid', { schema: { summary: 'Remove a namespace (disabled first; hosts get the namespace-change event)', params: S.nsParams } }, async (req, reply) => {
    const { nqn } = req.params;
    const nsid = Number(req.params.nsid);
    await svc.change((e) => {
      const cur = findSub(e, nqn);
      if (!cur.namespaces.some((n) => n.nsid === nsid)) throw notFound(`namespace ${nsid} of ${nqn}`);
      e.putSubsystem({ ...cur, namespaces: cur.namespaces.filter((n) => n.nsid !== nsid) });
    });
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ allowed hosts

  app.get<NqnP>('/api/subsystems/:nqn/allowed_hosts', { schema: { summary: 'Hosts allowed to connect', params: S.nqnParams } }, async (req) => {
    return [...findSub(svc.store, req.params.nqn).allowedHosts];
  });

  app.post<NqnP & { Body: { nqn: string } }>(
    '/api/subsystems/:nqn/allowed_hosts',
    { schema: { summary: 'Allow a host (it must exist under /api/hosts; allow_any_host must be 0)', params: S.nqnParams, body: S.nqnBody } },
    async (req, reply) => {
      const { nqn } = req.params;
      const host = req.body.nqn;
      await svc.change((e) => {
        if (e.host(host) === undefined) throw new ServiceError('invalid', 'ENOENT', `body.nqn: host ${host} is not defined (POST /api/hosts first)`);
        const cur = findSub(e, nqn);
        if (cur.attr.allowAnyHost === true) throw new ServiceError('invalid', 'EINVAL', `${nqn}: cannot add allowed hosts while allow_any_host is 1 (Linux: EINVAL)`);
        if (cur.allowedHosts.includes(host)) throw new ServiceError('conflict', 'EEXIST', `body.nqn: host ${host} is already allowed`);
        const sub = subsystemToJson(cur);
        sub['allowed_hosts'] = [...cur.allowedHosts, host];
        e.putSubsystemJson(sub, { at: { label: nqn } });
      });
      return reply.code(201).send([...findSub(svc.store, nqn).allowedHosts]);
    },
  );

  app.delete<HostP>('/api/subsystems/:nqn/allowed_hosts/:hostnqn', { schema: { summary: 'Disallow a host (its existing controllers stay, as in Linux)', params: S.hostParams } }, async (req, reply) => {
    const { nqn, hostnqn } = req.params;
    await svc.change((e) => {
      const cur = findSub(e, nqn);
      if (!cur.allowedHosts.includes(hostnqn)) throw notFound(`allowed host ${hostnqn} of ${nqn}`);
      e.putSubsystem({ ...cur, allowedHosts: cur.allowedHosts.filter((h) => h !== hostnqn) });
    });
    return reply.code(204).send();
  });
}
