/**
 * Typed errors → HTTP status (issue 15 item 5): the service classifies what was
 * thrown by class and `code` only; target/api/errors.ts alone picks the status.
 * Messages that used to be matched by a regex must not change the answer any more.
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { asServiceError, REFUSALS, ServiceError } from '../../target/service-error.js';
import { STATUS_OF, toErrorBody } from '../../target/api/errors.js';
import { P2pError } from '../../src/p2pdma/errors.js';
import { BackingPathError } from '../../target/backend/path-policy.js';
import { createNvmet } from '../../target/create-nvmet.js';

const sys = (code: string, msg = `${code}: system error`): Error => Object.assign(new Error(msg), { code });

const table: { name: string; err: unknown; status: number; code: string }[] = [
  { name: 'ServiceError invalid', err: new ServiceError('invalid', 'EINVAL', 'x'), status: 400, code: 'EINVAL' },
  { name: 'ServiceError forbidden', err: new ServiceError('forbidden', 'EACCES', 'x'), status: 403, code: 'EACCES' },
  { name: 'ServiceError not-found', err: new ServiceError('not-found', 'ENOENT', 'x'), status: 404, code: 'ENOENT' },
  { name: 'ServiceError conflict', err: new ServiceError('conflict', 'EBUSY', 'x'), status: 409, code: 'EBUSY' },
  { name: 'ServiceError unavailable', err: new ServiceError('unavailable', 'ESHUTDOWN', 'x'), status: 503, code: 'ESHUTDOWN' },
  { name: 'ServiceError failed', err: new ServiceError('failed', 'EIO', 'x'), status: 500, code: 'EIO' },
  { name: 'listen: address in use', err: sys('EADDRINUSE'), status: 409, code: 'EADDRINUSE' },
  { name: 'listen: address not available', err: sys('EADDRNOTAVAIL'), status: 400, code: 'EADDRNOTAVAIL' },
  { name: 'open: ENOENT', err: sys('ENOENT'), status: 400, code: 'ENOENT' },
  { name: 'open: EISDIR', err: sys('EISDIR'), status: 400, code: 'EISDIR' },
  { name: 'open: ENOTDIR', err: sys('ENOTDIR'), status: 400, code: 'ENOTDIR' },
  { name: 'open: EACCES', err: sys('EACCES'), status: 400, code: 'EACCES' },
  { name: 'open: EPERM', err: sys('EPERM'), status: 400, code: 'EPERM' },
  { name: 'open: ELOOP (O_NOFOLLOW)', err: sys('ELOOP'), status: 400, code: 'ELOOP' },
  { name: 'p2pdma EXDEV', err: new P2pError('EXDEV', 'not under one switch'), status: 409, code: 'EXDEV' },
  { name: 'p2pdma EBUSY', err: new P2pError('EBUSY', 'in use'), status: 409, code: 'EBUSY' },
  { name: 'p2pdma ENOMEM', err: new P2pError('ENOMEM', 'pool empty'), status: 409, code: 'ENOMEM' },
  { name: 'p2pdma ENODEV', err: new P2pError('ENODEV', 'no such function'), status: 400, code: 'ENODEV' },
  { name: 'p2pdma EINVAL', err: new P2pError('EINVAL', 'bad'), status: 400, code: 'EINVAL' },
  { name: 'backing path policy', err: new BackingPathError('EINVAL', '/x is not a regular file'), status: 400, code: 'EINVAL' },
  { name: 'RangeError (core argument checks)', err: new RangeError('nsid 0 must be 1..1024'), status: 400, code: 'EINVAL' },
  // No message matching: text alone (once regex-matched) decides nothing.
  { name: 'untyped "already exists"', err: new Error('subsystem x already exists'), status: 500, code: 'EIO' },
  { name: 'untyped "is not a regular file"', err: new Error('/x is not a regular file'), status: 500, code: 'EIO' },
  { name: 'untyped "smaller than one block"', err: new Error('backend smaller than one block'), status: 500, code: 'EIO' },
  { name: 'unknown code', err: sys('EWHATEVER'), status: 500, code: 'EIO' },
  { name: 'not an Error', err: 'boom', status: 500, code: 'EIO' },
];

describe('typed service errors → HTTP status', () => {
  it.each(table)('$name → $status $code', ({ err, status, code }) => {
    const se = asServiceError(err);
    expect(se).toBeInstanceOf(ServiceError);
    expect(se.code).toBe(code);
    const body = toErrorBody(se);
    expect(body.statusCode).toBe(status);
    expect(body.code).toBe(code);
    // A 500 does not leak internals; anything else keeps the message.
    if (status !== 500 || err instanceof ServiceError) expect(body.error).toBe(se.message);
  });

  it('every kind of refusal has exactly one status, each distinct', () => {
    expect(Object.keys(STATUS_OF).sort()).toEqual([...REFUSALS].sort());
    expect(new Set(Object.values(STATUS_OF)).size).toBe(REFUSALS.length);
  });

  it('a real system error from the filesystem is classified by its code', async () => {
    const e = await readFile('/nonexistent-nvmet-ts-h10/x').catch((x: unknown) => x);
    expect(toErrorBody(asServiceError(e))).toMatchObject({ statusCode: 400, code: 'ENOENT' });
  });

  it('the core marks its duplicate-object refusals with a code (EEXIST → 409)', async () => {
    const nvmet = createNvmet();
    try {
      nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.test:dup' });
      const e = (() => {
        try {
          nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.test:dup' });
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      expect(toErrorBody(asServiceError(e))).toMatchObject({ statusCode: 409, code: 'EEXIST' });
    } finally {
      await nvmet.shutdown();
    }
  });
});
