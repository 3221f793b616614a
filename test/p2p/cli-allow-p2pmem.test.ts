/**
 * `nvmet-ts --allow-p2pmem` as a real process on the built-in default configuration:
 * the default port stages in p2pmem, a TCP host's verified workload goes through it,
 * and the summary printed at exit reports the staging and the DMA counters.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../initiator/controller.js';
import { verifiedWorkload } from './workload.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let tree = '';

/** Build into a private package tree so concurrent rebuilds of dist/ cannot hand us a half-written one. */
beforeAll(() => {
  tree = mkdtempSync(join(tmpdir(), 'nvmet-ts-p2p-cli-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(tree, 'dist')], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  } catch {
    // Type errors elsewhere do not stop emit; the entry point must exist.
  }
  if (!existsSync(join(tree, 'dist', 'target', 'cli', 'main.js'))) throw new Error('build failed');
  mkdirSync(join(tree, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'nvmet-ts.js'), join(tree, 'bin', 'nvmet-ts.js'));
  copyFileSync(join(ROOT, 'package.json'), join(tree, 'package.json'));
  symlinkSync(join(ROOT, 'config'), join(tree, 'config'));
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
}, 150_000);

afterAll(() => {
  if (tree !== '') rmSync(tree, { recursive: true, force: true });
});

describe('nvmet-ts --allow-p2pmem', () => {
  it('stages the default port in p2pmem and prints the data-path summary at exit', async () => {
    const child = spawn(process.execPath, [join(tree, 'bin', 'nvmet-ts.js'), '--allow-p2pmem', '--listen', '127.0.0.1:0', '--no-api', '--log-level', 'info'], {
      cwd: tree,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const deadline = performance.now() + 15_000;
      let m: RegExpExecArray | null = null;
      while ((m = /^port 1: tcp 127\.0\.0\.1:(\d+) \(enabled\)/m.exec(stdout)) === null) {
        if (performance.now() > deadline || child.exitCode !== null) throw new Error(`no start-up summary\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(stderr).toMatch(/port 1: p2pmem from 0000:0[456]:00\.0 \(distance \d+, policy v3/);
      const host = await Controller.connect({ host: '127.0.0.1', port: Number(m[1]), subnqn: 'nqn.2014-08.org.nvmexpress:nvmet-ts', queues: 2, kato: 0 });
      let commands = 0;
      try {
        commands = (await verifiedWorkload(host, { count: 8 })).commands;
      } finally {
        await host.close();
      }
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no exit after SIGTERM')), 10_000))]);
      expect(code, stdout + stderr).toBe(0);
      expect(stdout).toMatch(/^ {2}port 1: NIC 0000:03:00\.0, allow_p2pmem=1, p2pmem 0000:0[456]:00\.0 \(while enabled\)$/m);
      expect(stdout).toContain(`I/O staged: ${commands} in p2pmem, 0 in system memory (0 pool fallbacks)`);
      expect(stdout).toMatch(/^ {2}DMA: \d+ descriptors, \d+ bytes; root complex \d+ bytes; system memory \d+ bytes$/m);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
