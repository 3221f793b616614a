/**
 * Whole-state routes: MessagePack and JSON export/import round trips, POST
 * /api/save and save → load → save byte identity, hand-written nvmetcli files
 * loading (and running), and a state import that only rebuilds what changed.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { connect, type AsyncEvent, type Controller } from '../../initiator/index.js';
import { loadConfigFile, serializeConfig } from '../../target/config/index.js';
import { NvmetService } from '../../target/service/index.js';
import { silentLogger } from '../../target/core/log.js';
import { startStack, enc, until, SUBNQN, type Stack } from './helpers.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixture = (name: string): string => new URL(name, FIXTURES).pathname;

let s: Stack | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await s?.close();
  s = undefined;
});

describe('state export and import', () => {
  test('MessagePack export decodes to the JSON export; importing it back changes nothing', async () => {
    s = await startStack();
    await s.http('POST', `/api/subsystems/${enc(SUBNQN)}/namespaces`, { nsid: 4, device: { path: 'ram:2M' }, enable: 0, p2pmem: true });
    const json = await s.http('GET', '/api/state');
    const mp = await s.http('GET', '/api/state', undefined, { accept: 'application/msgpack' });
    expect(mp.status).toBe(200);
    expect(mp.headers.get('content-type')).toMatch(/^application\/msgpack/);
    expect(unpack(mp.body)).toEqual(json.json);
    expect(unpack((await s.http('GET', '/api/state?format=msgpack')).body)).toEqual(json.json);

    const before = s.svc.serialized();
    const put = await s.http('PUT', '/api/state', mp.body, { 'content-type': 'application/msgpack' });
    expect(put.status, put.text).toBe(200);
    expect(s.svc.serialized()).toBe(before);
    const again = await s.http('GET', '/api/state', undefined, { accept: 'application/msgpack' });
    expect(Buffer.compare(again.body, mp.body)).toBe(0);
  });

  test('an import rebuilds only what changed: hosts on untouched subsystems stay connected', async () => {
    s = await startStack();
    const events: AsyncEvent[] = [];
    const c: Controller = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1, onAsyncEvent: (e) => events.push(e) });
    cleanups.push(() => c.close().catch(() => undefined));
    const data = new Uint8Array(512).fill(7);
    await c.write(1, 0, data);

    const st = (await s.http('GET', '/api/state')).json;
    st.hosts.push({ nqn: 'nqn.2024-01.io.nvmet-ts:importer' });
    st.subsystems.push({ nqn: 'nqn.2024-01.io.nvmet-ts:imported', attr: { allow_any_host: '1' }, allowed_hosts: [], namespaces: [{ nsid: 1, enable: 1, device: { path: 'ram:8M' } }] });
    st.ports[0].subsystems.push('nqn.2024-01.io.nvmet-ts:imported');
    st.subsystems[0].namespaces.push({ nsid: 2, enable: 1, device: { path: 'ram:8M' } });
    const put = await s.http('PUT', '/api/state', pack(st), { 'content-type': 'application/msgpack' });
    expect(put.status, put.text).toBe(200);

    // Same controller, same data, new namespace announced.
    await until(() => events.length > 0, 3000, 'AEN after import');
    expect(events[0]!.changedNamespaces).toEqual([2]);
    expect(await c.activeNamespaces()).toEqual([1, 2]);
    expect(Buffer.from(await c.read(1, 0, 1)).equals(Buffer.from(data))).toBe(true);
    const other = await connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: 'nqn.2024-01.io.nvmet-ts:imported', kato: 0, queues: 0 });
    cleanups.push(() => other.close().catch(() => undefined));
    expect(await other.activeNamespaces()).toEqual([1]);
    expect((await s.http('GET', '/api/hosts')).json).toEqual([{ nqn: 'nqn.2024-01.io.nvmet-ts:importer' }]);
  });

  test('an import that cannot be applied is rolled back', async () => {
    s = await startStack();
    const before = s.svc.serialized();
    const st = (await s.http('GET', '/api/state')).json;
    st.subsystems[0].namespaces.push({ nsid: 2, enable: 1, device: { path: 'ram:8M' } });
    st.ports.push({ portid: 2, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(s.tcpPort()) }, subsystems: [SUBNQN], referrals: [] });
    const put = await s.http('PUT', '/api/state', st);
    expect(put.status).toBe(409);
    expect(put.json.code).toBe('EADDRINUSE');
    expect(s.svc.serialized()).toBe(before);
    expect(s.svc.subsystem(SUBNQN)!.namespaces.map((n) => n.nsid)).toEqual([1]);
    expect(s.svc.nvmet.ports.map((p) => p.id)).toEqual([1]);
    expect(s.svc.port(1)!.state).toBe('enabled');
  });
});

describe('save', () => {
  test('POST /api/save writes the running document; save → load → save is byte-identical', async () => {
    s = await startStack();
    await s.http('POST', '/api/hosts', { nqn: 'nqn.2024-01.io.nvmet-ts:saver' });
    await s.http('POST', `/api/subsystems/${enc(SUBNQN)}/namespaces`, { device: { path: 'ram:4M', uuid: '01234567-89ab-4cde-8f01-23456789abcd' }, enable: 1 });
    await s.http('PATCH', `/api/subsystems/${enc(SUBNQN)}`, { attr: { allow_any_host: '1' } });
    const r = await s.http('POST', '/api/save');
    expect(r.status).toBe(200);
    expect(r.json.saved).toBe(s.savePath);
    const text = readFileSync(s.savePath, 'utf8');
    expect(text).toBe(s.svc.serialized());
    expect(JSON.parse(text)).toEqual((await s.http('GET', '/api/state')).json);

    const loaded = await loadConfigFile(s.savePath);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(serializeConfig(loaded.config)).toBe(text);

    // A second target started from the saved file saves the same bytes.
    const svc2 = await NvmetService.start({
      config: loaded.config,
      baseDir: loaded.baseDir,
      logger: silentLogger,
      savePath: join(s.dir, 'second.json'),
      listen: { traddr: '127.0.0.1', trsvcid: '0' },
    });
    cleanups.push(() => svc2.stop());
    await svc2.save();
    expect(readFileSync(join(s.dir, 'second.json'), 'utf8')).toBe(text);
    expect(svc2.subsystem(SUBNQN)!.namespaces.map((n) => n.nsid)).toEqual([1, 2]);
  });

  test('without a file to save to, /api/save is 409', async () => {
    s = await startStack();
    s.svc.savePath = undefined;
    const r = await s.http('POST', '/api/save');
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/--config FILE or --save FILE/);
  });
});

describe('hand-written nvmetcli files', () => {
  const samples = ['nvmetcli-tcp-file.json', 'nvmetcli-old-kernel.json', 'nvmetcli-loop-empty.json'];

  test.each(samples)('%s loads, serializes back byte for byte, and runs', async (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'nvmet-ts-sample-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(fixture(name), join(dir, name));
    writeFileSync(join(dir, 'disk0.img'), Buffer.alloc(2 << 20));
    const text = readFileSync(join(dir, name), 'utf8');
    const loaded = await loadConfigFile(join(dir, name));
    expect(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors)).toBe(true);
    if (!loaded.ok) return;
    expect(serializeConfig(loaded.config)).toBe(text);

    const svc = await NvmetService.start({ config: loaded.config, baseDir: loaded.baseDir, logger: silentLogger, listen: { traddr: '127.0.0.1', trsvcid: '0' } });
    cleanups.push(() => svc.stop());
    const tcp = svc.nvmet.ports.filter((p) => p.state === 'enabled' && p.addr.trtype === svc.tcp.trtype);
    for (const sub of loaded.config.subsystems) {
      const live = svc.subsystem(sub.nqn)!;
      expect(live.namespaces.filter((n) => n.enabled).map((n) => n.nsid)).toEqual(sub.namespaces.filter((n) => n.enable).map((n) => n.nsid));
      // Through every enabled TCP port exporting it, a host sees the enabled namespaces.
      for (const p of tcp) {
        if (!p.hasSubsystem(sub.nqn)) continue;
        const hostnqn = sub.allowedHosts[0];
        const c = await connect({ host: '127.0.0.1', port: Number(p.addr.trsvcid), subnqn: sub.nqn, kato: 0, queues: 0, ...(hostnqn ? { hostnqn } : {}) });
        try {
          expect(await c.activeNamespaces()).toEqual(sub.namespaces.filter((n) => n.enable).map((n) => n.nsid));
        } finally {
          await c.close();
        }
      }
    }
    svc.savePath = join(dir, 'resaved.json');
    await svc.save();
    expect(readFileSync(join(dir, 'resaved.json'), 'utf8')).toBe(text);
  });

  test('an invalid file is refused with every problem named by path', async () => {
    const r = await loadConfigFile(fixture('invalid.json'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['ports[0].addr.traddr', 'subsystems[0].attr.serial', 'subsystems[0].namespaces[0].nsid']));
  });
});
