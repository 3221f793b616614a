/**
 * CRUD over real HTTP with the effect observed live through the TypeScript
 * initiator: namespaces (AEN + Active NS list), subsystems, hosts/allowed hosts,
 * ports (added and removed live), links and referrals (discovery log).
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { connect, discover, AerType, AerNotice, type AsyncEvent, type Controller } from '../../initiator/index.js';
import { startStack, enc, until, SUBNQN, HOSTNQN, type Stack } from './helpers.js';

let s: Stack;
const ctrls: Controller[] = [];

beforeEach(async () => {
  s = await startStack();
});
afterEach(async () => {
  for (const c of ctrls.splice(0)) await c.close().catch(() => undefined);
  await s.close();
});

async function host(subnqn = SUBNQN, opts: { hostnqn?: string; port?: number; onAsyncEvent?: (e: AsyncEvent) => void } = {}): Promise<Controller> {
  const c = await connect({
    host: '127.0.0.1',
    port: opts.port ?? s.tcpPort(),
    subnqn,
    queues: 1,
    kato: 0,
    ...(opts.hostnqn ? { hostnqn: opts.hostnqn } : {}),
    ...(opts.onAsyncEvent ? { onAsyncEvent: opts.onAsyncEvent } : {}),
  });
  ctrls.push(c);
  return c;
}

const nsPath = (nqn = SUBNQN): string => `/api/subsystems/${enc(nqn)}/namespaces`;

describe('namespaces', () => {
  test('a namespace added over the API appears in the Active NS list and raises the namespace-change event', async () => {
    const events: AsyncEvent[] = [];
    const c = await host(SUBNQN, { onAsyncEvent: (e) => events.push(e) });
    expect(await c.activeNamespaces()).toEqual([1]);

    const r = await s.http('POST', nsPath(), { device: { path: 'ram:16M' }, enable: 1 });
    expect(r.status).toBe(201);
    expect(r.json.nsid).toBe(2);
    expect(r.json.live.state).toBe('enabled');
    expect(r.json.live.size).toBe(16 << 20);

    await until(() => events.length > 0, 3000, 'namespace-change AEN');
    expect(events[0]!.type).toBe(AerType.Notice);
    expect(events[0]!.info).toBe(AerNotice.NsAttributeChanged);
    expect(events[0]!.changedNamespaces).toEqual([2]);
    expect(await c.activeNamespaces()).toEqual([1, 2]);
    const g = await c.geometry(2);
    expect(g.lbaSize * g.nsze).toBe(16 << 20);

    // I/O on the new namespace works and is counted in its stats.
    const data = new Uint8Array(4096).fill(0x5a);
    await c.write(2, 8, data);
    expect(Buffer.from(await c.read(2, 8, 8)).equals(Buffer.from(data))).toBe(true);
    const got = await s.http('GET', `${nsPath()}/2`);
    expect(got.json.live.stats).toMatchObject({ read_commands: 1, write_commands: 1, bytes_read: 4096, bytes_written: 4096 });
  });

  test('disable, re-enable and delete are live; p2pmem and device change only while disabled (409 EBUSY)', async () => {
    const events: AsyncEvent[] = [];
    const c = await host(SUBNQN, { onAsyncEvent: (e) => events.push(e) });
    expect((await s.http('POST', nsPath(), { nsid: 7, device: { path: 'ram:8M' }, enable: 1, nvmet_ts: { nvme: '0000:05:00.0' } })).status).toBe(201);
    await until(() => events.length >= 1);
    expect(await c.activeNamespaces()).toEqual([1, 7]);

    const busy = await s.http('PATCH', `${nsPath()}/7`, { p2pmem: '0000:06:00.0' });
    expect(busy.status).toBe(409);
    expect(busy.json.code).toBe('EBUSY');
    expect(busy.json.error).toMatch(/p2pmem/);
    const busyDev = await s.http('PATCH', `${nsPath()}/7`, { device: { path: 'ram:32M' } });
    expect(busyDev.status).toBe(409);

    const off = await s.http('PATCH', `${nsPath()}/7`, { enable: 0 });
    expect(off.status).toBe(200);
    expect(off.json.live.state).toBe('disabled');
    await until(() => events.length >= 2, 3000, 'AEN on disable');
    expect(events[1]!.changedNamespaces).toEqual([7]);
    expect(await c.activeNamespaces()).toEqual([1]);

    const p2p = await s.http('PATCH', `${nsPath()}/7`, { p2pmem: '0000:06:00.0', device: { path: 'ram:32M' } });
    expect(p2p.status).toBe(200);
    expect(p2p.json.p2pmem).toBe('0000:06:00.0');
    // A provider that does not publish p2pmem is refused like Linux (ENODEV) — 0000:03:00.0 is the NIC.
    const nodev = await s.http('PATCH', `${nsPath()}/7`, { p2pmem: '0000:03:00.0' });
    expect(nodev.status).toBe(400);
    expect(nodev.json.error).toMatch(/^body\.p2pmem: .*does not publish p2pmem/);

    expect((await s.http('PATCH', `${nsPath()}/7`, { enable: 1 })).json.live).toMatchObject({ state: 'enabled', size: 32 << 20 });
    await until(() => events.length >= 3);
    expect(await c.activeNamespaces()).toEqual([1, 7]);

    expect((await s.http('DELETE', `${nsPath()}/7`)).status).toBe(204);
    await until(() => events.length >= 4);
    expect(await c.activeNamespaces()).toEqual([1]);
    expect((await s.http('GET', `${nsPath()}/7`)).status).toBe(404);
    expect((await s.http('DELETE', `${nsPath()}/7`)).status).toBe(404);
  });

  test('concurrent requests are applied one at a time', async () => {
    const rs = await Promise.all(Array.from({ length: 16 }, () => s.http('POST', nsPath(), { device: { path: 'ram:1M' }, enable: 1 })));
    expect(rs.map((r) => r.status)).toEqual(Array(16).fill(201));
    expect(rs.map((r) => r.json.nsid).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 2));
    expect(s.svc.subsystem(SUBNQN)!.enabledNamespaces()).toHaveLength(17);
    expect(s.svc.config.subsystems[0]!.namespaces).toHaveLength(17);
  });

  test('file-backed namespace inside the data directory', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    writeFileSync(join(s.dataDir, 'disk.img'), Buffer.alloc(1 << 20));
    const r = await s.http('POST', nsPath(), { nsid: 3, device: { path: 'disk.img' }, enable: 1 });
    expect(r.status).toBe(201);
    expect(r.json.device.path).toBe(join(s.dataDir, 'disk.img'));
    expect(r.json.live).toMatchObject({ state: 'enabled', backend: 'file', size: 1 << 20 });
    const missing = await s.http('POST', nsPath(), { nsid: 4, device: { path: 'nope.img' }, enable: 1 });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatch(/^body\.device\.path: /);
  });
});

describe('subsystems, hosts and allowed hosts', () => {
  const NQN2 = 'nqn.2024-01.io.nvmet-ts:second';
  const OTHER_HOST = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555';

  test('create, link to a port, connect, restrict hosts, delete', async () => {
    const created = await s.http('POST', '/api/subsystems', {
      nqn: NQN2,
      attr: { allow_any_host: '0', model: 'second subsystem', serial: 'second0001' },
      namespaces: [{ nsid: 5, enable: 1, device: { path: 'ram:4M' } }],
    });
    expect(created.status).toBe(201);
    expect(created.json.namespaces[0].live.state).toBe('enabled');
    expect((await s.http('POST', '/api/subsystems', { nqn: NQN2 })).status).toBe(409);

    // Not exported yet: Connect fails.
    await expect(host(NQN2)).rejects.toThrow();
    expect((await s.http('POST', `/api/ports/1/subsystems`, { nqn: NQN2 })).status).toBe(201);
    // Exported but no host allowed.
    await expect(host(NQN2, { hostnqn: HOSTNQN })).rejects.toThrow();

    // Allowed host must exist first.
    const noHost = await s.http('POST', `/api/subsystems/${enc(NQN2)}/allowed_hosts`, { nqn: HOSTNQN });
    expect(noHost.status).toBe(400);
    expect(noHost.json.error).toMatch(/body\.nqn: host .* is not defined/);
    expect((await s.http('POST', '/api/hosts', { nqn: HOSTNQN })).status).toBe(201);
    expect((await s.http('POST', '/api/hosts', { nqn: HOSTNQN })).status).toBe(409);
    expect((await s.http('POST', `/api/subsystems/${enc(NQN2)}/allowed_hosts`, { nqn: HOSTNQN })).status).toBe(201);

    const c = await host(NQN2, { hostnqn: HOSTNQN });
    const id = await c.identifyController();
    expect(id.mn.trim()).toBe('second subsystem');
    expect(id.sn.trim()).toBe('second0001');
    expect(await c.activeNamespaces()).toEqual([5]);
    await expect(host(NQN2, { hostnqn: OTHER_HOST })).rejects.toThrow();

    const sub = await s.http('GET', `/api/subsystems/${enc(NQN2)}`);
    expect(sub.json.live.controllers).toHaveLength(1);
    expect(sub.json.live.controllers[0]).toMatchObject({ hostnqn: HOSTNQN, port: 1 });
    expect((await s.http('GET', `/api/hosts/${enc(HOSTNQN)}`)).json.allowed_by).toEqual([NQN2]);

    // Identity attributes cannot change while in use (configfs EBUSY) ...
    const busy = await s.http('PATCH', `/api/subsystems/${enc(NQN2)}`, { attr: { model: 'renamed' } });
    expect(busy.status).toBe(409);
    expect(busy.json.code).toBe('EBUSY');
    // ... but allow_any_host can, live.
    const anyHost = await s.http('PATCH', `/api/subsystems/${enc(NQN2)}`, { attr: { allow_any_host: '1' } });
    expect(anyHost.status).toBe(400); // Linux refuses allow_any_host=1 with allowed hosts listed
    expect(anyHost.json.error).toMatch(/^body\.attr\.allow_any_host: /);
    expect((await s.http('DELETE', `/api/hosts/${enc(HOSTNQN)}`)).status).toBe(409);
    expect((await s.http('DELETE', `/api/subsystems/${enc(NQN2)}/allowed_hosts/${enc(HOSTNQN)}`)).status).toBe(204);
    expect((await s.http('PATCH', `/api/subsystems/${enc(NQN2)}`, { attr: { allow_any_host: '1' } })).status).toBe(200);
    const any = await host(NQN2, { hostnqn: OTHER_HOST });
    expect(await any.activeNamespaces()).toEqual([5]);
    expect((await s.http('DELETE', `/api/hosts/${enc(HOSTNQN)}`)).status).toBe(204);

    // Delete: unlinked from the port, controllers torn down, Connect refused.
    expect((await s.http('DELETE', `/api/subsystems/${enc(NQN2)}`)).status).toBe(204);
    expect((await s.http('GET', `/api/subsystems/${enc(NQN2)}`)).status).toBe(404);
    expect((await s.http('GET', '/api/ports/1/subsystems')).json).toEqual([SUBNQN]);
    await expect(host(NQN2)).rejects.toThrow();
  });

  test('attributes of an idle subsystem change (rebuilt), seen by the next host', async () => {
    expect((await s.http('POST', '/api/subsystems', { nqn: NQN2, attr: { allow_any_host: '1' } })).status).toBe(201);
    const r = await s.http('PATCH', `/api/subsystems/${enc(NQN2)}`, { attr: { model: 'patched model', firmware: '2.0' } });
    expect(r.status).toBe(200);
    expect(r.json.attr).toMatchObject({ model: 'patched model', firmware: '2.0', allow_any_host: '1' });
    expect((await s.http('POST', '/api/ports/1/subsystems', { nqn: NQN2 })).status).toBe(201);
    const c = await host(NQN2);
    const id = await c.identifyController();
    expect(id.mn.trim()).toBe('patched model');
    expect(id.fr.trim()).toBe('2.0');
  });
});

describe('ports', () => {
  test('a port added over the API listens at once and is removed live', async () => {
    const r = await s.http('POST', '/api/ports', {
      portid: 2,
      addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0' },
      subsystems: [SUBNQN],
    });
    expect(r.status).toBe(201);
    expect(r.json.live.state).toBe('enabled');
    const port2 = Number(r.json.live.trsvcid);
    expect(port2).toBeGreaterThan(0);
    expect(port2).not.toBe(s.tcpPort(1));

    const c = await host(SUBNQN, { port: port2 });
    expect(await c.activeNamespaces()).toEqual([1]);
    expect((await s.http('GET', '/api/ports/2')).json.live).toMatchObject({ controllers: 1, connections: 2 });

    // Port 1 is unaffected by removing port 2; port 2 stops listening and its controller goes away.
    expect((await s.http('DELETE', '/api/ports/2')).status).toBe(204);
    expect(s.svc.subsystem(SUBNQN)!.controllers).toHaveLength(0);
    await expect(connect({ host: '127.0.0.1', port: port2, subnqn: SUBNQN, queues: 0, kato: 0, connectTimeoutMs: 1000 })).rejects.toThrow();
    const still = await host(SUBNQN);
    expect(await still.activeNamespaces()).toEqual([1]);
    expect((await s.http('GET', '/api/ports/2')).status).toBe(404);
  });

  test('unlink/link and referrals show in the discovery log; address change re-binds', async () => {
    const log0 = await discover({ host: '127.0.0.1', port: s.tcpPort() });
    expect(log0.entries.map((e) => e.subnqn)).toContain(SUBNQN);

    const ref = await s.http('POST', '/api/ports/1/referrals', {
      name: 'other',
      addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.2', trsvcid: '4420', portid: '9' },
      enable: 1,
    });
    expect(ref.status).toBe(201);
    const log1 = await discover({ host: '127.0.0.1', port: s.tcpPort() });
    const r = log1.entries.find((e) => e.traddr === '127.0.0.2');
    expect(r).toBeDefined();
    expect(r!.portid).toBe(9);
    expect(log1.genctr).toBeGreaterThan(log0.genctr);

    // Port 1 keeps a second subsystem this host may not see, so it keeps listening after the
    // unlink (a port with no subsystem linked does not listen, as in Linux: port-lifecycle.test.ts).
    const hidden = 'nqn.2024-01.io.nvmet-ts:hidden';
    expect((await s.http('POST', '/api/subsystems', { nqn: hidden, attr: { allow_any_host: '0' } })).status).toBe(201);
    expect((await s.http('POST', '/api/ports/1/subsystems', { nqn: hidden })).status).toBe(201);
    expect((await s.http('DELETE', `/api/ports/1/subsystems/${enc(SUBNQN)}`)).status).toBe(204);
    expect((await s.http('DELETE', '/api/ports/1/referrals/other')).status).toBe(204);
    const log2 = await discover({ host: '127.0.0.1', port: s.tcpPort() });
    // Only the current discovery subsystem entry is left.
    expect(log2.entries).toHaveLength(1);
    expect(log2.numrec).toBe(1);
    expect(log2.entries[0]).toMatchObject({ subtype: 3, subnqn: 'nqn.2014-08.org.nvmexpress.discovery', traddr: '127.0.0.1', trsvcid: String(s.tcpPort()) });
    await expect(host(SUBNQN)).rejects.toThrow();
    expect((await s.http('POST', '/api/ports/1/subsystems', { nqn: SUBNQN })).status).toBe(201);

    const before = s.tcpPort();
    const patched = await s.http('PATCH', '/api/ports/1', { addr: { traddr: '127.0.0.1', trsvcid: '0' }, param: { inline_data_size: '8192' } });
    expect(patched.status).toBe(200);
    expect(patched.json.param.inline_data_size).toBe('8192');
    expect(patched.json.live.state).toBe('enabled');
    const c = await host(SUBNQN, { port: Number(patched.json.live.trsvcid) });
    expect(await c.activeNamespaces()).toEqual([1]);
    expect(before).toBeGreaterThan(0);
  });

  test("the port's p2pmem binding follows allow_p2pmem; I/O is staged there; incompatible namespaces are refused", async () => {
    const off = await s.http('GET', '/api/ports/1/p2pmem');
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ allowP2pmem: false, provider: null, staging: 'system memory' });
    expect(off.json.why).toMatch(/allow_p2pmem is off/);

    // Turning the option on re-binds the port: the data path finds a provider for NIC + SSD.
    const on = await s.http('PATCH', '/api/ports/1', { param: { allow_p2pmem: '1' } });
    expect(on.status, on.text).toBe(200);
    expect(on.json.live.p2pmem).toMatchObject({ allow_p2pmem: true, provider: '0000:04:00.0', staging: 'p2pmem 0000:04:00.0' });
    const d = (await s.http('GET', '/api/ports/1/p2pmem')).json;
    expect(d.clients).toEqual(['0000:03:00.0', '0000:04:00.0']);
    expect(d.why).toMatch(/^p2pmem from 0000:04:00\.0/);
    expect(d.explanation.candidates.map((c: { provider: string }) => c.provider)).toEqual(['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']);

    // I/O through the port is staged in the provider's p2pmem and accounted on the PCIe links.
    const c = await host();
    const rc = async (): Promise<number> => Number(/^nvmet_root_complex_bytes_total (\d+)$/m.exec((await s.http('GET', '/metrics')).text)![1]);
    await c.geometry(1); // the host's Identify Namespace (admin, system memory) before the measurement
    const rc0 = await rc();
    for (let i = 0; i < 4; i++) await c.write(1, i * 8, new Uint8Array(4096).fill(i + 1));
    expect(Buffer.from(await c.read(1, 8, 8)).every((b) => b === 2)).toBe(true);
    const live = (await s.http('GET', '/api/ports/1/p2pmem')).json.live;
    expect(live.p2p_allocations).toBeGreaterThanOrEqual(5);
    expect(live.fallbacks).toBe(0);
    const metrics = (await s.http('GET', '/metrics')).text;
    expect(Number(/^nvmet_pcie_link_bytes_total\{link="0000:02:00\.0<->0000:03:00\.0",dir="up"\} (\d+)$/m.exec(metrics)![1])).toBeGreaterThanOrEqual(4 * 4096);
    // Admin commands stage in system memory (as Linux); the I/O itself never crosses the root complex.
    expect(await rc()).toBe(rc0);

    // While the port stages in p2pmem, a namespace it cannot use is refused (series: "adding new
    // namespaces that are not supported by that memory will fail"), and nothing changes.
    const before = s.svc.serialized();
    const unplaced = await s.http('POST', nsPath(), { device: { path: 'ram:1M' }, enable: 1 });
    expect(unplaced.status).toBe(400);
    expect(unplaced.json.code).toBe('ENODEV');
    expect(unplaced.json.error).toMatch(/not behind a PCI device/);
    expect(s.svc.serialized()).toBe(before);
    expect(s.svc.subsystem(SUBNQN)!.namespaces.map((n) => n.nsid)).toEqual([1]);
    expect((await s.http('POST', nsPath(), { device: { path: 'ram:1M' }, enable: 1, nvmet_ts: { nvme: '0000:05:00.0' } })).status).toBe(201);

    expect((await s.http('PATCH', '/api/ports/1', { param: { allow_p2pmem: '0' } })).json.live.p2pmem).toMatchObject({ provider: null, staging: 'system memory' });
  });
});

describe('p2pmem across switches', () => {
  test('a namespace on another switch is refused with EXDEV while the port uses p2pmem', async () => {
    const { readFileSync } = await import('node:fs');
    const { baseDoc } = await import('./helpers.js');
    const doc = baseDoc() as { ports: { param: Record<string, string> }[]; topology: unknown };
    doc.topology = JSON.parse(readFileSync(new URL('../../config/topologies/different-switches.json', import.meta.url), 'utf8'));
    doc.ports[0]!.param['allow_p2pmem'] = '1';
    const t = await startStack(doc);
    try {
      const p = await t.http('GET', '/api/ports/1/p2pmem');
      expect(p.json.provider).toBe('0000:04:00.0');
      const r = await t.http('POST', nsPath(), { nsid: 2, device: { path: 'ram:1M' }, enable: 1, nvmet_ts: { nvme: '0000:07:00.0' } });
      expect(r.status).toBe(409);
      expect(r.json.code).toBe('EXDEV');
      expect(r.json.error).toMatch(/0000:07:00\.0 cannot use 0000:04:00\.0/);
      expect(t.svc.subsystem(SUBNQN)!.namespaces.map((n) => n.nsid)).toEqual([1]);
      // Disabled, it may be added; the explain route shows why it could never share 04:00.0.
      expect((await t.http('POST', nsPath(), { nsid: 2, device: { path: 'ram:1M' }, enable: 0, nvmet_ts: { nvme: '0000:07:00.0' } })).status).toBe(201);
      const e = await t.http('GET', '/api/p2p/explain?clients=0000:03:00.0,0000:07:00.0');
      expect(e.json.chosen).toBeNull();
      expect(e.json.summary).toMatch(/different switch|no compatible provider/);
    } finally {
      await t.close();
    }
  });
});
