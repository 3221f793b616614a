/**
 * fastify logs through the process's one logger (target/core/log.ts): its own lines
 * ("Server listening at ...") and the API's request lines come out in the CLI's text
 * format at the CLI's level, and no request line or fastify record ever carries a
 * header or a body — the bearer token, DH-HMAC-CHAP keys and TLS PSKs stay out of logs.
 */
import { spawn } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { request } from '../api/helpers.js';
import { privateCliPerFile } from './build.js';

const DHCHAP_KEY = 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:';
const TLS_PSK = 'NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:';
const TOKEN = 'log-test-token-6d1f0c';
const HOST = 'nqn.2014-08.org.nvmexpress:uuid:5c0ffee0-1b2c-4d3e-8f40-123456789abc';
/** The CLI's text line: `TIME LEVEL MSG` (level padded to 5). */
const line = (level: string, msg: string): RegExp => new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ${level.padEnd(5)} ${msg}$`, 'm');

const cli = privateCliPerFile('nvmet-ts-clilog-');

/** Run the target on the built-in default configuration, do `work` against its API, stop it; its stderr. */
async function withTarget(args: string[], work: (api: string) => Promise<void>): Promise<string> {
  const child = spawn(process.execPath, [cli.bin, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', ...args], {
    cwd: cli.dir,
    env: { ...process.env, NVMET_TS_API_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  try {
    const deadline = performance.now() + 10_000;
    while (!/^api: (http:\S+)/m.test(stdout)) {
      if (performance.now() > deadline || child.exitCode !== null) throw new Error(`no start-up summary\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await work(/^api: (http:\S+)/m.exec(stdout)![1]!);
  } finally {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(t);
  }
  return stderr;
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('fastify logs through the CLI logger', () => {
  test('--log-level debug: fastify\'s own line and every request in the text format; no token, key or PSK anywhere', async () => {
    let port = 0;
    const stderr = await withTarget(['--log-level', 'debug'], async (api) => {
      port = Number(new URL(api).port);
      const created = await request(api, 'POST', '/api/hosts', { nqn: HOST, dhchap: { key: DHCHAP_KEY }, nvmet_ts: { tls_psk: TLS_PSK } }, auth);
      expect(created.status, created.text).toBe(201);
      expect((await request(api, 'PATCH', `/api/hosts/${encodeURIComponent(HOST)}`, { dhchap: { key: DHCHAP_KEY } }, auth)).status).toBe(200);
      // A refused body that holds a key: the 400 names the field, the log never shows the value.
      const bad = await request(api, 'PATCH', `/api/hosts/${encodeURIComponent(HOST)}`, { dhchap: { key: DHCHAP_KEY, bogus: DHCHAP_KEY } }, auth);
      expect(bad.status).toBe(400);
      expect((await request(api, 'GET', '/api/state', undefined, auth)).status).toBe(200);
      expect((await request(api, 'GET', '/api/status')).status).toBe(401);
    });
    expect(stderr).toMatch(line('info', `Server listening at http://127\\.0\\.0\\.1:${port}`));
    expect(stderr).toMatch(line('info', 'api POST /api/hosts 201 \\d+\\.\\d ms'));
    expect(stderr).toMatch(line('info', `api PATCH /api/hosts/${encodeURIComponent(HOST)} 200 \\d+\\.\\d ms`));
    expect(stderr).toMatch(line('info', `api PATCH /api/hosts/${encodeURIComponent(HOST)} 400 \\d+\\.\\d ms`));
    expect(stderr).toMatch(line('debug', 'api GET /api/state 200 \\d+\\.\\d ms'));
    expect(stderr).toMatch(line('debug', 'api GET /api/status 401 \\d+\\.\\d ms'));
    // Every line is the one format: nothing of fastify's own (JSON records, "incoming request") leaks through.
    for (const l of stderr.split('\n').filter((x) => x !== '')) expect(l).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z (debug|info |warn |error) \S/);
    expect(stderr).not.toMatch(/incoming request|request completed/);
    for (const secret of [TOKEN, DHCHAP_KEY, TLS_PSK, 'ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n', 'VRLbtnN9AQb2WXW3c9']) expect(stderr).not.toContain(secret);
  }, 60_000);

  test('at the default level (info) reads do not flood the log; changes and fastify\'s start-up line do show', async () => {
    const stderr = await withTarget([], async (api) => {
      for (let i = 0; i < 5; i++) expect((await request(api, 'GET', '/api/status', undefined, auth)).status).toBe(200);
      expect((await request(api, 'POST', '/api/hosts', { nqn: HOST }, auth)).status).toBe(201);
    });
    expect(stderr).toMatch(line('info', 'Server listening at http://127\\.0\\.0\\.1:\\d+'));
    expect(stderr).toMatch(line('info', 'api POST /api/hosts 201 \\d+\\.\\d ms'));
    expect(stderr).not.toMatch(/api GET/);
  }, 60_000);

  test('--log-format json: fastify\'s records are the same pino records as the rest', async () => {
    const stderr = await withTarget(['--log-format', 'json', '--log-level', 'debug'], async (api) => {
      expect((await request(api, 'GET', '/api/status', undefined, auth)).status).toBe(200);
    });
    const records = stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.find((r) => typeof r['msg'] === 'string' && (r['msg'] as string).startsWith('Server listening at '))).toMatchObject({ level: 'info' });
    const req = records.find((r) => typeof r['msg'] === 'string' && (r['msg'] as string).startsWith('api GET /api/status 200'));
    expect(req).toMatchObject({ level: 'debug' });
    expect(typeof req!['time']).toBe('string');
    expect(JSON.stringify(records)).not.toContain(TOKEN);
  }, 60_000);
});
