/**
 * The nvmet-ts CLI as real processes (`node bin/nvmet-ts.js ...` over a fresh build): check, topology, argument errors, and a
 * running target driven over its API and an initiator, then SIGTERM (clean exit,
 * --save written, the saved file loads and serializes to the same bytes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import { loadConfigFile, serializeConfig } from '../../target/config/index.js';
import { request } from '../api/helpers.js';
import { buildPrivate } from './build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'api', 'fixtures');
let BIN = join(ROOT, 'bin', 'nvmet-ts.js');

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nvmet-ts ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let dir: string;
let build: string;
beforeAll(() => {
  build = buildPrivate();
  BIN = join(build, 'bin', 'nvmet-ts.js');
  dir = mkdtempSync(join(tmpdir(), 'nvmet-ts-cli-'));
}, 180_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

describe('nvmet-ts check', () => {
  test('a valid nvmetcli file passes', async () => {
    const r = await run(['check', join(FIXTURES, 'nvmetcli-old-kernel.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nvmetcli-old-kernel\.json: OK \(0 host\(s\), 2 port\(s\), 1 subsystem\(s\), 1 namespace\(s\)/);
  });

  test('an invalid file exits 1 naming every path at fault', async () => {
    const r = await run(['check', join(FIXTURES, 'invalid.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: subsystems\[0\]\.attr\.serial: serial number must be at most 20 characters/);
    expect(r.stderr).toMatch(/error: subsystems\[0\]\.namespaces\[0\]\.nsid: must be an integer/);
    expect(r.stderr).toMatch(/error: ports\[0\]\.addr\.traddr: must be an IPv4 address/);
    expect(r.stderr).toMatch(/invalid \(3 errors\)/);
  });

  test('--json, missing files and usage errors', async () => {
    const j = await run(['check', '--json', join(FIXTURES, 'invalid.json')]);
    expect(j.code).toBe(1);
    const out = JSON.parse(j.stdout);
    expect(out.ok).toBe(false);
    expect(out.errors.map((e: { path: string }) => e.path)).toContain('subsystems[0].attr.serial');
    const missing = await run(['check', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.json: ENOENT/);
    expect((await run(['check'])).code).toBe(2);
  });
});

describe('nvmet-ts topology', () => {
  test('renders a topology file and every provider decision', async () => {
    const r = await run(['topology', join(ROOT, 'config', 'topologies', 'default.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^topology jbof /);
    expect(r.stdout).toContain('-[0000:00]---01.0-[01-06]');
    expect(r.stdout).toMatch(/p2pmem providers \(3\):/);
    expect(r.stdout).toMatch(/0000:06:00\.0 p2pmem 1G .* published/);
    expect(r.stdout).toMatch(/NIC 0000:03:00\.0 \+ all NVMe SSDs/);
    expect(r.stdout).toMatch(/=> 0000:04:00\.0 \(cmb, distance 2/);
  });

  test('for a configuration, each port decides; --policy changes the reasoning', async () => {
    const r = await run(['topology', '--policy', 'upstream-bridge', join(ROOT, 'config', 'default.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/provider decisions \(policy upstream-bridge\):/);
    expect(r.stdout).toMatch(/port 1 \(allow_p2pmem=0; clients 0000:03:00\.0, 0000:04:00\.0, 0000:05:00\.0\)/);
    expect(r.stdout).toMatch(/common upstream bridge/);
    const acs = await run(['topology', '--json', join(ROOT, 'config', 'topologies', 'acs-redirect.json')]);
    expect(acs.code, acs.stderr).toBe(0);
    const doc = JSON.parse(acs.stdout);
    expect(doc.policy).toBe('v3');
    expect(doc.tree).toMatch(/^-\[0000:00\]/);
    expect(doc.decisions.length).toBeGreaterThan(0);
  });

  test('bad policy and bad files', async () => {
    const bad = await run(['topology', '--policy', 'nearest', join(ROOT, 'config', 'default.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--policy must be one of v3, linux-4.20, linux-6.1, same-switch, upstream-bridge/);
    writeFileSync(join(dir, 'broken-topology.json'), JSON.stringify({ rootComplex: {}, rootPorts: [{ bdf: 'zz' }] }));
    const broken = await run(['topology', join(dir, 'broken-topology.json')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/error: /);
  });
});

describe('nvmet-ts run', () => {
  // Six independent CLI starts: run side by side, with room for a loaded CI machine.
  test('usage errors exit 2', { timeout: 60_000 }, async () => {
    const slow = { timeoutMs: 50_000 };
    const [policy, listen, bogus, open, help, invalid] = await Promise.all([
      run(['--policy', 'nearest'], slow),
      run(['--listen', 'nonsense'], slow),
      run(['--bogus'], slow),
      run(['--api', '0.0.0.0:0', '--listen', '127.0.0.1:0'], { ...slow, env: { NVMET_TS_API_TOKEN: '' } }),
      run(['--help'], slow),
      run(['--config', join(FIXTURES, 'invalid.json'), '--no-api'], slow),
    ]);
    expect(policy.code).toBe(2);
    expect(listen.code).toBe(2);
    expect(bogus.code).toBe(2);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/not a loopback address: set --api-token/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--allow-p2pmem/);
    expect(help.stdout).toMatch(/topology FILE/);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/subsystems\[0\]\.attr\.serial/);
  });

  test('serves the API and NVMe/TCP, changes live, saves on SIGTERM and exits cleanly', async () => {
    const cfg = join(dir, 'run.json');
    copyFileSync(join(FIXTURES, 'nvmetcli-tcp-file.json'), cfg);
    writeFileSync(join(dir, 'disk0.img'), Buffer.alloc(1 << 20));
    const saved = join(dir, 'saved', 'out.json');
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, '--config', cfg, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', '--data-dir', dir, '--save', saved, '--allow-p2pmem', '--log-format', 'json'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    try {
      const deadline = performance.now() + 10_000;
      while (!/^subsystem /m.test(stdout)) {
        if (performance.now() > deadline || child.exitCode !== null) throw new Error(`no start-up summary\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // One-screen summary: ports (with the bound address), subsystems, namespaces, p2pmem per port and why.
      const api = /^api: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)![1]!;
      const tcpPort = Number(/^port 1: tcp 127\.0\.0\.1:(\d+) \(enabled\)$/m.exec(stdout)![1]);
      expect(stdout).toMatch(/^ {2}p2pmem: none — no compatible p2pmem provider: nsid 1 of .* is not behind a PCI device/m);
      expect(stdout).toMatch(/^ {2}namespace 1: file .*disk0\.img 1 MiB 512 B blocks \(enabled\)$/m);
      expect(stdout.split('\n').length).toBeLessThan(25);
      // Structured logs are JSON lines on stderr.
      const first = stderr.split('\n').find((l) => l.startsWith('{'));
      expect(JSON.parse(first!)).toMatchObject({ level: 'info' });

      const nqn = 'nqn.2023-11.com.example:storage.disk0';
      const hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:2b9a7c1e-4d3f-4e5a-9b6c-7d8e9f0a1b2c';
      const c = await connect({ host: '127.0.0.1', port: tcpPort, subnqn: nqn, hostnqn, kato: 0, queues: 1 });
      try {
        expect(await c.activeNamespaces()).toEqual([1]);
        const added = await request(api, 'POST', `/api/subsystems/${encodeURIComponent(nqn)}/namespaces`, { nsid: 3, device: { path: 'ram:2M' }, enable: 1 });
        expect(added.status, added.text).toBe(201);
        expect(await c.activeNamespaces()).toEqual([1, 3]);
      } finally {
        await c.close();
      }
      const metrics = await request(api, 'GET', '/metrics');
      expect(metrics.text).toMatch(/^nvmet_io_commands_total\{op="read"\} \d+$/m);

      child.kill('SIGTERM');
      const { code, signal } = await Promise.race([exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no exit after SIGTERM')), 10_000))]);
      expect(signal).toBeNull();
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    expect(stderr).toMatch(/"msg":"SIGTERM: shutting down"/);
    expect(stderr).toMatch(/"msg":"stopped"/);

    // The saved file has the live change, loads from its new directory, and re-serializes byte for byte.
    const text = readFileSync(saved, 'utf8');
    const loaded = await loadConfigFile(saved);
    expect(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors)).toBe(true);
    if (!loaded.ok) return;
    expect(serializeConfig(loaded.config)).toBe(text);
    const ns = loaded.config.subsystems[0]!.namespaces;
    expect(ns.map((n) => n.nsid)).toEqual([1, 2, 3]);
    expect(ns[0]!.device.path).toBe('../disk0.img');
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    const again = await run(['check', saved]);
    expect(again.code, again.stderr).toBe(0);
  });
});
