/**
 * fastify's logger is the service's logger, also when that is not a pino instance (a
 * library user's or a test's own `Logger`): core/log.ts asPino bridges fastify's pino
 * records to its methods by level, so API lines reach it like every other line.
 */
import { afterEach, expect, test } from 'vitest';
import { NvmetService } from '../../target/service/index.js';
import { startApi, type ApiServer } from '../../target/api/server.js';
import { parseConfig } from '../../target/config/index.js';
import type { Logger } from '../../target/core/log.js';
import { baseDoc, request } from './helpers.js';

let svc: NvmetService | undefined;
let api: ApiServer | undefined;
afterEach(async () => {
  await api?.close();
  await svc?.stop();
  api = undefined;
  svc = undefined;
});

test('a plain Logger gets fastify\'s lines and the request lines at their levels', async () => {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
  const r = parseConfig(baseDoc());
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  svc = await NvmetService.start({ config: r.config, logger, dataPath: false });
  api = await startApi(svc, { host: '127.0.0.1', port: 0 });
  expect((await request(api.url, 'GET', '/api/status')).status).toBe(200);
  expect((await request(api.url, 'POST', '/api/hosts', { nqn: 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555', dhchap: { key: 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:' } })).status).toBe(201);
  expect(lines).toContain(`info Server listening at ${api.url}`);
  expect(lines.some((l) => /^debug api GET \/api\/status 200 \d+\.\d ms$/.test(l))).toBe(true);
  expect(lines.some((l) => /^info api POST \/api\/hosts 201 \d+\.\d ms$/.test(l))).toBe(true);
  expect(lines.join('\n')).not.toContain('ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n');
});
