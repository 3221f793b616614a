/**
 * The management API (fastify): configfs-shaped routes over a running NvmetService,
 * Prometheus metrics and an OpenAPI document.
 *
 * Bound to 127.0.0.1 by default. Any other address needs a bearer token (startApi
 * refuses otherwise), and when a token is set every request must carry
 * `Authorization: Bearer <token>`. Bodies are JSON (or MessagePack for /api/state),
 * at most `bodyLimit` bytes, checked against JSON schemas that refuse unknown fields
 * and never coerce types, then against target/config's validators.
 */

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { Unpackr } from 'msgpackr';
import { cloneJson } from '../config/json.js';
import type { NvmetService } from '../service/index.js';
import { ServiceError } from '../service-error.js';
import { toErrorBody } from './errors.js';
import { registerGuard } from './guard.js';
import { isLoopback } from '../config/listen-policy.js';
import { asPino } from '../core/log.js';
import { NvmetMetrics } from './metrics.js';
import { faultRoutes } from './routes-faults.js';
import { buildOpenApi, type RouteInfo } from './openapi.js';
import { subsystemRoutes } from './routes-subsystems.js';
import { hostRoutes } from './routes-hosts.js';
import { portRoutes } from './routes-ports.js';
import { anaRoutes } from './routes-ana.js';
import { pciRoutes } from './routes-pci.js';
import { p2pProviderRoutes } from './routes-p2p.js';
import { stateRoutes, MSGPACK } from './routes-state.js';
import { apiContextOf, type ApiContext } from './context.js';

import { DEFAULT_API_HOST, DEFAULT_API_PORT } from './address.js';
export { DEFAULT_API_HOST, DEFAULT_API_PORT };
/** Bodies are configuration objects: a few KiB. 1 MiB leaves room for big imports with inline topologies. */
export const DEFAULT_BODY_LIMIT = 1 << 20;

export interface ApiOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Bearer token; required when `host` is not a loopback address. */
  token?: string;
  /**
   * Directory file-backed namespaces created over the API must live in: sets the
   * service's data directory (NvmetService.paths). Default: the service's own.
   */
  dataDir?: string;
  /** Host header names accepted besides the bound address and loopback (DNS rebinding protection). */
  allowedHosts?: readonly string[];
  /** Timeouts (ms); see DEFAULT_TIMEOUTS. */
  timeouts?: Partial<ApiTimeouts>;
  bodyLimit?: number;
  version?: string;
}

/**
 * A client gets this long to send its request headers, and its whole request; an
 * idle connection is closed after `idle`, a kept-alive one after `keepAlive`.
 * Node checks header/request deadlines every `checkInterval` (its default is 30 s,
 * which would let a slow sender hold a socket far past the deadline).
 */
export interface ApiTimeouts {
  headers: number;
  request: number;
  idle: number;
  keepAlive: number;
  checkInterval: number;
}

export const DEFAULT_TIMEOUTS: ApiTimeouts = { headers: 10_000, request: 30_000, idle: 60_000, keepAlive: 5_000, checkInterval: 1_000 };

/** Concurrent connections the API accepts (it serves one operator, not a crowd). */
export const MAX_API_CONNECTIONS = 256;

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly metrics: NvmetMetrics;
  /** "http://127.0.0.1:9420" */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export { isLoopback };

/**
 * fastify's per-request lines: one `api METHOD URL STATUS TIME` line when the response
 * is sent, instead of fastify's "incoming request" + "request completed" pair at info
 * (a text line shows only the message, and every read at info would flood an
 * operator's log). Reads go at debug; changes at info, the operator's record of what
 * changed. The line never holds a header or a body: the bearer token travels in a
 * header, DH-HMAC-CHAP keys and TLS PSKs in bodies, and URLs name only NQNs and ids.
 */
class ApiLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = `api ${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)} ms`;
    if (error) req.log.error(`${line}: ${error.message}`);
    else if (req.method === 'GET' || req.method === 'HEAD') req.log.debug(line);
    else req.log.info(line);
  }
}

