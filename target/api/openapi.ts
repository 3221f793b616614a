/**
 * OpenAPI 3.1 document generated from the registered routes' schemas, so it
 * describes exactly what the server validates.
 */

export interface RouteInfo {
  method: string | string[];
  url: string;
  schema: Record<string, unknown> | undefined;
}

const errorSchema = {
  type: 'object',
  required: ['statusCode', 'error', 'code'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string', description: 'What is wrong, naming the field ("body.attr.serial: ...")' },
    code: { type: 'string', description: 'errno-like code (EINVAL, EBUSY, ENOENT, EEXIST, ...)' },
    issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

function parameters(schema: Record<string, unknown> | undefined, where: 'path' | 'query'): unknown[] {
  if (schema === undefined) return [];
  const props = (schema['properties'] ?? {}) as Record<string, unknown>;
  const required = new Set((schema['required'] ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: s }));
}

export function buildOpenApi(routes: readonly RouteInfo[], version: string, bearer: boolean): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
    if (methods.length === 0) continue;
    const path = r.url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
    const s = r.schema ?? {};
    for (const m of methods) {
      const op: Record<string, unknown> = {
        summary: s['summary'] ?? `${m} ${path}`,
        operationId: `${m.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_x, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        parameters: [...parameters(s['params'] as Record<string, unknown> | undefined, 'path'), ...parameters(s['querystring'] as Record<string, unknown> | undefined, 'query')],
        responses: {
          [m === 'POST' && path !== '/api/save' ? '201' : m === 'DELETE' ? '204' : '200']: { description: 'Success' },
          '4XX': { description: 'Refused: the body says why', content: { 'application/json': { schema: errorSchema } } },
        },
      };
      if (s['body'] !== undefined) {
        const content: Record<string, unknown> = { 'application/json': { schema: s['body'] } };
        if (path === '/api/state') content['application/msgpack'] = { schema: s['body'] };
        op['requestBody'] = { required: true, content };
      }
      (paths[path] ??= {})[m.toLowerCase()] = op;
    }
  }
  const doc: Record<string, unknown> = {
    openapi: '3.1.0',
    info: {
      title: 'nvmet-ts management API',
      version,
      description:
        'configfs-shaped management of a userspace NVMe-over-TCP target: subsystems, namespaces, hosts, ports, referrals, ' +
        'the emulated PCIe topology and p2pmem providers. Objects are nvmetcli JSON; NQNs in paths are URL-encoded.',
    },
    paths,
    components: { schemas: { Error: errorSchema } },
  };
  if (bearer) {
    (doc['components'] as Record<string, unknown>)['securitySchemes'] = { bearer: { type: 'http', scheme: 'bearer' } };
    doc['security'] = [{ bearer: [] }];
  }
  return doc;
}

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI document. */
    summary?: string;
  }
}
