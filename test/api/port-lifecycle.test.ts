/**
 * Linux's port lifecycle, with real sockets: a port listens while at least one
 * subsystem is linked to it — the first link enables it, the last unlink disables it
 * (drivers/nvme/target/configfs.c nvmet_port_subsys_allow_link /
 * nvmet_port_subsys_drop_link). A port with no subsystem refuses TCP connections, at
 * start-up and after its last unlink; the API and the summary say why it does not listen.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { connect, discover, type Controller } from '../../initiator/index.js';
import { baseDoc, startStack, enc, freePort, tcpProbe, SUBNQN, type Stack } from './helpers.js';

let s: Stack | undefined;
const ctrls: Controller[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const c of ctrls.splice(0)) await c.close().catch(() => undefined);
  for (const srv of servers.splice(0)) await new Promise((r) => srv.close(r));
  await s?.close();
  s = undefined;
});

const tcpPortDoc = (portid: number, trsvcid: number, subsystems: string[]): Record<string, unknown> => ({
  portid,
  addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(trsvcid), treq: 'not specified' },
  subsystems,
  referrals: [],
});

async function host(port: number): Promise<Controller> {
  const c = await connect({ host: '127.0.0.1', port, subnqn: SUBNQN, queues: 1, kato: 0 });
  ctrls.push(c);
  return c;
}

describe('a port listens only while a subsystem is linked (Linux configfs)', () => {
  test('start-up: a port without subsystems refuses connections; link makes it listen, unlink of the last stops it, re-link works, removal works', async () => {
    const f = await freePort();
    const doc = baseDoc();
    (doc['ports'] as unknown[]).push(tcpPortDoc(2, f, []));
    s = await startStack(doc);

    // Not listening, and the API and the summary say why.
    expect((await s.http('GET', '/api/ports/2')).json.live).toMatchObject({ state: 'disabled', listening: false, why: 'no subsystem linked' });
    expect((await s.http('GET', '/api/ports/1')).json.live).toMatchObject({ state: 'enabled', listening: true, why: null });
    expect(s.svc.summary()).toMatch(new RegExp(`^port 2: tcp 127\\.0\\.0\\.1:${f} \\(not listening: no subsystem linked\\)$`, 'm'));
    expect(s.svc.summary()).toMatch(/^port 1: tcp 127\.0\.0\.1:\d+ \(enabled\)/m);
    expect(await tcpProbe(f)).toBe('ECONNREFUSED');
    expect((await s.http('GET', '/metrics')).text).toMatch(/^nvmet_port_enabled\{port="2"\} 0$/m);

    // The first link enables it: a host connects and discovery on it lists the subsystem.
    expect((await s.http('POST', '/api/ports/2/subsystems', { nqn: SUBNQN })).status).toBe(201);
    expect((await s.http('GET', '/api/ports/2')).json.live).toMatchObject({ state: 'enabled', listening: true, why: null, trsvcid: String(f) });
    expect((await discover({ host: '127.0.0.1', port: f })).entries.map((e) => e.subnqn)).toContain(SUBNQN);
    const c = await host(f);
    expect(await c.activeNamespaces()).toEqual([1]);
    expect((await s.http('GET', '/metrics')).text).toMatch(/^nvmet_port_enabled\{port="2"\} 1$/m);

    // Unlinking the last subsystem disables it: its controller goes, new connections are refused; port 1 is untouched.
    expect((await s.http('DELETE', `/api/ports/2/subsystems/${enc(SUBNQN)}`)).status).toBe(204);
    expect(s.svc.subsystem(SUBNQN)!.controllers.filter((x) => x.port.id === 2)).toHaveLength(0);
    expect(await tcpProbe(f)).toBe('ECONNREFUSED');
    expect((await s.http('GET', '/api/ports/2')).json.live).toMatchObject({ state: 'disabled', listening: false, why: 'no subsystem linked' });
    expect(await (await host(s.tcpPort(1))).activeNamespaces()).toEqual([1]);

    // Re-linking makes it listen again on the same address.
    expect((await s.http('POST', '/api/ports/2/subsystems', { nqn: SUBNQN })).status).toBe(201);
    expect(await (await host(f)).activeNamespaces()).toEqual([1]);
    expect((await s.http('DELETE', `/api/ports/2/subsystems/${enc(SUBNQN)}`)).status).toBe(204);
    expect(await tcpProbe(f)).toBe('ECONNREFUSED');

    // A port that does not listen is removed like any other.
    expect((await s.http('DELETE', '/api/ports/2')).status).toBe(204);
    expect((await s.http('GET', '/api/ports/2')).status).toBe(404);
    expect(await tcpProbe(s.tcpPort(1))).toBe('connected');
  });

  test('a port created over the API without subsystems does not listen; with one it does at once', async () => {
    s = await startStack();
    const f = await freePort();
    const r = await s.http('POST', '/api/ports', tcpPortDoc(3, f, []));
    expect(r.status, r.text).toBe(201);
    expect(r.json.live).toMatchObject({ state: 'disabled', listening: false, why: 'no subsystem linked' });
    expect(await tcpProbe(f)).toBe('ECONNREFUSED');
    const g = await freePort();
    const r2 = await s.http('POST', '/api/ports', tcpPortDoc(4, g, [SUBNQN]));
    expect(r2.json.live).toMatchObject({ state: 'enabled', listening: true });
    expect(await (await host(g)).activeNamespaces()).toEqual([1]);
  });

  test('removing the last subsystem a port links stops the port', async () => {
    s = await startStack();
    const p1 = s.tcpPort(1);
    expect(await tcpProbe(p1)).toBe('connected');
    expect((await s.http('DELETE', `/api/subsystems/${enc(SUBNQN)}`)).status).toBe(204);
    expect(await tcpProbe(p1)).toBe('ECONNREFUSED');
    expect((await s.http('GET', '/api/ports/1')).json.live).toMatchObject({ listening: false, why: 'no subsystem linked' });
  });

  test('a link whose port cannot listen is refused and not recorded (configfs: the symlink fails)', async () => {
    s = await startStack();
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const taken = (busy.address() as { port: number }).port;
    expect((await s.http('POST', '/api/ports', tcpPortDoc(5, taken, []))).status).toBe(201);
    const link = await s.http('POST', '/api/ports/5/subsystems', { nqn: SUBNQN });
    expect(link.status).toBeGreaterThanOrEqual(400);
    expect(link.text).toMatch(/EADDRINUSE/);
    expect((await s.http('GET', '/api/ports/5/subsystems')).json).toEqual([]);
    expect((await s.http('GET', '/api/ports/5')).json.live).toMatchObject({ state: 'disabled', listening: false, why: 'no subsystem linked' });
  });
});
