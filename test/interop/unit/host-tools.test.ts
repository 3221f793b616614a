/**
 * lib/host-tools.sh, the one table of host tools -> Debian packages and the one install step of
 * the interop runners: run with real bash. Nothing is installed here: installs are tried only
 * with --no-install or with nothing missing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOST_TOOL_SETS } from '../lib/host.js';

const here = join(import.meta.dirname, '..');
const helper = join(here, 'lib', 'host-tools.sh');

function bash(script: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/bin/bash', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, input: '', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('host-tools.sh', () => {
  it('every tool of every set has a Debian package', () => {
    const r = bash(`. '${helper}'; for t in $(host_tools_expand @guest @wire @build); do printf '%s=%s\\n' "$t" "$(host_tool_pkg "$t")"; done`);
    expect(r.status).toBe(0);
    const pairs = r.stdout.trim().split('\n').map((l) => l.split('='));
    expect(pairs.length).toBeGreaterThan(10);
    for (const [tool, pkg] of pairs) expect(pkg, tool).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    expect(Object.fromEntries(pairs)).toMatchObject({ 'qemu-system-x86_64': 'qemu-system-x86', dumpcap: 'tshark', xz: 'xz-utils', '/usr/share/keyrings/debian-archive-keyring.gpg': 'debian-archive-keyring' });
  });

  it('names what is missing and the packages to install, and installs nothing with --no-install', () => {
    // no PATH: every command of the set is missing
    const r = spawnSync('/bin/bash', [helper, '--no-install', '@build'], { encoding: 'utf8', env: { PATH: '/nonexistent' }, input: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('missing host tools: make gcc g++ (apt-get install make gcc g++)');
  });

  it('refuses a tool it has no package for, and an unknown set', () => {
    const a = bash(`bash '${helper}' --no-install /nonexistent/tool`);
    expect(a.status).toBe(1);
    expect(a.stderr).toContain("host tool '/nonexistent/tool' is missing and no Debian package is known for it");
    const b = bash(`bash '${helper}' @nosuch`);
    expect(b.status).toBe(1);
    expect(b.stderr).toContain('unknown tool set @nosuch');
  });

  it('HOST_TOOLS_ONLY=1 ends the sourcing runner right after the check', () => {
    const ok = bash(`. '${helper}'; host_tools_ensure /dev/null bash; echo after`, { HOST_TOOLS_ONLY: '1' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('host tools: all there');
    expect(ok.stdout).not.toContain('after');
    const bad = bash(`. '${helper}'; host_tools_ensure /dev/null /nonexistent/tool; echo after`, { HOST_TOOLS_ONLY: '1' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).not.toContain('after');
    const normal = bash(`. '${helper}'; host_tools_ensure /dev/null bash; echo after`);
    expect(normal.stdout).toContain('after');
  });

  it('the runners use the helper, and no runner keeps a copy of the install step', () => {
    expect(HOST_TOOL_SETS).toEqual(['@guest', '@wire']);
    for (const [file, sets] of [['secure/run-612.sh', '@guest @wire'], ['blktests/run-blktests.sh', '@guest @build']] as const) {
      const sh = readFileSync(join(here, file), 'utf8');
      expect(sh, file).toContain(`. "$HERE/../lib/host-tools.sh"\nhost_tools_ensure "$OUT/apt.log" ${sets} || exit 2`);
      expect(sh, file).not.toMatch(/apt-get (-\S+ )*install/);
    }
    expect(readFileSync(join(here, 'lib', 'host.ts'), 'utf8')).not.toMatch(/apt-get (-\S+ )*install/);
  });
});
