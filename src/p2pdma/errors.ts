/**
 * Typed errors of the p2pdma subsystem, with the Linux errno each one corresponds to.
 *
 * Convention (whole src/p2pdma): operations that can fail for reasons a caller must
 * handle (bad arguments, no memory, incompatible topology, teardown in progress) return
 * a `Result<T>` and never throw. Only programming errors that Linux would BUG() on are
 * thrown, as plain `Error`s. `unwrap()` turns a Result into a value or a thrown P2pError.
 */

export type P2pErrorCode = 'EINVAL' | 'ENOMEM' | 'ENODEV' | 'EXDEV' | 'EBUSY';

export const ERRNO: Readonly<Record<P2pErrorCode, number>> = {
  EINVAL: 22,
  ENOMEM: 12,
  ENODEV: 19,
  EXDEV: 18,
  EBUSY: 16,
};

export class P2pError extends Error {
  /** Negative errno as the kernel would return it (-22 for EINVAL, …). */
  readonly errno: number;

  constructor(
    readonly code: P2pErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'P2pError';
    this.errno = -ERRNO[code];
  }
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: P2pError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(code: P2pErrorCode, message: string): Result<T> => ({ ok: false, error: new P2pError(code, message) });

/** The value of a successful Result, or throw its P2pError. */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}
