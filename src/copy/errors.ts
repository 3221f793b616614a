/**
 * Typed DMA failures. The engine never throws for bad input: `submit()` returns a
 * rejected promise carrying one of these, so callers at the NVMe edge can map the
 * code to a status (a descriptor outside its region is a target bug or a bad host
 * SGL that slipped through: Data Transfer Error / Internal Error; a closed engine
 * during shutdown: Command Aborted due to SQ Deletion or similar).
 */

export type DmaErrorCode =
  /** A descriptor's length/offsets are not non-negative integers or leave a region or its memory. */
  | 'EINVAL'
  /** `submit()` after `close()` started. Nothing was copied. */
  | 'ECLOSED'
  /** `close({ abort: true })` cancelled the submission before it started. Nothing was copied. */
  | 'EABORTED'
  /** The worker running the batch failed; bytes of that batch may be partially written. */
  | 'EWORKER';

export class DmaError extends Error {
  override readonly name = 'DmaError';
  readonly code: DmaErrorCode;

  constructor(code: DmaErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}
