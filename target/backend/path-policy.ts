/**
 * Which local files a namespace may be backed by — the one place that decides it.
 *
 * A management API reachable over the network must not hand local files to NVMe
 * hosts. So file-backed namespaces live under one data directory (`--data-dir`,
 * default `./nvmet-ts-data`, created 0700 on first use — never the working
 * directory or `/`). Anything else needs the operator: a directory named with
 * `--allow-path DIR`, or a file named in the configuration file given on the
 * command line (the operator's own, trusted as written).
 *
 * The rule is applied at every open, not only when a request is checked: the
 * file is opened with O_NOFOLLOW (a symlink in the last component is refused),
 * must be a regular file, and the path the kernel reports for the opened
 * descriptor (/proc/self/fd) must still lie inside an allowed place — so a
 * symlink swapped in after the API checked the path, or a directory of the path
 * replaced by a link, is refused at enable time.
 */

import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Opens a namespace's backing file (FileBackend calls it on every enable). */
export type BackingFileOpener = (path: string, opts: { create: boolean }) => Promise<FileHandle>;

/** A backing file the policy refuses: `code` is errno-like, the message names the path and the rule. */
export class BackingPathError extends Error {
  constructor(
    readonly code: 'EACCES' | 'ELOOP' | 'EINVAL' | 'ENOENT',
    message: string,
  ) {
    super(message);
    this.name = 'BackingPathError';
  }
}

export const DEFAULT_DATA_DIR = 'nvmet-ts-data';

export interface PathPolicyOptions {
  /** Where API-created file namespaces live. Default: ./nvmet-ts-data of the working directory. */
  dataDir?: string;
  /** Extra directories the operator allows (`--allow-path`, repeatable). */
  allowPaths?: readonly string[];
}

function inside(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}

/**
 * Refuse "/" as the data directory: it would expose every file. (The default is a
 * dedicated ./nvmet-ts-data, never the working directory itself; an explicit
 * --data-dir is the operator's choice.)
 */
function checkDataDir(dir: string): void {
  if (dir === resolve('/')) throw new BackingPathError('EINVAL', 'the data directory must not be "/"');
}

/**
 * Open `path` as a regular file without following a symlink in its last
 * component. Returns the handle; throws BackingPathError for a link, a
 * non-regular file or (without `create`) a missing file.
 */
