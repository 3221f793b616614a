/**
 * /api/subsystems: subsystems (configfs subsystems/<nqn>), their namespaces
 * (namespaces/<nsid>) and allowed hosts (allowed_hosts/<hostnqn> symlinks).
 */

import type { FastifyInstance } from 'fastify';
import type { JsonObject, JsonValue } from '../config/json.js';
import { isJsonObject } from '../config/json.js';
import { NSID_MAX } from '../config/validators.js';
import { ServiceError } from '../service-error.js';
import { checkBackingPath, docJson, list, notFound, validateDoc } from './document.js';
import { namespaceView, subsystemView } from './views.js';
import * as S from './schemas.js';
import { apiContextOf, type ApiContext } from './context.js';

type NqnP = { Params: { nqn: string } };
type NsP = { Params: { nqn: string; nsid: string } };
type HostP = { Params: { nqn: string; hostnqn: string } };

function findSub(json: JsonObject, nqn: string): { index: number; sub: JsonObject } {
  const subs = list(json, 'subsystems');
  const index = subs.findIndex((s) => s['nqn'] === nqn);
  if (index < 0) throw notFound(`subsystem ${nqn}`);
  return { index, sub: subs[index]! };
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
  const view = (nqn: string): JsonObject => subsystemView(svc, findSub(docJson(svc.config), nqn).sub);

  app.get('/api/subsystems', { schema: { summary: 'List subsystems' } }, async () =>
    list(docJson(svc.config), 'subsystems').map((s) => subsystemView(svc, s)),
  );

  app.post<{ Body: JsonObject }>('/api/subsystems', { schema: { summary: 'Create a subsystem (nvmetcli subsystem object)', body: S.subsystemCreate } }, async (req, reply) => {
    const body = req.body;
    const namespaces = Array.isArray(body['namespaces']) ? (body['namespaces'] as JsonObject[]) : [];
    for (let i = 0; i < namespaces.length; i++) await checkDevice(ctx, namespaces[i]!, `body.namespaces[${i}].device.path`);
    const nqn = String(body['nqn']);
    await svc.update((cur) => {
      const json = docJson(cur);
      const subs = list(json, 'subsystems');
      if (subs.some((s) => s['nqn'] === nqn)) throw new ServiceError('conflict', 'EEXIST', `body.nqn: subsystem ${nqn} already exists`);
      subs.push({ attr: {}, allowed_hosts: [], namespaces: [], ...body });
      return { config: validateDoc(svc, json, { prefix: `subsystems[${subs.length - 1}]`, label: 'body' }) };
    });
    return reply.code(201).send(view(nqn));
  });

  app.get<NqnP>('/api/subsystems/:nqn', { schema: { summary: 'One subsystem', params: S.nqnParams } }, async (req) => view(req.params.nqn));

  app.patch<NqnP & { Body: JsonObject }>(
    '/api/subsystems/:nqn',
    { schema: { summary: 'Change subsystem attributes (attr group merged) or replace allowed_hosts', params: S.nqnParams, body: S.subsystemPatch } },
    async (req) => {
      const { nqn } = req.params;
      await svc.update((cur) => {
        const json = docJson(cur);
        const { index, sub } = findSub(json, nqn);
        merge(sub, req.body);
        return { config: validateDoc(svc, json, { prefix: `subsystems[${index}]`, label: 'body' }) };
      });
      return view(nqn);
    },
  );

  app.delete<NqnP>('/api/subsystems/:nqn', { schema: { summary: 'Delete a subsystem (unlinked from every port first)', params: S.nqnParams } }, async (req, reply) => {
    const { nqn } = req.params;
    await svc.update((cur) => {
      const json = docJson(cur);
      const { index } = findSub(json, nqn);
      list(json, 'subsystems').splice(index, 1);
      for (const p of list(json, 'ports')) p['subsystems'] = (p['subsystems'] as JsonValue[]).filter((s) => s !== nqn);
      return { config: validateDoc(svc, json) };
    });
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ namespaces

  app.get<NqnP>('/api/subsystems/:nqn/namespaces', { schema: { summary: "A subsystem's namespaces", params: S.nqnParams } }, async (req) => {
    const { nqn } = req.params;
    return list(findSub(docJson(svc.config), nqn).sub, 'namespaces').map((ns) => namespaceView(svc, nqn, ns));
  });

  app.post<NqnP & { Body: JsonObject }>(
    '/api/subsystems/:nqn/namespaces',
    { schema: { summary: 'Add a namespace (device.path "ram:1G" or a file in the data directory); enable: 1 exposes it live', params: S.nqnParams, body: S.namespaceCreate } },
    async (req, reply) => {
      const { nqn } = req.params;
      const body = { ...req.body };
      if (isJsonObject(body['device'])) body['device'] = { ...body['device'] };
      await checkDevice(ctx, body, 'body.device.path');
      const nsid = await svc.update<number>((cur) => {
        const json = docJson(cur);
        const { index, sub } = findSub(json, nqn);
        const nss = list(sub, 'namespaces');
        let id: number;
        if (body['nsid'] !== undefined) {
          id = Number(body['nsid']);
          if (!Number.isInteger(id) || id < 1 || id > NSID_MAX) throw new ServiceError('invalid', 'EINVAL', `body.nsid: must be an integer 1..${NSID_MAX}`);
          if (nss.some((n) => Number(n['nsid']) === id)) throw new ServiceError('conflict', 'EEXIST', `body.nsid: namespace ${id} already exists in ${nqn}`);
        } else {
          const used = new Set(nss.map((n) => Number(n['nsid'])));
          id = 1;
          while (used.has(id)) id++;
        }
        nss.push({ enable: 0, ...body, nsid: id });
        return { config: validateDoc(svc, json, { prefix: `subsystems[${index}].namespaces[${nss.length - 1}]`, label: 'body' }), result: id };
      });
      return reply.code(201).send(namespaceView(svc, nqn, findNs(findSub(docJson(svc.config), nqn).sub, nsid!, nqn).ns));
    },
  );

  app.get<NsP>('/api/subsystems/:nqn/namespaces/:nsid', { schema: { summary: 'One namespace', params: S.nsParams } }, async (req) => {
    const { nqn } = req.params;
    return namespaceView(svc, nqn, findNs(findSub(docJson(svc.config), nqn).sub, Number(req.params.nsid), nqn).ns);
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
      await svc.update((cur) => {
        const json = docJson(cur);
        const { index, sub } = findSub(json, nqn);
        const { index: k, ns } = findNs(sub, nsid, nqn);
        merge(ns, body);
        return { config: validateDoc(svc, json, { prefix: `subsystems[${index}].namespaces[${k}]`, label: 'body' }) };
      });
      return namespaceView(svc, nqn, findNs(findSub(docJson(svc.config), nqn).sub, nsid, nqn).ns);
    },
  );

  app.delete<NsP>('/api/subsystems/:nqn/namespaces/:nsid', { schema: { summary: 'Remove a namespace (disabled first; hosts get the namespace-change event)', params: S.nsParams } }, async (req, reply) => {
    const { nqn } = req.params;
    const nsid = Number(req.params.nsid);
    await svc.update((cur) => {
      const json = docJson(cur);
      const { sub } = findSub(json, nqn);
      const { index } = findNs(sub, nsid, nqn);
      list(sub, 'namespaces').splice(index, 1);
      return { config: validateDoc(svc, json) };
    });
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ allowed hosts

  app.get<NqnP>('/api/subsystems/:nqn/allowed_hosts', { schema: { summary: 'Hosts allowed to connect', params: S.nqnParams } }, async (req) => {
    return findSub(docJson(svc.config), req.params.nqn).sub['allowed_hosts'] ?? [];
  });

  app.post<NqnP & { Body: { nqn: string } }>(
    '/api/subsystems/:nqn/allowed_hosts',
    { schema: { summary: 'Allow a host (it must exist under /api/hosts; allow_any_host must be 0)', params: S.nqnParams, body: S.nqnBody } },
    async (req, reply) => {
      const { nqn } = req.params;
      const host = req.body.nqn;
      await svc.update((cur) => {
        if (!cur.hosts.some((h) => h.nqn === host)) throw new ServiceError('invalid', 'ENOENT', `body.nqn: host ${host} is not defined (POST /api/hosts first)`);
        const json = docJson(cur);
        const { index, sub } = findSub(json, nqn);
        const attr = isJsonObject(sub['attr']) ? sub['attr'] : {};
        if (attr['allow_any_host'] === '1') throw new ServiceError('invalid', 'EINVAL', `${nqn}: cannot add allowed hosts while allow_any_host is 1 (Linux: EINVAL)`);
        const hosts = (sub['allowed_hosts'] as JsonValue[] | undefined) ?? [];
        if (hosts.includes(host)) throw new ServiceError('conflict', 'EEXIST', `body.nqn: host ${host} is already allowed`);
        sub['allowed_hosts'] = [...hosts, host];
        return { config: validateDoc(svc, json, { prefix: `subsystems[${index}]`, label: nqn }) };
      });
      return reply.code(201).send(findSub(docJson(svc.config), nqn).sub['allowed_hosts']);
    },
  );

  app.delete<HostP>('/api/subsystems/:nqn/allowed_hosts/:hostnqn', { schema: { summary: 'Disallow a host (its existing controllers stay, as in Linux)', params: S.hostParams } }, async (req, reply) => {
    const { nqn, hostnqn } = req.params;
    await svc.update((cur) => {
      const json = docJson(cur);
      const { sub } = findSub(json, nqn);
      const hosts = (sub['allowed_hosts'] as JsonValue[] | undefined) ?? [];
      if (!hosts.includes(hostnqn)) throw notFound(`allowed host ${hostnqn} of ${nqn}`);
      sub['allowed_hosts'] = hosts.filter((h) => h !== hostnqn);
      return { config: validateDoc(svc, json) };
    });
    return reply.code(204).send();
  });
}
