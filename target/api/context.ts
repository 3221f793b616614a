/**
 * What every route plugin gets: the service and the API's own settings, decorated as
 * `nvmetApi` on the encapsulated instance the route plugins are registered in
 * (server.ts). The root instance and other plugins' scopes do not see it.
 */

import type { FastifyInstance } from 'fastify';
import type { NvmetService } from '../service/index.js';
import type { NvmetMetrics } from './metrics.js';

export interface ApiContext {
  readonly svc: NvmetService;
  readonly metrics: NvmetMetrics;
  /** Package version for /api/status. */
  readonly version: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Present inside the API scope only (decorated by `apiScope`). */
    nvmetApi: ApiContext;
  }
}

/** The decorator's value on a plugin's instance; a plugin registered outside the API scope fails loudly. */
export function apiContextOf(app: FastifyInstance): ApiContext {
  if (!app.hasDecorator('nvmetApi')) throw new Error('route plugin registered outside the API scope (no nvmetApi decorator)');
  return app.nvmetApi;
}
