/**
 * File backend (Linux io-cmd-file.c): a regular file accessed with positioned
 * reads/writes through a FileHandle. Created at the configured size if missing;
 * an existing file keeps its data and is grown (never shrunk) to the configured size.
 * Flush is fdatasync.
 */

import type { FileHandle } from 'node:fs/promises';
import type { NamespaceBackend } from './backend.js';
import { openRegularFile, type BackingFileOpener } from './path-policy.js';

/** Zeroes are written in slices of this size (Write Zeroes over a large range). */
const ZERO_SLICE = 1 << 20;
let zeroSlice: Uint8Array | null = null;

export class FileBackend implements NamespaceBackend {
  readonly kind = 'file';
  /** No hole punching from Node: deallocate is only a hint, so reads after it are not guaranteed zero. */
  readonly deallocatedReadsZeroes = false;
  private fh: FileHandle | null = null;
  private bytes = 0;

  constructor(
    readonly path: string,
    private readonly wantedSize?: number,
    /** Who may open what (target/backend/path-policy.ts); default: any regular file, never through a symlink. */
    private readonly opener: BackingFileOpener = openRegularFile,
  ) {
    if (wantedSize !== undefined && (!Number.isSafeInteger(wantedSize) || wantedSize <= 0)) {
      throw new RangeError(`file namespace size must be a positive integer, got ${wantedSize}`);
    }
  }

  get size(): number {
    return this.bytes;
  }

  async open(): Promise<void> {
    if (this.fh !== null) return;
    // Every enable re-opens through the opener, so the path rule is applied again here (no stat-then-open race).
    const fh = await this.opener(this.path, { create: this.wantedSize !== undefined });
    try {
      const existing = (await fh.stat()).size;
      if (this.wantedSize !== undefined && existing < this.wantedSize) {
        await fh.truncate(this.wantedSize);
        this.bytes = this.wantedSize;
      } else {
        this.bytes = existing;
      }
      if (this.bytes === 0) throw new Error(`${this.path} is empty`);
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.fh = fh;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) await fh.close();
  }

  async read(offset: number, dst: Uint8Array): Promise<void> {
    const fh = this.handle();
    let done = 0;
    while (done < dst.length) {
      const { bytesRead } = await fh.read(dst, done, dst.length - done, offset + done);
      if (bytesRead === 0) {
        // Past EOF (file shrunk under us): the rest reads as zeroes, like a hole.
        dst.fill(0, done);
        return;
      }
      done += bytesRead;
    }
  }

  async write(offset: number, src: Uint8Array): Promise<void> {
    const fh = this.handle();
    let done = 0;
    while (done < src.length) {
      const { bytesWritten } = await fh.write(src, done, src.length - done, offset + done);
      if (bytesWritten === 0) throw new Error(`short write to ${this.path} at ${offset + done}`);
      done += bytesWritten;
    }
  }

  async flush(): Promise<void> {
    await this.handle().datasync();
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    zeroSlice ??= new Uint8Array(ZERO_SLICE);
    let done = 0;
    while (done < length) {
      const n = Math.min(ZERO_SLICE, length - done);
      await this.write(offset + done, n === ZERO_SLICE ? zeroSlice : zeroSlice.subarray(0, n));
      done += n;
    }
  }

  deallocate(_offset: number, _length: number): void {
    // Advisory; DLFEAT tells the host not to expect zeroes.
  }

  allocatedBytes(): number {
    return this.bytes;
  }

  private handle(): FileHandle {
    if (this.fh === null) throw new Error(`${this.path} is not open`);
    return this.fh;
  }
}
