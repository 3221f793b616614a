/**
 * Read-only routes: /metrics (parsed as Prometheus text), the PCIe tree and p2pmem
 * providers, p2p explain, the OpenAPI document, status — plus bearer-token auth and
 * the loopback rule.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import { buildApi, startApi } from '../../target/api/server.js';
import { startStack, parsePrometheus, request, SUBNQN, type Stack } from './helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

const value = (fam: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}): number | undefined =>
  (fam.get(name) ?? fam.get(name.replace(/_(bucket|sum|count)$/, '')))?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

describe('/metrics', () => {
  test('parses as Prometheus text and counts I/O done through the initiator', async () => {
    const c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1 });
    try {
      for (let i = 0; i < 3; i++) await c.write(1, i * 8, new Uint8Array(4096).fill(i));
      for (let i = 0; i < 5; i++) await c.read(1, 0, 8);
    } finally {
      await c.close();
    }
    const r = await s.http('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const fam = parsePrometheus(r.text);

    for (const [name, type] of [
      ['nvmet_io_commands_total', 'counter'],
      ['nvmet_io_bytes_total', 'counter'],
      ['nvmet_io_latency_seconds', 'histogram'],
      ['nvmet_pcie_link_bytes_total', 'counter'],
      ['nvmet_root_complex_bytes_total', 'counter'],
      ['nvmet_dram_bytes_total', 'counter'],
      ['nvmet_p2pmem_available_bytes', 'gauge'],
      ['nvmet_p2pmem_fallbacks_total', 'counter'],
    ] as const) {
      expect(fam.get(name)?.type, name).toBe(type);
      expect(fam.get(name)!.help.length, name).toBeGreaterThan(0);
      expect(fam.get(name)!.samples.length, name).toBeGreaterThan(0);
    }
    expect(value(fam, 'nvmet_io_commands_total', { op: 'write' })).toBe(3);
    expect(value(fam, 'nvmet_io_commands_total', { op: 'read' })).toBe(5);
    expect(value(fam, 'nvmet_io_bytes_total', { op: 'write' })).toBe(3 * 4096);
    expect(value(fam, 'nvmet_io_bytes_total', { op: 'read' })).toBe(5 * 4096);

    // Every PCIe link of the topology, both directions.
    const links = s.svc.topology.links.filter((l) => l.kind !== 'dram');
    const linkSamples = fam.get('nvmet_pcie_link_bytes_total')!.samples;
    expect(linkSamples).toHaveLength(links.length * 2);
    for (const l of links) for (const dir of ['up', 'down']) expect(value(fam, 'nvmet_pcie_link_bytes_total', { link: l.id, dir })).toBeGreaterThanOrEqual(0);

    expect(value(fam, 'nvmet_p2pmem_available_bytes', { bdf: '0000:06:00.0' })).toBe(1 << 30);
    expect(value(fam, 'nvmet_p2pmem_available_bytes', { bdf: '0000:04:00.0' })).toBe(256 << 20);
    expect(value(fam, 'nvmet_p2pmem_fallbacks_total', { port: '1' })).toBe(0);
    // The latency histogram is well formed (cumulative buckets ending in +Inf = count).
    const h = fam.get('nvmet_io_latency_seconds')!.samples.filter((x) => x.labels['op'] === 'read');
    const buckets = h.filter((x) => x.name.endsWith('_bucket'));
    expect(buckets.at(-1)!.labels['le']).toBe('+Inf');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(h.find((x) => x.name.endsWith('_count'))!.value).toBe(buckets.at(-1)!.value);
  });

  test('counters never go down when a namespace is removed', async () => {
    const before = parsePrometheus((await s.http('GET', '/metrics')).text);
    const w0 = value(before, 'nvmet_io_commands_total', { op: 'write' })!;
    const ns = `/api/subsystems/${encodeURIComponent(SUBNQN)}/namespaces`;
    expect((await s.http('POST', ns, { nsid: 9, device: { path: 'ram:1M' }, enable: 1 })).status).toBe(201);
    const c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1 });
    await c.write(9, 0, new Uint8Array(512));
    await c.close();
    expect((await s.http('DELETE', `${ns}/9`)).status).toBe(204);
    const after = parsePrometheus((await s.http('GET', '/metrics')).text);
    expect(value(after, 'nvmet_io_commands_total', { op: 'write' })).toBe(w0 + 1);
  });

  test('the core completion hook feeds the latency histogram and per-op counters from real I/O', async () => {
    const before = parsePrometheus((await s.http('GET', '/metrics')).text);
    const r0 = value(before, 'nvmet_io_latency_seconds_count', { op: 'read' }) ?? 0;
    const w0 = value(before, 'nvmet_io_latency_seconds_count', { op: 'write' }) ?? 0;
    const f0 = value(before, 'nvmet_io_commands_total', { op: 'flush' }) ?? 0;
    const c = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1 });
    try {
      await c.write(1, 0, new Uint8Array(4096).fill(7));
      await c.read(1, 0, 8);
      await c.read(1, 8, 8);
      await c.flush(1);
    } finally {
      await c.close();
    }
    const fam = parsePrometheus((await s.http('GET', '/metrics')).text);
    expect(value(fam, 'nvmet_io_latency_seconds_count', { op: 'read' })).toBe(r0 + 2);
    expect(value(fam, 'nvmet_io_latency_seconds_count', { op: 'write' })).toBe(w0 + 1);
    expect(value(fam, 'nvmet_io_latency_seconds_sum', { op: 'read' })).toBeGreaterThan(0);
    expect(value(fam, 'nvmet_io_commands_total', { op: 'flush' })).toBe(f0 + 1);
  });
});

describe('PCIe topology and p2pmem', () => {
  test('GET /api/pci/tree has the functions, links and lspci-style text', async () => {
    const r = await s.http('GET', '/api/pci/tree');
    expect(r.status).toBe(200);
    expect(r.json.name).toBe('jbof');
    expect(r.json.text).toMatch(/^-\[0000:00\]-/);
    expect(r.json.text).toContain('Mellanox ConnectX-7');
    const nic = r.json.functions.find((f: { bdf: string }) => f.bdf === '0000:03:00.0');
    expect(nic).toMatchObject({ kind: 'rnic', upstream: '0000:02:00.0', vendor: '0x15b3' });
    expect(nic.link.text).toMatch(/^Gen3 x16/);
    expect(r.json.switches[0].downstream).toHaveLength(4);
  });

  test('GET /api/pci/devices/:bdf/p2pmem gives size, available, published; 404 without p2pmem', async () => {
    const card = await s.http('GET', '/api/pci/devices/0000:06:00.0/p2pmem');
    expect(card.json).toMatchObject({ bdf: '0000:06:00.0', kind: 'p2pmem', size: 1 << 30, available: 1 << 30, published: true });
    const cmb = await s.http('GET', '/api/pci/devices/04:00.0/p2pmem');
    expect(cmb.json).toMatchObject({ bdf: '0000:04:00.0', kind: 'cmb', size: 256 << 20, published: true });
    expect((await s.http('GET', '/api/pci/devices/0000:03:00.0/p2pmem')).status).toBe(404);
    expect((await s.http('GET', '/api/pci/devices/0000:42:00.0/p2pmem')).status).toBe(404);
    expect((await s.http('GET', '/api/p2p/providers')).json.map((p: { bdf: string }) => p.bdf)).toEqual(['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']);
  });

  test('GET /api/p2p/state has the data path: port bindings, provider pools, DMA counters', async () => {
    const r = await s.http('GET', '/api/p2p/state');
    expect(r.status).toBe(200);
    expect(r.json.policy).toBe('v3');
    expect(r.json.ports[0]).toMatchObject({ portId: 1, enabled: true, nic: '0000:03:00.0', allowP2pmem: false, p2pmemInUse: false });
    expect(r.json.providers.map((p: { bdf: string }) => p.bdf)).toEqual(['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']);
    expect(Object.keys(r.json.dma.links).length).toBeGreaterThan(0);
  });

  test('GET /api/p2p/explain gives the decision and every provider verdict', async () => {
    const r = await s.http('GET', '/api/p2p/explain?clients=0000:03:00.0,0000:04:00.0,0000:05:00.0');
    expect(r.status).toBe(200);
    expect(r.json.policy).toBe('v3');
    expect(r.json.candidates).toHaveLength(3);
    // Under same-switch: each CMB is distance 0 to itself + 1 per other client = 2; the card is 3.
    expect(r.json.ties).toEqual(['0000:04:00.0', '0000:05:00.0']);
    expect(r.json.chosen).toBe('0000:04:00.0');
    expect(r.json.summary).toMatch(/random/);
    const up = await s.http('GET', '/api/p2p/explain?clients=0000:03:00.0,0000:04:00.0&policy=upstream-bridge');
    expect(up.json.policy).toBe('linux-4.20');
    expect(up.json.chosen).toBe('0000:04:00.0');
    const bad = await s.http('GET', '/api/p2p/explain?clients=0000:77:00.0');
    expect(bad.status).toBe(200);
    expect(bad.json.chosen).toBeNull();
    expect(bad.json.summary).toMatch(/ENODEV: no PCI device 0000:77:00\.0/);
  });
});

describe('documents and access', () => {
  test('OpenAPI document lists every route with its schemas', async () => {
    const r = await s.http('GET', '/openapi.json');
    expect(r.json.openapi).toBe('3.1.0');
    const paths = r.json.paths;
    for (const p of [
      '/api/subsystems',
      '/api/subsystems/{nqn}',
      '/api/subsystems/{nqn}/namespaces/{nsid}',
      '/api/subsystems/{nqn}/allowed_hosts/{hostnqn}',
      '/api/hosts/{nqn}',
      '/api/ports/{portid}/subsystems/{nqn}',
      '/api/ports/{portid}/referrals/{name}',
      '/api/pci/tree',
      '/api/pci/devices/{bdf}/p2pmem',
      '/api/p2p/explain',
      '/api/state',
      '/api/save',
      '/metrics',
    ]) {
      expect(paths[p], p).toBeDefined();
    }
    expect(paths['/api/subsystems'].post.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(paths['/api/state'].put.requestBody.content['application/msgpack']).toBeDefined();
    expect(paths['/api/subsystems/{nqn}/namespaces/{nsid}'].patch.parameters.map((p: { name: string }) => p.name)).toEqual(['nqn', 'nsid']);
  });

  test('status and unknown routes', async () => {
    const st = await s.http('GET', '/api/status');
    expect(st.json).toMatchObject({ version: 'test', subsystems: 1, ports: 1, policy: 'v3' });
    const nf = await s.http('GET', '/api/nothing');
    expect(nf.status).toBe(404);
    expect(nf.json.error).toMatch(/no route GET \/api\/nothing/);
  });

  test('a bearer token guards every route', async () => {
    const { app } = buildApi(s.svc, { token: 's3cret' });
    try {
      const no = await app.inject({ method: 'GET', url: '/api/subsystems' });
      expect(no.statusCode).toBe(401);
      expect(no.headers['www-authenticate']).toBe('Bearer');
      const wrong = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
      expect(wrong.statusCode).toBe(401);
      const mutate = await app.inject({ method: 'POST', url: '/api/hosts', payload: { nqn: 'nqn.2024-01.io.x:h' } });
      expect(mutate.statusCode).toBe(401);
      expect(s.svc.config.hosts).toHaveLength(0);
      const ok = await app.inject({ method: 'GET', url: '/api/subsystems', headers: { authorization: 'Bearer s3cret' } });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  test('a non-loopback address is refused without a token', async () => {
    await expect(startApi(s.svc, { host: '0.0.0.0', port: 0 })).rejects.toThrow(/needs a bearer token/);
    // With a token it binds; served over real HTTP and guarded.
    const api = await startApi(s.svc, { host: '127.0.0.1', port: 0, token: 't' });
    try {
      expect((await request(api.url, 'GET', '/api/status')).status).toBe(401);
      expect((await request(api.url, 'GET', '/api/status', undefined, { authorization: 'Bearer t' })).status).toBe(200);
    } finally {
      await api.close();
    }
  });
});