/** Build the fastify instance (not listening; its plugins load on `ready`/`listen`/`inject`). Tests may `inject` into it. */
export function buildApi(svc: NvmetService, opts: ApiOptions = {}): { app: FastifyInstance; metrics: NvmetMetrics } {
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const fastifyLog: FastifyBaseLogger = asPino(svc.logger);
  const app = Fastify({
    // fastify logs through the process's one logger (same levels, same line format).
    loggerInstance: fastifyLog,
    logController: new ApiLogController(),
    bodyLimit,
    connectionTimeout: t.idle,
    keepAliveTimeout: t.keepAlive,
    requestTimeout: t.request,
    http: { headersTimeout: t.headers, requestTimeout: t.request, connectionsCheckingInterval: t.checkInterval },
    // NQNs are up to 223 bytes, and URL-encoding triples some characters.
    routerOptions: { maxParamLength: 1024 },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, allowUnionTypes: true } },
  });
  const metrics = new NvmetMetrics(svc);
  svc.nvmet.ioObserver = metrics;
  app.addHook('onClose', async () => {
    if (svc.nvmet.ioObserver === metrics) svc.nvmet.ioObserver = null;
  });
  // Reactor threads report their counters every 100 ms; what the API shows must include every
  // command completed before the request, so a read waits for their report (bounded by the pool).
  app.addHook('preHandler', async (req) => {
    const pool = svc.reactors;
    if (pool !== null && (req.method === 'GET' || req.method === 'HEAD')) await pool.flush();
  });
  if (opts.dataDir !== undefined) svc.paths.useDataDir(opts.dataDir);
  const ctx: ApiContext = { svc, metrics, version: opts.version ?? '0.0.0' };
  const log = svc.logger;

  const routes: RouteInfo[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    routes.push({ method: r.method, url: r.url, schema: r.schema as Record<string, unknown> | undefined });
  });

  registerGuard(app, { host: opts.host ?? DEFAULT_API_HOST, token: opts.token, ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}) });

  // Only JSON and MessagePack bodies: anything else is 415, not a string the schemas then reject.
  app.removeContentTypeParser('text/plain');
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  app.addContentTypeParser([MSGPACK, 'application/x-msgpack'], { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    let value: unknown;
    try {
      value = unpackr.unpack(body as Buffer);
    } catch (e) {
      done(new ServiceError('invalid', 'EINVAL', `body: invalid MessagePack (${(e as Error).message})`), undefined);
      return;
    }
    const c = cloneJson(value, { maxDepth: 100 });
    if ('error' in c) done(new ServiceError('invalid', 'EINVAL', `body: ${c.error}`), undefined);
    else done(null, c.value);
  });

  app.setErrorHandler((err, req, reply) => {
    const body = toErrorBody(err);
    if (body.statusCode >= 500) log.error(`api ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ statusCode: 404, error: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'ENOENT' }));

  // The routes live in one encapsulated scope that carries the service as its `nvmetApi`
  // decorator; each route group is a plugin registered in it (fastify encapsulation:
  // the root instance, where the guard and error handlers sit, never sees the decorator).
  void app.register(async (scope) => {
    scope.decorate('nvmetApi', ctx);
    await scope.register(subsystemRoutes);
    await scope.register(hostRoutes);
    await scope.register(portRoutes);
    await scope.register(anaRoutes);
    await scope.register(pciRoutes);
    await scope.register(p2pProviderRoutes);
    await scope.register(stateRoutes);
    await scope.register(faultRoutes);
    await scope.register(observeRoutes, { routes, withToken: opts.token !== undefined && opts.token !== '' });
  });

  return { app, metrics };
}

/** /metrics and /openapi.json (the document lists every route the API registered). */
async function observeRoutes(app: FastifyInstance, o: { routes: readonly RouteInfo[]; withToken: boolean }): Promise<void> {
  const ctx = apiContextOf(app);
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)' } }, async (_req, reply) => {
    const text = await ctx.metrics.text();
    return reply.type(ctx.metrics.contentType).send(text);
  });

  let doc: unknown;
  app.get('/openapi.json', { schema: { summary: 'This OpenAPI document' } }, async () => {
    doc ??= buildOpenApi(o.routes, ctx.version, o.withToken);
    return doc;
  });
}

/** Build and listen. Refuses a non-loopback address without a token. */
export async function startApi(svc: NvmetService, opts: ApiOptions = {}): Promise<ApiServer> {
  const host = opts.host ?? DEFAULT_API_HOST;
  if (!isLoopback(host) && (opts.token === undefined || opts.token === '')) {
    throw new ServiceError('invalid', 'EACCES', `the management API on non-loopback address ${host} needs a bearer token (--api-token or NVMET_TS_API_TOKEN)`);
  }
  const { app, metrics } = buildApi(svc, opts);
  app.server.maxConnections = MAX_API_CONNECTIONS;
  await app.listen({ host, port: opts.port ?? DEFAULT_API_PORT });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? DEFAULT_API_PORT);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { app, metrics, url: `http://${shown}:${port}`, host, port, close: () => app.close() };
}
