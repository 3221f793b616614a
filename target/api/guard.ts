/**
 * Who may talk to the management API, checked before any route runs:
 *
 * - DNS rebinding: a page on evil.example whose name later resolves to
 *   127.0.0.1 sends `Host: evil.example`. Requests are served only when the
 *   Host header names the bound address, a loopback name when bound to
 *   loopback, or a name the operator listed (`--api-allow-host`).
 * - Cross-site requests: a browser page may POST a "simple" request (text/plain,
 *   form encodings, or no body at all) to 127.0.0.1 without asking first. A
 *   mutating request that does not carry a JSON (or MessagePack) content type —
 *   which a browser can only send after a CORS preflight nvmet-ts never grants —
 *   is refused when it comes from a browser (Origin, Referer or Sec-Fetch-*
 *   headers); a mutating request whose Origin is another site is always refused.
 * - The bearer token (when set): `Authorization: Bearer <token>`, the scheme
 *   case-insensitive (RFC 9110 §11.1), compared in constant time.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback } from '../config/listen-policy.js';
import { ApiError } from './errors.js';

export interface GuardOptions {
  /** The address the API is bound to. */
  host: string;
  /** Extra Host header names accepted (lowercase). */
  allowedHosts?: readonly string[];
  token?: string;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BODY_TYPES = /^application\/(json|msgpack|x-msgpack)\s*(;|$)/i;

/** "Example.COM:9420" → "example.com"; "[::1]:9420" → "::1". null if unusable. */
export function hostName(header: string | undefined): string | null {
  if (header === undefined) return null;
  let h = header.trim().toLowerCase();
  if (h === '') return null;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    return h.slice(1, end);
  }
  const colon = h.indexOf(':');
  if (colon >= 0) {
    if (h.indexOf(':', colon + 1) >= 0) return isIP(h) === 6 ? h : null;
    h = h.slice(0, colon);
  }
  return h.replace(/\.$/, '');
}

export class HostCheck {
  private readonly names: Set<string>;
  private readonly wildcard: boolean;
  private readonly loopback: boolean;

  constructor(bound: string, extra: readonly string[] = []) {
    const b = bound.replace(/^\[|\]$/g, '').toLowerCase();
    this.wildcard = b === '0.0.0.0' || b === '::' || b === '';
    this.loopback = isLoopback(b);
    this.names = new Set([b, ...extra.map((e) => e.toLowerCase().replace(/^\[|\]$/g, ''))]);
  }

  allows(name: string | null): boolean {
    if (name === null) return false;
    if (this.names.has(name)) return true;
    // Loopback names can only be reached from this machine, and an IP literal cannot be rebound.
    if (this.loopback && isLoopback(name)) return true;
    if (this.wildcard && isIP(name) !== 0) return true;
    return false;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The token of an `Authorization: Bearer <token>` header, scheme case-insensitive; null if absent or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^\s*bearer +(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

function fromBrowser(req: FastifyRequest): boolean {
  const h = req.headers;
  // Not Sec-Fetch-Mode: Node's fetch (undici) sends it too. Browsers send Sec-Fetch-Site on every request.
  return h['origin'] !== undefined || h['referer'] !== undefined || h['sec-fetch-site'] !== undefined;
}

export function registerGuard(app: FastifyInstance, opts: GuardOptions): void {
  const hosts = new HostCheck(opts.host, opts.allowedHosts);
  const want = opts.token !== undefined && opts.token !== '' ? digest(opts.token) : null;

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const host = req.headers.host;
    if (!hosts.allows(hostName(host))) {
      throw new ApiError(403, 'EACCES', `Host ${JSON.stringify(host ?? '')} is not this API's address (DNS rebinding protection; nvmet-ts --api-allow-host NAME to accept it)`);
    }
    if (MUTATING.has(req.method)) {
      const origin = req.headers.origin;
      if (origin !== undefined) {
        let originHost: string | null = null;
        try {
          originHost = origin === 'null' ? null : hostName(new URL(origin).host);
        } catch {
          originHost = null;
        }
        if (!hosts.allows(originHost)) throw new ApiError(403, 'EACCES', `cross-site request from Origin ${JSON.stringify(origin)} refused`);
      }
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') throw new ApiError(403, 'EACCES', `cross-site request refused (Sec-Fetch-Site: ${site})`);
      if (!BODY_TYPES.test(req.headers['content-type'] ?? '') && fromBrowser(req)) {
        throw new ApiError(403, 'EACCES', `a browser request that changes the target must send Content-Type: application/json (cross-site request protection)`);
      }
    }
    if (want !== null) {
      const got = bearerToken(req.headers.authorization);
      if (got === null || !timingSafeEqual(digest(got), want)) {
        reply.header('www-authenticate', 'Bearer');
        throw new ApiError(401, 'EACCES', 'missing or wrong bearer token');
      }
    }
  });
}
