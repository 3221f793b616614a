import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  defaultConfigPath,
  loadConfigFile,
  packageRoot,
  resolveConfig,
  saveConfigFile,
  serializeConfig,
  type LoadResult,
} from '../../target/config/index.js';

const root = packageRoot();
const configDir = join(root, 'config');
const examplesDir = join(configDir, 'examples');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nvmet-ts-config-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function loaded(r: LoadResult, what: string): Extract<LoadResult, { ok: true }> {
  if (!r.ok) throw new Error(`${what}:\n` + r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r;
}

const examples = (await readdir(join(packageRoot(), 'config', 'examples'))).filter((f) => f.endsWith('.json')).sort();
const shipped = [join(configDir, 'default.json'), ...examples.map((f) => join(examplesDir, f))];

describe('shipped configuration files', () => {
  it('include nvmetcli samples and nvmet-ts samples', () => {
    expect(examples.filter((f) => f.startsWith('nvmetcli-')).length).toBeGreaterThanOrEqual(3);
    expect(examples.filter((f) => f.startsWith('nvmet-ts-')).length).toBeGreaterThanOrEqual(2);
  });

  it.each(shipped)('%s loads and re-serializes to the same bytes', async (file) => {
    const r = loaded(await loadConfigFile(file), file);
    expect(serializeConfig(r.config)).toBe(await readFile(file, 'utf8'));
  });

  it.each(shipped)('%s: save → load → save is byte-identical', async (file) => {
    const r = loaded(await loadConfigFile(file), file);
    const name = file.split('/').pop()!;
    const a = join(tmp, `a-${name}`);
    const b = join(tmp, `b-${name}`);
    await saveConfigFile(a, r.config, { baseDir: r.baseDir });
    const again = loaded(await loadConfigFile(a), a);
    await saveConfigFile(b, again.config, { baseDir: again.baseDir });
    expect(await readFile(b, 'utf8')).toBe(await readFile(a, 'utf8'));
    // Same meaning after the move: paths were rebased onto the new directory.
    const { topology: _t1, ...before } = resolveConfig(r.config, r.baseDir);
    const { topology: _t2, ...after } = resolveConfig(again.config, again.baseDir);
    expect(after).toEqual(before);
    expect(again.topology?.source).toBe(r.topology?.source);
  });

  it('nvmetcli samples load without warnings except the non-NVMe-format NQN "testnqn"', async () => {
    for (const f of examples.filter((x) => x.startsWith('nvmetcli-'))) {
      const r = loaded(await loadConfigFile(join(examplesDir, f)), f);
      const expected = f === 'nvmetcli-loop.json' ? ['ports[0].subsystems[0]', 'subsystems[0].nqn'] : [];
      expect(r.warnings.map((w) => w.path).sort(), f).toEqual(expected);
    }
  });

  it('the default config is what the README promises', async () => {
    const r = loaded(await loadConfigFile(defaultConfigPath()), 'default');
    const { config } = r;
    expect(config.subsystems).toHaveLength(1);
    const s = config.subsystems[0]!;
    expect(s.nqn).toBe('nqn.2014-08.org.nvmexpress:nvmet-ts');
    expect(s.attr).toMatchObject({ allowAnyHost: true, model: 'nvmet-ts' });
    expect(s.namespaces.map((n) => [n.nsid, n.enable, n.device.path, n.nvmetTs?.blockSize])).toEqual([
      [1, true, 'ram:1G', 512],
      [2, true, 'ram:1G', 512],
    ]);
    // On the two NVMe SSDs of the default JBOF; the port on its RNIC.
    expect(s.namespaces.map((n) => n.nvmetTs?.nvme)).toEqual(['0000:04:00.0', '0000:05:00.0']);
    expect(config.ports).toHaveLength(1);
    const p = config.ports[0]!;
    expect([p.portid, p.addr.trtype, p.addr.traddr, p.addr.trsvcid]).toEqual([1, 'tcp', '127.0.0.1', '4420']);
    expect(p.param?.allowP2pmem).toBe(false);
    expect(p.nvmetTs?.nic).toBe('0000:03:00.0');
    expect(p.subsystems).toEqual([s.nqn]);
  });
});
