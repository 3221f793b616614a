/**
 * DH-HMAC-CHAP configuration end to end: a config document with the nvmetcli `dhchap`
 * group, the API creating and changing it live, secrets never returned by GET (nor in
 * the saved-state responses), and the TypeScript initiator authenticating through it.
 */
import { describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import { AuthenticationError } from '../../initiator/authenticate.js';
import { formatDhchapSecret } from '../../src/nvme/auth/index.js';
import { enc, oneHostDoc, stackPerTest, startStack, HOSTNQN } from './helpers.js';

const secret = (hash: 0 | 1 | 2 | 3, seed: number): string =>
  formatDhchapSecret({ hash, key: Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + seed) & 0xff) });
const HOST_KEY = secret(1, 3);
const CTRL_KEY = secret(0, 5);

const authDoc = (dhchap: Record<string, string>): Record<string, unknown> => oneHostDoc({ dhchap });
const t = stackPerTest();
const opts = () => t.hostOpts();

describe('hosts dhchap group', () => {
  test('config file form authenticates; GET shows no secret', async () => {
    const s = t.use(await startStack(authDoc({ key: HOST_KEY, ctrl_key: CTRL_KEY, hash: 'hmac(sha384)', dhgroup: 'ffdhe2048' })));
    const c = await connect({ ...opts(), dhchapSecret: HOST_KEY, dhchapCtrlSecret: CTRL_KEY });
    await c.close();
    await expect(connect(opts())).rejects.toBeInstanceOf(AuthenticationError);
    for (const path of ['/api/hosts', `/api/hosts/${enc(HOSTNQN)}`, '/api/state']) {
      const r = await s.http('GET', path);
      expect(r.status).toBe(200);
      expect(r.text).not.toContain(HOST_KEY.slice(10, 40));
      expect(r.text).not.toContain(CTRL_KEY.slice(10, 40));
      expect(r.text).toContain('(write-only)');
    }
    const h = (await s.http('GET', `/api/hosts/${enc(HOSTNQN)}`)).json;
    expect(h.dhchap).toEqual({ key: '(write-only)', ctrl_key: '(write-only)', hash: 'hmac(sha384)', dhgroup: 'ffdhe2048' });
  });

  test('GET state then PUT it back keeps the secrets', async () => {
    const s = t.use(await startStack(authDoc({ key: HOST_KEY })));
    const st = (await s.http('GET', '/api/state')).json;
    const r = await s.http('PUT', '/api/state', st);
    expect(r.status).toBe(200);
    const c = await connect({ ...opts(), dhchapSecret: HOST_KEY });
    await c.close();
  });

  test('API creates a host with a key, changes it live, and clears it', async () => {
    const s = t.use(await startStack(authDoc({})));
    const other = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555';
    const created = await s.http('POST', '/api/hosts', { nqn: other, dhchap: { key: HOST_KEY, dhgroup: 'ffdhe3072' } });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(HOST_KEY.slice(10, 40));
    // The existing host gets a key live: the next connection must authenticate.
    expect((await s.http('PATCH', `/api/hosts/${enc(HOSTNQN)}`, { dhchap: { key: HOST_KEY, hash: 'hmac(sha512)' } })).status).toBe(200);
    await expect(connect(opts())).rejects.toBeInstanceOf(AuthenticationError);
    const c = await connect({ ...opts(), dhchapSecret: HOST_KEY });
    await c.close();
    // Rotate the key.
    const next = secret(2, 9);
    expect((await s.http('PATCH', `/api/hosts/${enc(HOSTNQN)}`, { dhchap: { key: next } })).status).toBe(200);
    await expect(connect({ ...opts(), dhchapSecret: HOST_KEY })).rejects.toBeInstanceOf(AuthenticationError);
    (await connect({ ...opts(), dhchapSecret: next })).abort();
    // Clear it: no authentication any more.
    expect((await s.http('PATCH', `/api/hosts/${enc(HOSTNQN)}`, { dhchap: { key: '' } })).status).toBe(200);
    await (await connect(opts())).close();
  });

  test.each([
    [{ key: 'DHHC-1:00:AAAA:' }, 'body.dhchap.key'],
    [{ key: HOST_KEY.replace(/.:$/, (m) => (m[0] === 'A' ? 'B:' : 'A:')) }, 'body.dhchap.key'],
    [{ key: HOST_KEY, hash: 'hmac(md5)' }, 'body.dhchap.hash'],
    [{ key: HOST_KEY, dhgroup: 'ecdh' }, 'body.dhchap.dhgroup'],
    [{ ctrl_key: CTRL_KEY }, 'body.dhchap.ctrl_key'],
  ])('bad dhchap %j is a 400 naming %s, without echoing secrets', async (dhchap, field) => {
    const s = t.use(await startStack(authDoc({})));
    const r = await s.http('PATCH', `/api/hosts/${enc(HOSTNQN)}`, { dhchap });
    expect(r.status).toBe(400);
    expect(r.text).toContain(field);
    expect(r.text).not.toContain(HOST_KEY.slice(10, 40));
    expect(r.text).not.toContain(CTRL_KEY.slice(10, 40));
  });
});
