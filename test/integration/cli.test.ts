/**
 * The initiator CLI's subcommands against an in-process target, through
 * `main(argv, io)` with captured output.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../initiator/cli/main.js';
import type { CliIo } from '../../initiator/cli/main.js';
import { startTarget, SUBNQN, pattern } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget;
let dir: string;

beforeAll(async () => {
  t = await startTarget({ namespaces: { 1: 8 << 20 } });
  dir = await mkdtemp(join(tmpdir(), 'nvmet-ts-cli-'));
});
afterAll(async () => {
  await t?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) };
  const code = await main(argv, io);
  return { code, out, err };
}

const conn = (): string[] => ['-a', '127.0.0.1', '-s', String(t.tcpPort)];

describe('initiator CLI', () => {
  test('help, per-subcommand help, unknown command, usage errors', async () => {
    const h = await run('--help');
    expect(h.code).toBe(0);
    for (const c of ['discover', 'identify', 'read', 'write', 'perf']) expect(h.out).toContain(c);
    const ph = await run('perf', '--help');
    expect(ph.code).toBe(0);
    expect(ph.out).toContain('--bs');
    expect((await run('frobnicate')).code).toBe(2);
    const bad = await run('perf', ...conn(), '-n', SUBNQN, '--pattern', 'zigzag');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--pattern');
    expect((await run('read', '--bogus-flag')).code).toBe(2);
  });

  test('discover prints the subsystem, --json parses', async () => {
    const r = await run('discover', ...conn());
    expect(r.code).toBe(0);
    expect(r.out).toContain(`subnqn:  ${SUBNQN}`);
    expect(r.out).toContain(`trsvcid: ${t.tcpPort}`);
    // Entry 0 is the discovery subsystem itself, in nvme-cli's words.
    expect(r.out).toContain('Discovery Log Number of Records 2,');
    expect(r.out).toMatch(/=====Discovery Log Entry 0======\n(?:.*\n)*?subtype: current discovery subsystem\n(?:.*\n)*?subnqn:  nqn\.2014-08\.org\.nvmexpress\.discovery\n/);
    expect(r.out).toMatch(/=====Discovery Log Entry 1======\n(?:.*\n)*?subtype: nvme subsystem\n/);
    const j = await run('discover', ...conn(), '--json');
    const log = JSON.parse(j.out) as { numrec: number; entries: { subnqn: string; subtype: number }[] };
    expect(log.entries.some((e) => e.subnqn === SUBNQN)).toBe(true);
    expect(log.numrec).toBe(2);
    expect(log.entries[0]).toMatchObject({ subtype: 3, subnqn: 'nqn.2014-08.org.nvmexpress.discovery' });
  });

  test('identify ctrl / ns / ns-list, pretty and --json', async () => {
    const c = await run('identify', 'ctrl', ...conn(), '-n', SUBNQN);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/subnqn\s+: nqn\.2024-01\.io\.nvmet-ts:test/);
    const cj = JSON.parse((await run('identify', 'ctrl', ...conn(), '-n', SUBNQN, '--json')).out) as { subnqn: string; mn: string };
    expect(cj.subnqn).toBe(SUBNQN);
    const nj = JSON.parse((await run('identify', 'ns', ...conn(), '-n', SUBNQN, '--nsid', '1', '--json')).out) as { nsze: string };
    expect(nj.nsze).toBe(String((8 << 20) / 512));
    const n = await run('identify', 'ns', ...conn(), '-n', SUBNQN);
    expect(n.out).toContain('(in use)');
    expect((await run('identify', 'ns-list', ...conn(), '-n', SUBNQN)).out).toContain('0x1');
    expect((await run('identify', 'bogus', ...conn(), '-n', SUBNQN)).code).toBe(2);
  });

  test('write a file then read it back to another file', async () => {
    const src = join(dir, 'in.bin');
    const dst = join(dir, 'out.bin');
    const data = pattern(3000, 42); // not a multiple of 512: padded with zeroes
    await writeFile(src, data);
    const w = await run('write', ...conn(), '-n', SUBNQN, '--slba', '16', '--in', src);
    expect(w.code).toBe(0);
    expect(w.out).toContain('wrote 3072 bytes');
    const r = await run('read', ...conn(), '-n', SUBNQN, '--slba', '16', '--nlb', '6', '--out', dst);
    expect(r.code).toBe(0);
    const back = await readFile(dst);
    expect(back.length).toBe(3072);
    expect(back.subarray(0, 3000).equals(Buffer.from(data))).toBe(true);
    expect(back.subarray(3000).every((x) => x === 0)).toBe(true);
  });

  test('an NVMe error is reported with its status and exit code 1', async () => {
    const r = await run('read', ...conn(), '-n', SUBNQN, '--slba', String((8 << 20) / 512), '--nlb', '1', '--out', join(dir, 'x'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('LBA Out of Range');
  });

  test('perf --ios prints IOPS, MB/s and latency percentiles; --json is machine-readable', async () => {
    const p = await run('perf', ...conn(), '-n', SUBNQN, '--bs', '4k', '--qd', '8', '--ios', '400', '--rw', 'write', '--pattern', 'seq');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/IOPS\s+\d+/);
    expect(p.out).toContain('p99');
    const j = JSON.parse(
      (await run('perf', ...conn(), '-n', SUBNQN, '--bs', '128k', '--qd', '4', '--queues', '2', '--ios', '100', '--json')).out,
    ) as { ios: number; queues: number; bs: number; latencyUs: { p50: number; p99: number } };
    expect(j.ios).toBeGreaterThanOrEqual(100);
    expect(j.queues).toBe(2);
    expect(j.bs).toBe(128 * 1024);
    expect(j.latencyUs.p99).toBeGreaterThanOrEqual(j.latencyUs.p50);
  });
});
