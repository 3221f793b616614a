/**
 * Provider hot-remove and hot-add over the management API and the CLI (issue 16 item 4).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { baseDoc, startStack, type Stack } from './helpers.js';
import { providerCommand } from '../../target/cli/provider.js';

let s: Stack | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

function p2pDoc(): Record<string, unknown> {
  const doc = baseDoc() as { ports: { param: Record<string, string> }[] };
  doc.ports[0]!.param['allow_p2pmem'] = '1';
  return doc;
}

describe('p2pmem provider hot-remove / hot-add', () => {
  test('API: dmabuf removal re-chooses the port provider; the provider shows removed; add brings it back', async () => {
    s = await startStack(p2pDoc());
    const before = (await s.http('GET', '/api/ports/1/p2pmem')).json;
    expect(before.provider).toMatch(/^0000:0[456]:00\.0$/);
    const gone = before.provider as string;
    const r = await s.http('POST', `/api/p2p/providers/${gone}/remove`, { mode: 'dmabuf' });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ bdf: gone, mode: 'dmabuf', importersNotified: 1 });
    expect(r.json.ports[0].provider).not.toBe(gone);
    expect(r.json.ports[0].reason).toMatch(new RegExp(`^provider ${gone.replace(/\./g, '\\.')} removed \\(move_notify\\)`));
    const st = (await s.http('GET', '/api/p2p/state')).json;
    expect(st.providers.find((p: { bdf: string }) => p.bdf === gone)).toMatchObject({ removed: true, size: 0 });
    expect(st.ports[0].providerChanges).toBe(1);
    expect(st.lifecycle.removals).toBe(1);
    // Removing it again: it has no p2pmem any more.
    const again = await s.http('POST', `/api/p2p/providers/${gone}/remove`, {});
    expect(again.status).toBe(400);
    expect(again.json.code).toBe('ENODEV');
    const add = await s.http('POST', `/api/p2p/providers/${gone}/add`);
    expect(add.status, add.text).toBe(200);
    expect(add.json.provider).toMatchObject({ bdf: gone, removed: false, published: true });
    expect((await s.http('POST', `/api/p2p/providers/${gone}/add`)).status).toBe(409);
  });

  test('API: bad mode and unknown device are 4xx naming the field', async () => {
    s = await startStack(p2pDoc());
    const bad = await s.http('POST', '/api/p2p/providers/0000:04:00.0/remove', { mode: 'yank' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/mode/);
    const none = await s.http('POST', '/api/p2p/providers/0000:77:00.0/remove', {});
    expect(none.status).toBe(404);
  });

  test('CLI: nvmet-ts provider remove / add against the running API', async () => {
    s = await startStack(p2pDoc());
    const api = new URL(s.api.url).host;
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (x: string) => void out.push(x), err: (x: string) => void err.push(x) };
    expect(await providerCommand(['remove', '--mode', 'pgmap', '--api', api, '0000:06:00.0'], io, {})).toBe(0);
    expect(out.join('')).toMatch(/^0000:06:00\.0: removed \(pgmap\) in [\d.]+ ms\n {2}port 1: /);
    expect(await providerCommand(['add', '--api', api, '0000:06:00.0'], io, {})).toBe(0);
    expect(out.join('')).toMatch(/0000:06:00\.0: added/);
    expect(await providerCommand(['add', '--api', api, '0000:06:00.0'], io, {})).toBe(1);
    expect(err.join('')).toMatch(/HTTP 409: .*already provides p2pmem/);
    expect(await providerCommand(['remove', '--mode', 'nope', '0000:06:00.0'], io, {})).toBe(2);
    expect(await providerCommand(['eject', '0000:06:00.0'], io, {})).toBe(2);
  });
});
