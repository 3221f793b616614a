/**
 * Why the service refused or failed a change, as a type: the service says *what kind*
 * of refusal it is (and an errno-like code), the management API alone decides which
 * HTTP status that is (target/api/errors.ts). Nothing here or there looks at message
 * text: errors from the core, backends and sockets are classified by their class or
 * their `code`, set where they are raised.
 */

import type { ConfigIssue } from './config/index.js';

/** The kinds of refusal (the API maps each to one HTTP status). */
export type Refusal =
  /** The request or document is wrong (a field, a value, a path). */
  | 'invalid'
  /** Not allowed by operator policy (an address, a path outside the allowed directories). */
  | 'forbidden'
  /** What the request names does not exist. */
  | 'not-found'
  /** Conflicts with the live state (in use, exists, busy, the topology cannot). */
  | 'conflict'
  /** The target is shutting down. */
  | 'unavailable'
  /** Something failed that the request could not have avoided. */
  | 'failed';

export const REFUSALS: readonly Refusal[] = ['invalid', 'forbidden', 'not-found', 'conflict', 'unavailable', 'failed'];

/** A refused change: its kind, an errno-like code, a message naming what is wrong. */
export class ServiceError extends Error {
  constructor(
    readonly reason: Refusal,
    readonly code: string,
    message: string,
    readonly issues: readonly ConfigIssue[] = [],
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** errno-like codes (Node system errors, P2pError, BackingPathError, core errors) → kind of refusal. */
const BY_CODE: Readonly<Record<string, Refusal>> = {
  EADDRINUSE: 'conflict',
  EADDRNOTAVAIL: 'invalid',
  ENOENT: 'invalid',
  EISDIR: 'invalid',
  ENOTDIR: 'invalid',
  EACCES: 'invalid',
  EPERM: 'invalid',
  ELOOP: 'invalid',
  // p2pdma refusals (src/p2pdma P2pError): the topology cannot do what was asked.
  EXDEV: 'conflict',
  EBUSY: 'conflict',
  ENOMEM: 'conflict',
  ENODEV: 'invalid',
  EINVAL: 'invalid',
  // The core refuses a duplicate object (addSubsystem, addPort, addNamespace).
  EEXIST: 'conflict',
};

/** Classify what the core, a backend or a socket threw, by class and `code` only. */
export function asServiceError(e: unknown): ServiceError {
  if (e instanceof ServiceError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const code = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
  if (typeof code === 'string' && Object.hasOwn(BY_CODE, code)) return new ServiceError(BY_CODE[code]!, code, msg);
  if (e instanceof RangeError) return new ServiceError('invalid', 'EINVAL', msg);
  return new ServiceError('failed', 'EIO', msg);
}
