import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigValidationError,
  CONFIG_FILE_MAX_BYTES,
  defaultConfigPath,
  loadConfigFile,
  packageRoot,
  saveConfigFile,
  serializeConfig,
  type LoadResult,
  type NvmetConfig,
} from '../../target/config/index.js';
import { PciTopology } from '../../src/pci/topology.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nvmet-ts-config-file-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function loaded(r: LoadResult): Extract<LoadResult, { ok: true }> {
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r;
}
function failed(r: LoadResult): Extract<LoadResult, { ok: false }> {
  if (r.ok) throw new Error('expected the load to fail');
  return r;
}

async function defaultConfig(): Promise<NvmetConfig> {
  return loaded(await loadConfigFile(defaultConfigPath())).config;
}
const configDir = join(packageRoot(), 'config');

describe('saveConfigFile', () => {
  it('writes the serialized config with mode 0600 and leaves no temporary file', async () => {
    const dir = join(tmp, 'save1');
    const file = join(dir, 'nested', 'config.json');
    const config = await defaultConfig();
    await saveConfigFile(file, config);
    expect(await readFile(file, 'utf8')).toBe(serializeConfig(config));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'nested'))).toEqual(['config.json']);
  });

  it('replaces an existing file atomically', async () => {
    const file = join(tmp, 'replace.json');
    await writeFile(file, 'old contents');
    const config = await defaultConfig();
    config.subsystems[0]!.attr.model = 'replaced';
    await saveConfigFile(file, config, { baseDir: configDir });
    const back = loaded(await loadConfigFile(file, { topologyValidator: false }));
    expect(back.config.subsystems[0]!.attr.model).toBe('replaced');
    expect((await readdir(tmp)).filter((f) => f.startsWith('replace.json'))).toEqual(['replace.json']);
  });

  it('refuses a config that would not load back, leaving the old file untouched', async () => {
    const file = join(tmp, 'keep.json');
    await writeFile(file, 'precious');
    const config = await defaultConfig();
    config.subsystems[0]!.namespaces[1]!.nsid = 0;
    config.ports[0]!.addr.traddr = 'not-an-ip';
    const err = await saveConfigFile(file, config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as ConfigValidationError).errors.map((e) => e.path)).toEqual([
      'subsystems[0].namespaces[1].nsid',
      'ports[0].addr.traddr',
    ]);
    expect((err as Error).message).toContain('subsystems[0].namespaces[1].nsid: must be an integer 1..4294967294, got 0');
    expect(await readFile(file, 'utf8')).toBe('precious');
    expect((await readdir(tmp)).filter((f) => f.startsWith('keep.json'))).toEqual(['keep.json']);
  });

  it('concurrent saves to one path leave one complete file', async () => {
    const file = join(tmp, 'race.json');
    const config = await defaultConfig();
    const variants = Array.from({ length: 8 }, (_, i) => {
      const c = structuredClone(config);
      c.subsystems[0]!.attr.model = `model-${i}`;
      return c;
    });
    await Promise.all(variants.map((c) => saveConfigFile(file, c, { baseDir: configDir })));
    const back = loaded(await loadConfigFile(file, { topologyValidator: false }));
    expect(back.config.subsystems[0]!.attr.model).toMatch(/^model-[0-7]$/);
    expect((await readdir(tmp)).filter((f) => f.startsWith('race.json'))).toEqual(['race.json']);
  });

  it('rebases relative paths when saving away from the original directory', async () => {
    const config = await defaultConfig();
    config.subsystems[0]!.namespaces[0]!.device.path = 'images/ns1.img';
    config.subsystems[0]!.namespaces[1]!.device.path = '/abs/ns2.img';
    const file = join(tmp, 'moved', 'deeper', 'config.json');
    await saveConfigFile(file, config, { baseDir: configDir });
    const back = loaded(await loadConfigFile(file));
    expect(back.topology?.source).toBe(join(configDir, 'topologies', 'default.json'));
    const ref = back.config.topology;
    expect(ref?.kind === 'file' && !isAbsolute(ref.path) && ref.path.startsWith('..')).toBe(true);
    const ns = back.config.subsystems[0]!.namespaces;
    expect(join(back.baseDir, ns[0]!.device.path!)).toBe(join(configDir, 'images', 'ns1.img'));
    expect(ns[1]!.device.path).toBe('/abs/ns2.img');
    // Saving in place (same baseDir) changes nothing.
    await saveConfigFile(file, back.config, { baseDir: back.baseDir });
    expect(await readFile(file, 'utf8')).toBe(serializeConfig(back.config));
  });
});

