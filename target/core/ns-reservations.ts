/**
 * Reservations of one namespace with what surrounds the pure state machine
 * (Linux struct nvmet_pr: the notification mask, and — beyond Linux, which
 * reports PTPLS 0 — Persist Through Power Loss):
 *
 * - PTPL: with a file-backed namespace, the state is written beside the backing
 *   file (`<file>.nvmet-resv.json`, write to a temporary file + rename, so a
 *   crash leaves the old or the new state, never half of one) whenever it
 *   changes while PTPL is on, and read back when the namespace is enabled. With
 *   PTPL off the file is removed, so a restart starts without reservations.
 * - One owner: reservation state lives in this process only. Two nvmet-ts
 *   processes (or two namespaces of one process) with reservations on one
 *   backing file would each enforce a different state, so enabling takes an
 *   exclusive owner file (`<file>.nvmet-resv.lock`, created O_EXCL, holding the
 *   pid); a second owner is refused with an error naming the holder. A lock left
 *   by a dead process is taken over.
 * - A path without reservations over a file whose reservations are owned (a
 *   namespace without resv, in this or another process, on a file a live owner
 *   holds the lock of) would let its hosts write past a reservation, so its
 *   enabling is refused too (assertNoForeignOwner).
 * - The reverse order — the plain path first, then one with reservations — is
 *   refused when the owner lock has been taken: another live process with the
 *   file open (found the way fuser finds it, file-openers.ts; Linux only), or
 *   a plain namespace of this process on the same file (plainPaths). Lock
 *   first, scan second: a plain path enabling concurrently opens the file
 *   before it reads the lock, so of two racing enables one always sees the other.
 */

import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { ReservationState, type ResvSnapshot } from './reservation.js';
import { findOtherOpener } from './file-openers.js';

/** Files beside the backing file. */
export function resvStatePath(backingFile: string): string {
  return `${backingFile}.nvmet-resv.json`;
}
export function resvLockPath(backingFile: string): string {
  return `${backingFile}.nvmet-resv.lock`;
}

/** Error of a second owner of the same backing file's reservations. */
export class ReservationOwnerError extends Error {
  constructor(
    readonly file: string,
    readonly ownerPid: number,
  ) {
    super(
      `reservations on ${file} are already owned by ${ownerPid === process.pid ? 'another namespace of this process' : `nvmet-ts pid ${ownerPid}`}; ` +
        'reservation state is per process, so only one namespace may enable resv on a backing file',
    );
    this.name = 'ReservationOwnerError';
  }
}

/** Lock files this process holds (two namespaces of one process are two owners too). */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function takeLock(lock: string, file: string): Promise<void> {
  if (heldHere.has(lock)) throw new ReservationOwnerError(file, process.pid);
  // Two attempts: the second after removing a lock whose owner is gone.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lock, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      heldHere.add(lock);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt((await readFile(lock, 'utf8').catch(() => '')).trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new ReservationOwnerError(file, pid);
      await unlink(lock).catch(() => undefined);
    }
  }
  throw new ReservationOwnerError(file, -1);
}

/** Error of a namespace without reservations over a file whose reservations are owned. */
export class ReservationBypassError extends Error {
  constructor(
    readonly file: string,
    /** The process on the other side: the reservation owner, or (opener) the one with the file open. */
    readonly ownerPid: number,
    /** true: refused while enabling reservations, because `ownerPid` already has the file open without them. */
    readonly opener = false,
  ) {
    super(
      opener
        ? `${file} is already open in ${ownerPid === process.pid ? 'a namespace without resv of this process' : `pid ${ownerPid} (seen in /proc/${ownerPid}/fd)`}; ` +
            'enabling resv on it would let the hosts of that path bypass the reservations, which are kept per process (disable that path first, or serve the file through several ports of one process)'
        : `${file} has reservations enabled by ${ownerPid === process.pid ? 'another namespace of this process' : `nvmet-ts pid ${ownerPid}`}; ` +
            'a namespace without resv on the same file would let its hosts bypass them (enable resv on one namespace only, and serve it through several ports of that process)',
    );
    this.name = 'ReservationBypassError';
  }
}

/** Files (by device:inode) served by enabled namespaces of this process without reservations, with a count. */
const plainPaths = new Map<string, number>();

