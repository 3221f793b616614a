/**
 * The CLI at config load: a port with no subsystem linked does not listen (Linux
 * configfs: a port is enabled by its first subsystem link), the start-up summary and
 * the log say so, and linking a subsystem over the API makes it listen.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { freePort, request, tcpProbe } from '../api/helpers.js';
import { privateCliPerFile } from './build.js';

const NQN = 'nqn.2024-01.io.nvmet-ts:cli-ports';
const cli = privateCliPerFile('nvmet-ts-cliports-');

test('a configured port with no subsystem linked: summary and log say why it does not listen; a link over the API starts it', async () => {
  const [a, b] = [await freePort(), await freePort()];
  const port = (portid: number, trsvcid: number, subsystems: string[]) => ({
    portid,
    addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(trsvcid), treq: 'not specified' },
    param: { inline_data_size: '16384' },
    referrals: [],
    subsystems,
  });
  const cfg = join(cli.dir, 'ports.json');
  writeFileSync(cfg, JSON.stringify({
    hosts: [],
    ports: [port(1, a, [NQN]), port(2, b, [])],
    subsystems: [{ nqn: NQN, attr: { allow_any_host: '1' }, allowed_hosts: [], namespaces: [{ nsid: 1, enable: 1, device: { path: 'ram:1M' } }] }],
  }));
  const child = spawn(process.execPath, [cli.bin, '--config', cfg, '--api', '127.0.0.1:0', '--data-dir', cli.dir], { cwd: cli.dir, env: { ...process.env, NVMET_TS_API_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  try {
    const deadline = performance.now() + 10_000;
    while (!/^subsystem /m.test(stdout)) {
      if (performance.now() > deadline || child.exitCode !== null) throw new Error(`no start-up summary\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(stdout).toMatch(new RegExp(`^port 1: tcp 127\\.0\\.0\\.1:${a} \\(enabled\\)`, 'm'));
    expect(stdout).toMatch(new RegExp(`^port 2: tcp 127\\.0\\.0\\.1:${b} \\(not listening: no subsystem linked\\)`, 'm'));
    expect(stderr).toMatch(/ info {2}port 2 not listening: no subsystem linked$/m);
    expect(await tcpProbe(a)).toBe('connected');
    expect(await tcpProbe(b)).toBe('ECONNREFUSED');

    const api = /^api: (http:\S+)/m.exec(stdout)![1]!;
    expect((await request(api, 'POST', '/api/ports/2/subsystems', { nqn: NQN })).status).toBe(201);
    expect(await tcpProbe(b)).toBe('connected');
    expect((await request(api, 'DELETE', `/api/ports/2/subsystems/${encodeURIComponent(NQN)}`)).status).toBe(204);
    expect(await tcpProbe(b)).toBe('ECONNREFUSED');
    expect(stderr).toMatch(/ info {2}port 2 disabled: no subsystem linked$/m);
  } finally {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(t);
  }
}, 60_000);
