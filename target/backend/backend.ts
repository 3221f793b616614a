/**
 * Media backends of a namespace (Linux io-cmd-bdev.c / io-cmd-file.c). A backend
 * moves bytes between a request's staging buffer (`req.data`) and its media; it
 * never sees NVMe commands, LBAs or statuses. Byte offsets and lengths are always
 * block aligned and inside `size` (the I/O parser checks the LBA range first).
 *
 * Methods may complete synchronously (RAM) or return a promise (file): callers
 * only await when a promise comes back, so the RAM hot path stays allocation-free.
 */

import type { BackingFileOpener } from './path-policy.js';

/**
 * A backend failure that carries its own NVMe status (DNR decided by the thrower), e.g. a
 * retryable Transient Transport Error, instead of the media error the I/O handler would use.
 */
export class BackendStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BackendStatusError';
  }
}

export type MaybePromise = void | Promise<void>;

export interface NamespaceBackend {
  /** "ram", "file", ... for logs and the management API. */
  readonly kind: string;
  /** Media size in bytes; valid after `open()`. */
  readonly size: number;
  /** Deallocated (and never written) blocks read back as zeroes (Identify NS DLFEAT = 001b). */
  readonly deallocatedReadsZeroes: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * A hint that [offset, +length) will be read soon (several reads are about to run):
   * start bringing it in (a RAM model touches it so the memory loads of the batch
   * overlap). No effect on results; optional.
   */
  prefetch?(offset: number, length: number): void;
  /** Fill all of `dst` from media at `offset`. */
  read(offset: number, dst: Uint8Array): MaybePromise;
  /** Store all of `src` at `offset`. */
  write(offset: number, src: Uint8Array): MaybePromise;
  /** Make previous writes durable (Flush; volatile write cache disabled). */
  flush(): MaybePromise;
  /** Zero `length` bytes at `offset` (Write Zeroes). */
  writeZeroes(offset: number, length: number): MaybePromise;
  /** Hint that `length` bytes at `offset` are unused (Dataset Management, AD). */
  deallocate(offset: number, length: number): MaybePromise;
  /** Bytes of host memory or disk the backend currently holds for data (sparseness checks, stats). */
  allocatedBytes(): number;
}

/** How to build a backend from configuration. */
export type BackendSpec =
  | { kind: 'ram'; size: number; chunkSize?: number }
  | { kind: 'file'; path: string; size?: number; open?: BackingFileOpener };
