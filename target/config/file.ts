/**
 * Config files on disk: load (read, JSON-parse, follow a topology file
 * reference, parse) and save (serialize, re-validate, write atomically).
 *
 * Saving mirrors nvmetcli's save_to_file: write a temporary file in the same
 * directory with mode 0600, fsync it, rename it over the target, fsync the
 * directory. A crash leaves either the old file or the new one, never half.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIssue, type ConfigError, type ConfigWarning } from './issues.js';
import type { JsonValue } from './json.js';
import { parseConfig, type ParseOptions } from './parse.js';
import { serializeConfig } from './serialize.js';
import type { NvmetConfig } from './types.js';

/** Refuse config and topology files larger than this (a config is a few KiB). */
export const CONFIG_FILE_MAX_BYTES = 16 * 1024 * 1024;

export type LoadOptions = Omit<ParseOptions, 'topologyDocument'>;

export interface LoadedTopology {
  /** "inline", or the absolute path of the topology file the config references. */
  readonly source: string;
  readonly document: JsonValue;
  /** The validator's parsed topology, when `topologyValidator` was given. */
  readonly parsed?: unknown;
}

export type LoadResult =
  | {
      ok: true;
      config: NvmetConfig;
      warnings: ConfigWarning[];
      /** Absolute path of the file loaded. */
      path: string;
      /** Directory relative backing paths and topology references resolve against. */
      baseDir: string;
      /** Absent when the config has no topology (the runtime then uses the default topology). */
      topology?: LoadedTopology;
    }
  | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

/** Thrown by saveConfigFile for a config that would not load back. */
export class ConfigValidationError extends Error {
  constructor(readonly errors: readonly ConfigError[]) {
    super(`invalid configuration:\n${errors.map((e) => '  ' + formatIssue(e)).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

async function readJsonFile(path: string, label: string): Promise<{ value: unknown } | { error: ConfigError }> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return { error: { path: label, message: `${path} is not a regular file` } };
    if (st.size > CONFIG_FILE_MAX_BYTES) {
      return { error: { path: label, message: `${path} is ${st.size} bytes; the limit is ${CONFIG_FILE_MAX_BYTES}` } };
    }
    let text = await readFile(path, 'utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    try {
      return { value: JSON.parse(text) as unknown };
    } catch (e) {
      return { error: { path: label, message: `${path} is not valid JSON: ${(e as Error).message}` } };
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { error: { path: label, message: `cannot read ${path}: ${err.code ?? err.message}` } };
  }
}

/**
 * Load a config file. Problems come back as `errors` (never thrown): unreadable
 * file, bad JSON, and every validation error with its JSON path. A `"topology"`
 * string is read relative to the config file's directory.
 */
export async function loadConfigFile(path: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const abs = resolve(path);
  const baseDir = dirname(abs);
  const main = await readJsonFile(abs, '$');
  if ('error' in main) return { ok: false, errors: [main.error], warnings: [] };

  const raw = main.value;
  let topologyDocument: { file: string; value: JsonValue } | undefined;
  let topologyPath: string | undefined;
  const ref = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>).topology : undefined;
  if (typeof ref === 'string' && ref.length > 0 && !ref.includes('\u0000')) {
    topologyPath = isAbsolute(ref) ? ref : join(baseDir, ref);
    const t = await readJsonFile(topologyPath, 'topology');
    if ('error' in t) return { ok: false, errors: [t.error], warnings: [] };
    topologyDocument = { file: ref, value: t.value as JsonValue };
  }

  const r = parseConfig(raw, { ...opts, ...(topologyDocument ? { topologyDocument } : {}) });
  if (!r.ok) return r;
  const result: LoadResult = { ok: true, config: r.config, warnings: r.warnings, path: abs, baseDir };
  const t = r.config.topology;
  if (t) {
    const document = t.kind === 'inline' ? t.value : topologyDocument!.value;
    const source = t.kind === 'inline' ? 'inline' : topologyPath!;
    result.topology = r.topology !== undefined ? { source, document, parsed: r.topology } : { source, document };
  }
  return result;
}

export interface SaveOptions {
  /**
   * The directory the config's relative paths (topology file reference, file
   * backings) are relative to — `baseDir` from loadConfigFile. When the file is
   * saved elsewhere they are rewritten to stay pointing at the same files.
   * Omitted: paths are written as they are.
   */
  baseDir?: string;
}

/**
 * A copy of `config` whose relative paths, written relative to `fromDir`, are
 * made relative to `toDir` instead ("ram:" backings and absolute paths untouched).
 */
export function rebaseConfigPaths(config: NvmetConfig, fromDir: string, toDir: string): NvmetConfig {
  const from = resolve(fromDir);
  const to = resolve(toDir);
  if (from === to) return config;
  const move = (p: string): string => (isAbsolute(p) ? p : relative(to, resolve(from, p)) || '.');
  const out = structuredClone(config);
  if (out.topology?.kind === 'file') out.topology.path = move(out.topology.path);
  for (const s of out.subsystems) {
    for (const ns of s.namespaces) {
      const p = ns.device.path;
      if (p !== undefined && p !== '' && p !== '(null)' && !p.startsWith('ram:')) ns.device.path = move(p);
    }
  }
  return out;
}

/**
 * Save a config atomically (temp file + fsync + rename + directory fsync), mode
 * 0600 like nvmetcli. The text is re-parsed first, so a file that would not load
 * back is never written (ConfigValidationError). Creates the directory if needed.
 */
export async function saveConfigFile(path: string, config: NvmetConfig, opts: SaveOptions = {}): Promise<void> {
  const abs = resolve(path);
  const dir = dirname(abs);
  const text = serializeConfig(opts.baseDir === undefined ? config : rebaseConfigPaths(config, opts.baseDir, dir));
  const check = parseConfig(JSON.parse(text) as unknown);
  if (!check.ok) throw new ConfigValidationError(check.errors);

  await mkdir(dir, { recursive: true });
  const tmp = `${abs}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, abs);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is done.
  } finally {
    await dh.close();
  }
}

/** The package root (the directory holding nvmet-ts's package.json), from source or from dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'nvmet-ts') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('cannot locate the nvmet-ts package root');
}

/** config/default.json: the built-in configuration the CLI uses without --config. */
export function defaultConfigPath(): string {
  return join(packageRoot(), 'config', 'default.json');
}
