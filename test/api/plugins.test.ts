/**
 * The API's route groups are fastify plugins in one encapsulated scope that carries
 * the service as the `nvmetApi` decorator: the root instance never sees it, every
 * route group reads the service from it, and a route plugin registered outside the
 * scope refuses to load instead of running without a service.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import Fastify from 'fastify';
import { buildApi } from '../../target/api/server.js';
import { hostRoutes } from '../../target/api/routes-hosts.js';
import { startStack, type Stack } from './helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

describe('API route plugins', () => {
  test('the service decorator is encapsulated: absent on the root, present for every route group', async () => {
    const { app } = buildApi(s.svc);
    try {
      await app.ready();
      expect(app.hasDecorator('nvmetApi')).toBe(false);
      // One route of each group answers from the service it got through the decorator.
      for (const url of ['/api/subsystems', '/api/hosts', '/api/ports', '/api/pci/tree', '/api/p2p/providers', '/api/status', '/api/faults', '/metrics', '/openapi.json']) {
        const r = await app.inject({ method: 'GET', url });
        expect(r.statusCode, url).toBe(200);
      }
      const status = (await app.inject({ method: 'GET', url: '/api/status' })).json() as { subsystems: number };
      expect(status.subsystems).toBe(s.svc.config.subsystems.length);
      // The OpenAPI document lists routes of the child plugins (the root's onRoute hook sees them).
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/hosts', '/api/subsystems', '/api/faults', '/metrics']));
    } finally {
      await app.close();
    }
  });

  test('a route plugin outside the API scope refuses to load', async () => {
    const bare = Fastify({ logger: false });
    void bare.register(hostRoutes);
    await expect(bare.ready()).rejects.toThrow(/outside the API scope/);
    await bare.close().catch(() => undefined);
  });
});
