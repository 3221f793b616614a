/**
 * contrib/blktests/nvme-target-control (blktests' NVME_TARGET_CONTROL contract) run as a real
 * bash + curl process against a real target and API: what blktests' setup/cleanup make, the
 * DH-HMAC-CHAP keys honoured (the TypeScript initiator authenticates through them), and the
 * port listening only while a subsystem is linked, as a kernel nvmet port.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import { AuthenticationError } from '../../initiator/authenticate.js';
import { formatDhchapSecret } from '../../src/nvme/auth/index.js';
import { enc, freePort, startStack, TOPOLOGY, type Stack } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('../../contrib/blktests/nvme-target-control', import.meta.url));
const HOSTID = '0f01fb42-9f7f-4856-b0b3-51e60b8de349';
const HOSTNQN = `nqn.2014-08.org.nvmexpress:uuid:${HOSTID}`;
const UUID = '91fdba0d-f87b-4c25-b80f-db7be1418b9e';
const secret = (hash: 0 | 1 | 2 | 3, seed: number): string =>
  formatDhchapSecret({ hash, key: Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + seed) & 0xff) });

const run = promisify(execFile);
let s: Stack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function setup(trsvcid: number): Promise<(...args: string[]) => Promise<{ stdout: string; stderr: string }>> {
  s = await startStack({ hosts: [], ports: [], subsystems: [], topology: TOPOLOGY });
  const env = { ...process.env, NVMET_TS_API: s.api.url, NVMET_TS_TRSVCID: String(trsvcid), NVMET_TS_PORTID: '7', NVMET_TS_CONTROL_CONF: '/nonexistent' };
  return (...args: string[]) => run('bash', [SCRIPT, ...args], { env, timeout: 30_000 });
}

const opts = (port: number, subnqn = 'blktests-subsystem-1') => ({ host: '127.0.0.1', port, subnqn, hostnqn: HOSTNQN, queues: 1, kato: 0 });

describe('blktests NVME_TARGET_CONTROL script', () => {
  test('config --show-* answers what blktests reads', async () => {
    const ctl = await setup(4420);
    const show = async (o: string) => (await ctl('config', `--show-${o}`)).stdout.trim();
    expect(await show('trtype')).toBe('tcp');
    expect(await show('blkdev-type')).toBe('device');
    expect(await show('hostnqn')).toBe(HOSTNQN);
    expect(await show('hostid')).toBe(HOSTID);
    expect(await show('traddr')).toBe('127.0.0.1');
    expect(await show('trsvid')).toBe('4420');
    expect(await show('subsysnqn')).toBe('blktests-subsystem-1');
    expect(await show('subsys-uuid')).toBe(UUID);
    await expect(ctl('config', '--show-nonsense')).rejects.toMatchObject({ code: 1 });
  });

  test('setup makes what blktests\' configfs helpers make; the port listens only while a subsystem is linked', async () => {
    const port = await freePort();
    const ctl = await setup(port);
    await ctl('setup', '--subsysnqn', 'blktests-subsystem-1', '--subsys-uuid', UUID, '--hostnqn', HOSTNQN);
    const sub = (await s!.http('GET', '/api/subsystems/blktests-subsystem-1')).json;
    expect(sub.attr.allow_any_host).toBe('0');
    expect(sub.allowed_hosts).toEqual([HOSTNQN]);
    expect(sub.namespaces).toMatchObject([{ nsid: 1, enable: 1, device: { uuid: UUID } }]);
    const c = await connect(opts(port));
    await c.close();
    // A second subsystem shares the port; removing the first keeps it listening.
    await ctl('setup', '--subsysnqn', 'blktests-subsystem-2', '--subsys-uuid', UUID, '--hostnqn', HOSTNQN);
    await ctl('cleanup', '--subsysnqn', 'blktests-subsystem-1');
    const c2 = await connect(opts(port, 'blktests-subsystem-2'));
    await c2.close();
    expect((await s!.http('GET', `/api/hosts/${enc(HOSTNQN)}`)).status).toBe(200);
    // With its last link gone the port stops listening (kernel: nvmet_port_subsys_drop_link).
    await ctl('cleanup', '--subsysnqn', 'blktests-subsystem-2');
    await expect(connect(opts(port, 'blktests-subsystem-2'))).rejects.toMatchObject({ kind: 'connect', cause: { code: 'ECONNREFUSED' } });
    expect((await s!.http('GET', '/api/ports/7')).status).toBe(404);
    expect((await s!.http('GET', '/api/subsystems')).json).toEqual([]);
    expect((await s!.http('GET', '/api/hosts')).json).toEqual([]);
    // cleanup of something absent is quiet, as blktests calls it unconditionally.
    const again = await ctl('cleanup', '--subsysnqn', 'blktests-subsystem-2');
    expect(again.stderr).toBe('');
  });

  test('--hostkey and --ctrkey (blktests\' spelling) become the host\'s DH-HMAC-CHAP keys', async () => {
    const port = await freePort();
    const ctl = await setup(port);
    const hostKey = secret(1, 3);
    const ctrlKey = secret(0, 9);
    await ctl('setup', '--subsysnqn', 'blktests-subsystem-1', '--subsys-uuid', UUID, '--hostnqn', HOSTNQN, '--hostkey', hostKey, '--ctrkey', ctrlKey);
    await expect(connect(opts(port))).rejects.toBeInstanceOf(AuthenticationError);
    const c = await connect({ ...opts(port), dhchapSecret: hostKey, dhchapCtrlSecret: ctrlKey });
    await c.close();
    await expect(connect({ ...opts(port), dhchapSecret: hostKey, dhchapCtrlSecret: hostKey })).rejects.toBeInstanceOf(AuthenticationError);
    // A new setup without keys (the next blktests test) leaves no key behind.
    await ctl('cleanup', '--subsysnqn', 'blktests-subsystem-1');
    await ctl('setup', '--subsysnqn', 'blktests-subsystem-1', '--subsys-uuid', UUID, '--hostnqn', HOSTNQN);
    const plain = await connect(opts(port));
    await plain.close();
    await ctl('cleanup', '--subsysnqn', 'blktests-subsystem-1');
  });

  test('an API error fails the command and names it', async () => {
    const ctl = await setup(4420);
    await expect(ctl('setup', '--subsysnqn', 'bad"nqn', '--subsys-uuid', UUID, '--hostnqn', HOSTNQN)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/subsysnqn: unexpected characters/),
    });
    await expect(ctl('setup', '--subsysnqn', 'blktests-subsystem-1', '--subsys-uuid', 'not-a-uuid', '--hostnqn', HOSTNQN)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/create subsystem blktests-subsystem-1: HTTP 400/),
    });
  });
});