describe('loadConfigFile', () => {
  it('loads the default config with its referenced topology parsed by src/pci', async () => {
    const r = loaded(await loadConfigFile(defaultConfigPath()));
    expect(r.warnings).toEqual([]);
    expect(r.path).toBe(join(packageRoot(), 'config', 'default.json'));
    expect(r.baseDir).toBe(join(packageRoot(), 'config'));
    expect(r.topology?.source).toBe(join(packageRoot(), 'config', 'topologies', 'default.json'));
    expect(r.topology?.parsed).toBeInstanceOf(PciTopology);
    expect(r.config.topology).toEqual({ kind: 'file', path: 'topologies/default.json' });
  });

  it('reports an unreadable file, a directory, bad JSON and an oversized file at "$"', async () => {
    const missing = failed(await loadConfigFile(join(tmp, 'nope.json')));
    expect(missing.errors).toEqual([{ path: '$', message: expect.stringMatching(/cannot read .*nope\.json: ENOENT/) }]);
    expect(failed(await loadConfigFile(tmp)).errors[0]!.message).toMatch(/is not a regular file/);
    const bad = join(tmp, 'bad.json');
    await writeFile(bad, '{"hosts": [}');
    expect(failed(await loadConfigFile(bad)).errors[0]).toMatchObject({ path: '$', message: expect.stringMatching(/is not valid JSON/) });
    const huge = join(tmp, 'huge.json');
    await writeFile(huge, '');
    await truncate(huge, CONFIG_FILE_MAX_BYTES + 1);
    expect(failed(await loadConfigFile(huge)).errors[0]!.message).toMatch(/the limit is 16777216/);
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const file = join(tmp, 'bom.json');
    await writeFile(file, '\ufeff' + (await readFile(join(packageRoot(), 'config', 'examples', 'nvmetcli-loop.json'), 'utf8')));
    expect(loaded(await loadConfigFile(file)).config.subsystems[0]!.nqn).toBe('testnqn');
  });

  it('resolves a topology reference relative to the config file and reports its errors with the file name', async () => {
    const dir = join(tmp, 'topo-ref');
    await mkdir(join(dir, 'topologies'), { recursive: true });
    const text = await readFile(defaultConfigPath(), 'utf8');
    await writeFile(join(dir, 'config.json'), text);
    expect(failed(await loadConfigFile(join(dir, 'config.json'))).errors).toEqual([
      { path: 'topology', message: expect.stringMatching(/cannot read .*topologies\/default\.json: ENOENT/) },
    ]);
    await writeFile(join(dir, 'topologies', 'default.json'), JSON.stringify({ rootPorts: 'none' }));
    const r = failed(await loadConfigFile(join(dir, 'config.json')));
    expect(r.errors.length).toBeGreaterThan(0);
    for (const e of r.errors) expect(e.path.startsWith('topologies/default.json:')).toBe(true);
    await copyFile(join(packageRoot(), 'config', 'topologies', 'default.json'), join(dir, 'topologies', 'default.json'));
    loaded(await loadConfigFile(join(dir, 'config.json')));
  });

  it('checks placements against the topology', async () => {
    const file = join(tmp, 'placement.json');
    const config = await defaultConfig();
    const topology = JSON.parse(await readFile(join(packageRoot(), 'config', 'topologies', 'default.json'), 'utf8')) as Record<string, unknown>;
    config.topology = { kind: 'inline', value: topology as never };
    config.ports[0]!.nvmetTs = { nic: '0000:04:00.0' };
    config.subsystems[0]!.namespaces[0]!.nvmetTs = { nvme: '0000:03:00.0' };
    config.subsystems[0]!.namespaces[1]!.nvmetTs = { nvme: '0000:09:00.0' };
    config.subsystems[0]!.namespaces[0]!.p2pmem = '0000:03:00.0';
    config.subsystems[0]!.namespaces[1]!.p2pmem = '0000:07:00.0';
    await writeFile(file, serializeConfig(config));
    const r = failed(await loadConfigFile(file));
    expect(r.errors).toEqual([
      { path: 'ports[0].nvmet_ts.nic', message: '0000:04:00.0 is a nvme function, not a NIC' },
      { path: 'subsystems[0].namespaces[0].nvmet_ts.nvme', message: '0000:03:00.0 is a nic function, not an NVMe SSD' },
      { path: 'subsystems[0].namespaces[0].p2pmem', message: '0000:03:00.0 does not publish p2pmem (Linux: ENODEV)' },
      { path: 'subsystems[0].namespaces[1].nvmet_ts.nvme', message: 'no PCI function 0000:09:00.0 in the topology' },
      { path: 'subsystems[0].namespaces[1].p2pmem', message: 'no PCI function 0000:07:00.0 in the topology' },
    ]);
    // The CMB of an NVMe SSD (WDS+RDS) and the p2pmem card are both providers.
    config.ports[0]!.nvmetTs = { nic: '0000:03:00.0' };
    config.subsystems[0]!.namespaces[0]!.nvmetTs = { nvme: '0000:04:00.0' };
    config.subsystems[0]!.namespaces[1]!.nvmetTs = { nvme: '0000:05:00.0' };
    config.subsystems[0]!.namespaces[0]!.p2pmem = '0000:05:00.0';
    config.subsystems[0]!.namespaces[1]!.p2pmem = '0000:06:00.0';
    await writeFile(file, serializeConfig(config));
    expect(loaded(await loadConfigFile(file)).topology?.source).toBe('inline');
  });

  it('reports inline topology errors under "topology"', async () => {
    const file = join(tmp, 'inline-bad.json');
    const config = await defaultConfig();
    config.topology = { kind: 'inline', value: { rootPorts: [{ bdf: 'zz' }] } };
    await writeFile(file, serializeConfig(config));
    const r = failed(await loadConfigFile(file));
    for (const e of r.errors) expect(e.path).toMatch(/^topology(\.|\[|$)/);
    // ...and carries it unchecked when told to.
    expect(loaded(await loadConfigFile(file, { topologyValidator: false })).topology?.document).toEqual({ rootPorts: [{ bdf: 'zz' }] });
  });
});
