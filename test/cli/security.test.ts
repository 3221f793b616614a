/**
 * Issue 10 parts 3-4 through the real CLI process: the API token from a file or the
 * environment (never needing argv), the default data directory (./nvmet-ts-data,
 * not the working directory), and DH-HMAC-CHAP / TLS fields refused at start-up and
 * by `nvmet-ts check`, naming the JSON path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { request } from '../api/helpers.js';
import { privateCliPerFile } from './build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'api', 'fixtures');
const KEY = 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:';
const cli = privateCliPerFile('nvmet-ts-clisec-');
// Every test starts the CLI one to three times (up to ~1 s each when idle): leave room for a loaded CI machine.
const SLOW = { timeout: 60_000 };

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli.bin, ...args], { cwd: cli.dir, env: { ...process.env, NVMET_TS_API_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start the target; resolves with its API URL once the start-up summary is out. */
async function startTarget(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; api: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [cli.bin, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', ...args], {
    cwd: cli.dir,
    env: { ...process.env, NVMET_TS_API_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  const deadline = performance.now() + 30_000;
  while (!/^api: (http:\S+)/m.test(stdout)) {
    if (performance.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`no start-up summary\n${stdout}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const api = /^api: (http:\S+)/m.exec(stdout)![1]!;
  return {
    child,
    api,
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(t);
    },
  };
}

describe('the API token without argv', () => {
  test('--api-token-file: requests need it; the Bearer scheme is case-insensitive', SLOW, async () => {
    const tokenFile = join(cli.dir, 'token');
    writeFileSync(tokenFile, 'file-token-123\n', { mode: 0o600 });
    const t = await startTarget(['--api-token-file', tokenFile]);
    try {
      expect((await request(t.api, 'GET', '/api/status')).status).toBe(401);
      expect((await request(t.api, 'GET', '/api/status', undefined, { authorization: 'Bearer file-token-123' })).status).toBe(200);
      expect((await request(t.api, 'GET', '/api/status', undefined, { authorization: 'bearer file-token-123' })).status).toBe(200);
      expect((await request(t.api, 'GET', '/api/status', undefined, { authorization: 'Bearer file-token-12' })).status).toBe(401);
    } finally {
      await t.stop();
    }
  });

  test('NVMET_TS_API_TOKEN', SLOW, async () => {
    const t = await startTarget([], { NVMET_TS_API_TOKEN: 'env-token-456' });
    try {
      expect((await request(t.api, 'GET', '/api/status')).status).toBe(401);
      expect((await request(t.api, 'GET', '/api/status', undefined, { authorization: 'BEARER env-token-456' })).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  test('a missing or empty token file is a usage error', SLOW, async () => {
    expect((await run(['--api-token-file', join(cli.dir, 'nope')])).code).toBe(2);
    writeFileSync(join(cli.dir, 'empty'), '');
    const r = await run(['--api-token-file', join(cli.dir, 'empty')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/empty/);
  });
});

describe('the default data directory', () => {
  test('is ./nvmet-ts-data (0700, created on demand), not the working directory: a file in the working directory cannot be served', SLOW, async () => {
    writeFileSync(join(cli.dir, 'private.img'), Buffer.alloc(1 << 20, 0x11));
    const t = await startTarget([]);
    try {
      const status = await request(t.api, 'GET', '/api/status');
      expect(status.json.data_dir).toBe(join(cli.dir, 'nvmet-ts-data'));
      const nqn = 'nqn.2014-08.org.nvmexpress:nvmet-ts';
      const r = await request(t.api, 'POST', `/api/subsystems/${encodeURIComponent(nqn)}/namespaces`, { device: { path: join(cli.dir, 'private.img') }, enable: 1 });
      expect(r.status).toBe(400);
      expect(r.json.error).toMatch(/path must be inside .*nvmet-ts-data/);
      expect(statSync(join(cli.dir, 'nvmet-ts-data')).mode & 0o777).toBe(0o700);
      writeFileSync(join(cli.dir, 'nvmet-ts-data', 'ok.img'), Buffer.alloc(1 << 20));
      const ok = await request(t.api, 'POST', `/api/subsystems/${encodeURIComponent(nqn)}/namespaces`, { device: { path: 'ok.img' }, enable: 1 });
      expect(ok.status, ok.text).toBe(201);
    } finally {
      await t.stop();
    }
  });
});

describe('security fields refused at start-up and by check', () => {
  test('a host with a TLS PSK: `check` and start-up fail naming hosts[0].tls_key; a TSAS NVMe/TCP does not have names ports[0].addr.tsas; a configfs-named dhchap_key is never ignored', SLOW, async () => {
    const cfg = JSON.parse(readFileSync(join(FIXTURES, 'nvmetcli-tcp-file.json'), 'utf8'));
    cfg.hosts[0].tls_key = 'NVMeTLSkey-1:01:abc:';
    cfg.hosts[0].dhchap_key = KEY;
    cfg.ports[0].addr.traddr = '127.0.0.1';
    // tls1.3 is implemented (issue 11); "connected" is not an NVMe/TCP security type.
    cfg.ports[0].addr.tsas = 'connected';
    const file = join(cli.dir, 'dhchap.json');
    writeFileSync(file, JSON.stringify(cfg));
    copyFileSync(join(FIXTURES, 'nvmetcli-tcp-file.json'), join(cli.dir, 'unused.json'));

    const check = await run(['check', file]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/error: hosts\[0\]\.tls_key: NVMe\/TCP TLS .* is not implemented/);
    expect(check.stderr).toMatch(/error: ports\[0\]\.addr\.tsas: NVMe\/TCP TLS/);
    expect(check.stderr).toMatch(/error: hosts\[0\]\.dhchap_key: unknown field: DH-HMAC-CHAP settings go in the nvmetcli "dhchap" group/);
    expect(check.stderr).not.toMatch(/warning: hosts\[0\]/);
    const json = await run(['check', '--json', file]);
    expect(JSON.parse(json.stdout).errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['hosts[0].tls_key', 'hosts[0].dhchap_key', 'ports[0].addr.tsas']));

    const start = await run(['--config', file, '--no-api', '--listen', '127.0.0.1:0']);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/hosts\[0\]\.tls_key: NVMe\/TCP TLS/);
  });
});