export async function openRegularFile(path: string, opts: { create: boolean }): Promise<FileHandle> {
  const flags = constants.O_RDWR | constants.O_NOFOLLOW | (opts.create ? constants.O_CREAT : 0) | (constants.O_NONBLOCK ?? 0);
  let fh: FileHandle;
  try {
    fh = await open(path, flags, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new BackingPathError('ELOOP', `${path} is a symbolic link; backing files are opened without following links`);
    if (code === 'ENOENT') throw new BackingPathError('ENOENT', `${path} does not exist`);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new BackingPathError('EINVAL', `${path} is not a regular file`);
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/** The path the kernel holds for an open descriptor (Linux); null where /proc is not available. */
async function fdPath(fh: FileHandle): Promise<string | null> {
  try {
    const p = await readlink(`/proc/self/fd/${fh.fd}`);
    return p.endsWith(' (deleted)') ? null : p;
  } catch {
    return null;
  }
}

export class BackingPathPolicy {
  /** Absolute data directory (may not exist yet). */
  private dir: string;
  readonly allowPaths: readonly string[];
  /** Lexical absolute path of a file from the operator's config → its canonical path at start-up. */
  private readonly trusted = new Map<string, string>();
  private readonly trustedReal = new Set<string>();
  private dataDirReady: Promise<string> | null = null;

  constructor(opts: PathPolicyOptions = {}) {
    this.dir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
    checkDataDir(this.dir);
    this.allowPaths = (opts.allowPaths ?? []).map((d) => resolve(d));
    for (const d of this.allowPaths) if (d === resolve('/')) throw new BackingPathError('EINVAL', '--allow-path must not be "/"');
  }

  get dataDir(): string {
    return this.dir;
  }

  /** Move the data directory (before any file-backed namespace is created through the API). */
  useDataDir(dir: string): void {
    const d = resolve(dir);
    checkDataDir(d);
    this.dir = d;
    this.dataDirReady = null;
  }

  /** The data directory's real path, creating it (0700) on first use. */
  async realDataDir(): Promise<string> {
    this.dataDirReady ??= (async () => {
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      return realpath(this.dataDir);
    })();
    try {
      return await this.dataDirReady;
    } catch (e) {
      this.dataDirReady = null;
      throw e;
    }
  }

  /**
   * Trust a file named by the operator's own configuration file: it may lie
   * anywhere. Its location is pinned now (symlinks resolved once, at start-up);
   * later opens go to that canonical file and refuse anything else.
   */
  async trust(absPath: string): Promise<void> {
    const abs = resolve(absPath);
    if (this.trusted.has(abs)) return;
    let canonical: string;
    try {
      canonical = await realpath(abs);
    } catch {
      // Not there yet: pin its directory.
      try {
        canonical = join(await realpath(dirname(abs)), basename(abs));
      } catch {
        canonical = abs;
      }
    }
    this.trusted.set(abs, canonical);
    this.trustedReal.add(canonical);
  }

  /** True when `absPath` is a file the operator's configuration named. */
  isTrusted(absPath: string): boolean {
    return this.trusted.has(resolve(absPath));
  }

  /** Whether a real (symlink-free) path lies in an allowed place. */
  private async allowedReal(real: string): Promise<boolean> {
    if (this.trustedReal.has(real)) return true;
    if (inside(await this.realDataDir(), real)) return true;
    for (const d of this.allowPaths) {
      let rd: string;
      try {
        rd = await realpath(d);
      } catch {
        continue;
      }
      if (inside(rd, real)) return true;
    }
    return false;
  }

  /** Lexical check for untrusted input: the place a path names (before any link is looked at). */
  lexicallyAllowed(absPath: string): boolean {
    const abs = resolve(absPath);
    return this.trusted.has(abs) || inside(this.dataDir, abs) || this.allowPaths.some((d) => inside(d, abs));
  }

  /** The directories an untrusted path may name, for messages. */
  describeAllowed(): string {
    return [this.dataDir, ...this.allowPaths].join(' or ');
  }

  /**
   * Check an untrusted path now (API request): it must exist, be a regular file
   * and resolve — links followed — into an allowed place. The same rule is
   * applied again, without following links, at every open.
   */
  async check(absPath: string, shown: string = absPath): Promise<void> {
    const abs = resolve(absPath);
    if (this.trusted.has(abs)) return;
    await this.realDataDir();
    let real: string;
    try {
      real = await realpath(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new BackingPathError('ENOENT', `${shown} cannot be resolved (${code}); the backing file must exist inside the data directory`);
    }
    if (!(await this.allowedReal(real))) throw new BackingPathError('EACCES', `${shown} resolves outside the data directory ${this.dataDir}`);
    const st = await stat(real);
    if (!st.isFile()) throw new BackingPathError('EINVAL', `${shown} is not a regular file`);
    if ((await lstat(abs)).isSymbolicLink()) throw new BackingPathError('ELOOP', `${shown} is a symbolic link; backing files are opened without following links`);
  }

  /** The opener FileBackend uses: O_NOFOLLOW, regular files only, and the opened file's real path re-checked. */
  readonly open: BackingFileOpener = async (path, opts) => {
    const abs = resolve(path);
    const target = this.trusted.get(abs) ?? abs;
    const fh = await openRegularFile(target, opts);
    try {
      let real = await fdPath(fh);
      if (real === null) {
        // No /proc: resolve the name and make sure it is the file we hold.
        real = await realpath(target);
        const [a, b] = await Promise.all([fh.stat(), stat(real)]);
        if (a.dev !== b.dev || a.ino !== b.ino) throw new BackingPathError('EACCES', `${path} changed while it was opened`);
      }
      if (!(await this.allowedReal(real))) {
        throw new BackingPathError('EACCES', `${path} is outside the data directory ${this.dataDir} (opened file: ${real}); start nvmet-ts with --allow-path to allow it`);
      }
    } catch (e) {
      await fh.close();
      throw e;
    }
    return fh;
  };
}