async function fileKey(file: string): Promise<string> {
  const st = await stat(file, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/**
 * A namespace without reservations on `file` was enabled here; the returned
 * function undoes it when the namespace is disabled. (Other processes see its
 * descriptor in /proc instead.)
 */
export async function plainPathEnabled(file: string): Promise<() => void> {
  const key = await fileKey(file);
  plainPaths.set(key, (plainPaths.get(key) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (plainPaths.get(key) ?? 1) - 1;
    if (n > 0) plainPaths.set(key, n);
    else plainPaths.delete(key);
  };
}

/**
 * Enabling reservations on `file` (the owner lock already taken): refused while
 * a plain namespace of this process, or any other live process, has the file open.
 */
async function assertNoOtherPath(file: string): Promise<void> {
  if (plainPaths.has(await fileKey(file))) throw new ReservationBypassError(file, process.pid, true);
  const pid = await findOtherOpener(file);
  if (pid !== null) throw new ReservationBypassError(file, pid, true);
}

/**
 * Enabling a namespace WITHOUT reservations on `file`: refused while a live owner
 * (another process, or another namespace here) holds the file's reservation lock.
 */
export async function assertNoForeignOwner(file: string): Promise<void> {
  const lock = resvLockPath(file);
  if (heldHere.has(lock)) throw new ReservationBypassError(file, process.pid);
  let text: string;
  try {
    text = await readFile(lock, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new ReservationBypassError(file, pid);
}

export class NamespaceReservations {
  /** Set Features Reservation Notification Mask (FID 82h); Linux keeps it per namespace. */
  notifyMask = 0;
  private st: ReservationState;
  private locked = false;
  /** Commands in flight per host (Linux nvmet_pr_per_ctrl_ref, here per host identifier). */
  private readonly inflight = new Map<string, number>();
  private readonly drainWaiters = new Map<string, (() => void)[]>();
  private writing: Promise<void> = Promise.resolve();

  constructor(
    /** Backing file (PTPL and ownership); null for RAM namespaces (no PTPL, nothing to share). */
    readonly file: string | null,
  ) {
    this.st = new ReservationState(file !== null);
  }

  get state(): ReservationState {
    return this.st;
  }

  /** A command of `host` on this namespace started (counted until commandDone). */
  commandStarted(host: string): void {
    this.inflight.set(host, (this.inflight.get(host) ?? 0) + 1);
  }

  commandDone(host: string): void {
    const n = (this.inflight.get(host) ?? 1) - 1;
    if (n > 0) {
      this.inflight.set(host, n);
      return;
    }
    this.inflight.delete(host);
    const w = this.drainWaiters.get(host);
    if (w !== undefined) {
      this.drainWaiters.delete(host);
      for (const f of w) f();
    }
  }

  /** Commands of `host` in flight on this namespace. */
  inflightOf(host: string): number {
    return this.inflight.get(host) ?? 0;
  }

  /**
   * Preempt-and-abort (nvmet_pr_do_abort): wait until the preempted hosts have no
   * command left on this namespace — nvmet-ts aborts nothing, it waits, as Linux
   * does. Bounded by `timeoutMs`; resolves false if commands were still running then.
   */
  drain(hosts: readonly string[], timeoutMs = 30_000): Promise<boolean> {
    const pending = hosts.filter((h) => this.inflightOf(h) > 0);
    if (pending.length === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let left = pending.length;
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      for (const h of pending) {
        const list = this.drainWaiters.get(h) ?? [];
        list.push(() => {
          if (--left === 0) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        this.drainWaiters.set(h, list);
      }
    });
  }

  /** Namespace enabling: take ownership and load a persisted state (nvmet_pr_init_ns). */
  async open(): Promise<void> {
    this.st = new ReservationState(this.file !== null);
    this.notifyMask = 0;
    if (this.file === null) return;
    await takeLock(resvLockPath(this.file), this.file);
    this.locked = true;
    try {
      await assertNoOtherPath(this.file);
    } catch (e) {
      await this.close();
      throw e;
    }
    let text: string;
    try {
      text = await readFile(resvStatePath(this.file), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      await this.close();
      throw e;
    }
    try {
      const snap = JSON.parse(text) as ResvSnapshot;
      this.st.restore(snap);
    } catch (e) {
      await this.close();
      throw new Error(`${resvStatePath(this.file)}: not a reservation state: ${(e as Error).message}`);
    }
  }

  /** Namespace disabled: wait for the last write and give up ownership (nvmet_pr_exit_ns). */
  async close(): Promise<void> {
    await this.writing;
    if (this.file !== null && this.locked) {
      const lock = resvLockPath(this.file);
      heldHere.delete(lock);
      this.locked = false;
      await unlink(lock).catch(() => undefined);
    }
  }

  /**
   * After a change: with PTPL on, write the state (atomically); with PTPL off,
   * remove any persisted state. Writes are serialized in call order.
   */
  persist(): Promise<void> {
    const file = this.file;
    if (file === null) return Promise.resolve();
    const path = resvStatePath(file);
    const snap = this.st.ptpl ? JSON.stringify(this.st.snapshot(), null, 2) + '\n' : null;
    const next = this.writing.then(async () => {
      if (snap === null) {
        await unlink(path).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        return;
      }
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, snap, { mode: 0o644 });
      await rename(tmp, path);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
