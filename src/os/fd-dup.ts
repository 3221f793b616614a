/**
 * Duplicate a file descriptor (close-on-exec) through a tiny native addon.
 *
 * Why this exists: Node 20 cannot transfer a socket handle to a worker thread
 * (worker_threads has no handle passing; only child processes get
 * `send(msg, socket)`). To serve an accepted TCP connection from a worker, the
 * main thread dups the socket's fd and posts the number; the worker wraps it
 * with `new net.Socket({ fd })`; the main thread then destroys its own Socket,
 * which closes only its fd, and the connection lives on through the dup.
 * Node exposes no dup(2), hence native/fd.c (built by `npm install` through
 * node-gyp into build/Release/nvmet_fd.node).
 */

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface FdAddon {
  dupCloexec(fd: number): number;
}

type Availability = { ok: true } | { ok: false; why: string };

const PACKAGE_NAME = 'nvmet-ts';
const ADDON_RELATIVE = join('build', 'Release', 'nvmet_fd.node');

let loaded: { addon: FdAddon; availability: { ok: true } } | { addon: null; availability: { ok: false; why: string } } | undefined;

/**
 * The repo root: the nearest ancestor of this module's directory holding a package.json
 * named nvmet-ts (this file runs both as src/os/fd-dup.ts and as dist/src/os/fd-dup.js).
 */
function findRepoRoot(start: string): string | null {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
        if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === PACKAGE_NAME) {
          return dir;
        }
      } catch {
        // an unreadable or malformed package.json is not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function isFdAddon(x: unknown): x is FdAddon {
  return typeof x === 'object' && x !== null && typeof (x as { dupCloexec?: unknown }).dupCloexec === 'function';
}

function load(): NonNullable<typeof loaded> {
  if (loaded !== undefined) return loaded;
  const here = dirname(fileURLToPath(import.meta.url));
  const hint = `run \`npm install\` in the ${PACKAGE_NAME} checkout (it builds native/fd.c with node-gyp into ${ADDON_RELATIVE})`;
  const root = findRepoRoot(here);
  if (root === null) {
    loaded = {
      addon: null,
      availability: { ok: false, why: `fd-dup addon unavailable: no package.json named ${PACKAGE_NAME} above ${here}; ${hint}` },
    };
    return loaded;
  }
  const path = join(root, ADDON_RELATIVE);
  try {
    const mod: unknown = createRequire(import.meta.url)(path);
    if (!isFdAddon(mod)) throw new Error(`${path} does not export dupCloexec`);
    loaded = { addon: mod, availability: { ok: true } };
  } catch (e) {
    const err = e instanceof Error ? e.message : String(e);
    loaded = { addon: null, availability: { ok: false, why: `fd-dup addon unavailable (${err}); ${hint}` } };
  }
  return loaded;
}

/** Whether the native addon loads (tried once, the result cached); when not, `why` says how to build it. */
export function fdDupAvailable(): Availability {
  return load().availability;
}

/**
 * dup `fd` to the lowest free descriptor >= 3 with FD_CLOEXEC set (fcntl F_DUPFD_CLOEXEC).
 * Throws TypeError unless fd is a non-negative int32, an Error whose `code` is the errno
 * name (e.g. 'EBADF') when fcntl fails, and an Error carrying `why` when the addon is missing.
 */
export function dupFd(fd: number): number {
  const l = load();
  if (l.addon === null) throw new Error(l.availability.why);
  return l.addon.dupCloexec(fd);
}
