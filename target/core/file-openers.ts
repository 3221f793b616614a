/**
 * Which other process has a file open — what `fuser FILE` answers, and the way
 * it answers it on Linux: every /proc/<pid>/fd/<n> is a link to an open file,
 * and stat() through it gives that file's device and inode. Comparing dev+ino
 * (not path strings) finds the file however it was named (symlinks, bind
 * mounts, relative paths, hard links).
 *
 * Why: reservation state is per process (ns-reservations.ts). A namespace
 * WITH reservations on a file that another process already serves through a
 * plain namespace would let that process's hosts write past every reservation.
 * The plain namespace leaves no marker beside the operator's file (and should
 * not have to — nvmet-ts puts nothing beside a file it merely serves), but its
 * open descriptor is visible to everyone in /proc: that is the trace checked.
 *
 * Limits, said plainly: only open descriptors are seen (a process that mapped
 * the file and closed the fd is not); processes whose /proc entries we may not
 * read (another user, without root) are skipped; and on anything but Linux
 * there is no /proc to scan, so nothing is detected there (findOtherOpener
 * returns null).
 */

import { readdir, readlink, stat } from 'node:fs/promises';

/** Upper bound of descriptors examined in one scan (bounded work on a busy host). */
export const OPENER_SCAN_MAX_FDS = 1 << 18;

/** The scan reached OPENER_SCAN_MAX_FDS before finishing: the answer is unknown. */
export class OpenerScanLimitError extends Error {
  constructor(readonly file: string) {
    super(`cannot tell whether another process has ${file} open: more than ${OPENER_SCAN_MAX_FDS} open descriptors on this host to examine`);
    this.name = 'OpenerScanLimitError';
  }
}

/** Races with exiting processes and closing descriptors, and entries we may not read. */
function vanished(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR';
}

/**
 * The pid of a live process other than this one with `file` open, or null if
 * there is none (or on a platform without /proc/<pid>/fd, see above).
 */
export async function findOtherOpener(file: string, procRoot = '/proc'): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  const target = await stat(file, { bigint: true });
  let pids: string[];
  try {
    pids = await readdir(procRoot);
  } catch (e) {
    if (vanished(e)) return null;
    throw e;
  }
  let examined = 0;
  for (const name of pids) {
    const pid = Number(name);
    if (!/^[1-9][0-9]*$/.test(name) || pid === process.pid) continue;
    const dir = `${procRoot}/${name}/fd`;
    let fds: string[];
    try {
      fds = await readdir(dir);
    } catch (e) {
      if (vanished(e)) continue;
      throw e;
    }
    examined += fds.length;
    if (examined > OPENER_SCAN_MAX_FDS) throw new OpenerScanLimitError(file);
    const hits = await Promise.all(fds.map((fd) => opens(`${dir}/${fd}`, target.dev, target.ino)));
    if (hits.includes(true)) return pid;
  }
  return null;
}

async function opens(link: string, dev: bigint, ino: bigint): Promise<boolean> {
  try {
    // Sockets, pipes, anon inodes ("socket:[n]", ...) are never a regular file: no stat for them.
    if (!(await readlink(link)).startsWith('/')) return false;
    const st = await stat(link, { bigint: true });
    return st.dev === dev && st.ino === ino;
  } catch {
    // Gone, unreadable, or a link we cannot follow: whatever it is, we cannot hold it against the file.
    return false;
  }
}
