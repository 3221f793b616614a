/**
 * Error bodies of the management API: `{ statusCode, error, code, issues? }`, where
 * `error` names the field at fault ("body.attr.serial: must be at most 20
 * characters") and `issues` lists every problem found when there are several.
 */

import type { FastifyError } from 'fastify';
import { ServiceError, type Refusal } from '../service-error.js';
import type { ConfigIssue } from '../config/index.js';
import { securityFieldAnywhere, securityRefusal } from '../config/unsupported-security.js';

/** A refusal decided by the API itself (guards, request shape): its HTTP status and an errno-like code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  issues?: ConfigIssue[];
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** "/attr/serial" under "body" → "body.attr.serial"; array indexes as [i]. */
function fieldPath(context: string, instancePath: string): string {
  let p = context;
  for (const seg of instancePath.split('/').slice(1)) {
    const s = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    p += /^[0-9]+$/.test(s) ? `[${s}]` : `.${s}`;
  }
  return p;
}

/** One JSON-schema violation as "path: what is wrong". */
export function formatAjvError(context: string, e: AjvError): ConfigIssue {
  const path = fieldPath(context, e.instancePath);
  const p = e.params;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p['additionalProperty']);
      // A field naming a security feature nvmet-ts lacks says so, rather than just "unknown".
      const sec = securityFieldAnywhere(key);
      return { path: `${path}.${key}`, message: sec ? securityRefusal(sec) : 'unknown field' };
    }
    case 'required':
      return { path: `${path}.${String(p['missingProperty'])}`, message: 'required field is missing' };
    case 'type':
      return { path, message: `must be of type ${String(p['type']).replace(/,/g, ' or ')}` };
    case 'maxLength':
      return { path, message: `must be at most ${String(p['limit'])} characters` };
    case 'minLength':
      return { path, message: p['limit'] === 1 ? 'must not be empty' : `must be at least ${String(p['limit'])} characters` };
    case 'maxItems':
      return { path, message: `must have at most ${String(p['limit'])} items` };
    case 'minProperties':
      return { path, message: 'must not be empty' };
    case 'enum':
      return { path, message: `must be one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'pattern':
      return { path, message: `has an invalid format` };
    default:
      return { path, message: e.message ?? e.keyword };
  }
}

/** The one place a kind of refusal becomes an HTTP status. */
export const STATUS_OF: Readonly<Record<Refusal, number>> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  unavailable: 503,
  failed: 500,
};

/** Fastify/AJV/ServiceError/anything → status and body. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ApiError) return { statusCode: err.status, error: err.message, code: err.code };
  if (err instanceof ServiceError) {
    const body: ErrorBody = { statusCode: STATUS_OF[err.reason], error: err.message, code: err.code };
    if (err.issues.length > 0) body.issues = [...err.issues];
    return body;
  }
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const issues = fe.validation.map((v) => formatAjvError(fe.validationContext ?? 'body', v));
    const first = issues[0]!;
    return { statusCode: 400, error: `${first.path}: ${first.message}`, code: 'EINVAL', issues };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { statusCode: 413, error: 'body: too large', code: 'E2BIG' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, error: 'body: unsupported content type (use application/json or application/msgpack)', code: 'EINVAL' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { statusCode: 400, error: 'body: empty JSON body', code: 'EINVAL' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { statusCode: 400, error: `body: invalid JSON (${fe.message})`, code: 'EINVAL' };
  }
  const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
  if (status < 500) return { statusCode: status, error: fe.message || 'bad request', code: 'EINVAL' };
  return { statusCode: 500, error: 'internal error', code: 'EIO' };
}
