/**
 * Security features nvmet-ts does not implement (yet) — the one table of them.
 *
 * A configuration that asks for one of these must fail with an error naming the
 * JSON path, never load with a warning: a host configured for DH-HMAC-CHAP would
 * otherwise get a controller without authentication (AUTHREQ 0 in the Connect
 * response, and the Linux host then proceeds unauthenticated), and a port asking
 * for TLS would accept plain TCP. The parser (parse.ts) consults this table for
 * every key it reads, known or unknown, at start-up, in `nvmet-ts check` and for
 * every document the management API applies; the API's JSON-schema errors use it
 * for their message too.
 *
 * When a feature lands (issue 11: NVMe/TCP TLS next; DH-HMAC-CHAP has), delete its
 * rows here and teach the parser the fields.
 */
import type { JsonValue } from './json.js';

export interface UnsupportedSecurityField {
  /** The object the key sits in, as a path with indexes erased: "hosts[]", "ports[].addr". */
  readonly where: string;
  /** The key, or a pattern of keys. */
  readonly key: string | RegExp;
  /** Whether this value asks for the feature (an empty/"none" value does not). */
  readonly asks: (v: JsonValue) => boolean;
  /** What is not implemented, for the message. */
  readonly feature: string;
}

const TLS = 'NVMe/TCP TLS (secure channel)';

/** A non-empty string, number or boolean, or an object/array holding one. */
function nonEmpty(v: JsonValue): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v.trim() !== '' && v !== '(null)';
  if (typeof v === 'number' || typeof v === 'boolean') return true;
  if (Array.isArray(v)) return v.some(nonEmpty);
  return Object.values(v).some(nonEmpty);
}

export const UNSUPPORTED_SECURITY_FIELDS: readonly UnsupportedSecurityField[] = [
  // DH-HMAC-CHAP (hosts[].dhchap) is implemented (issue 11); its rows are gone from here.
  // TLS pre-shared keys other than hosts[].nvmet_ts.tls_psk, however a tool names them.
  { where: 'hosts[]', key: /^(tls|psk)/, asks: nonEmpty, feature: TLS },
  { where: 'ports[]', key: /^(tls|psk)/, asks: nonEmpty, feature: TLS },
  { where: 'ports[].param', key: /^(tls|psk)/, asks: nonEmpty, feature: TLS },
  // ports[].addr.tsas "tls1.3" / treq "required" are implemented (NVMe/TCP TLS 1.3, issue 11):
  // parse.ts checkSecureChannel refuses what is not (tls1.3 off TCP, other TSAS values, a
  // required secure channel without tls1.3). The host's PSK is hosts[].nvmet_ts.tls_psk; other
  // tls*/psk* keys below (per-subsystem or per-port PSKs) stay refused.
  { where: 'subsystems[]', key: /^(tls|psk)/, asks: nonEmpty, feature: TLS },
  { where: 'subsystems[].attr', key: /^(tls|psk)/, asks: nonEmpty, feature: TLS },
];

function keyMatches(f: UnsupportedSecurityField, key: string): boolean {
  return typeof f.key === 'string' ? f.key === key : f.key.test(key);
}

/** "ports[3].addr" → "ports[].addr". */
export function wherePath(path: string): string {
  return path.replace(/\[\d+\]/g, '[]');
}

/** The row for `key` in the object at `path`, if the table has one. */
export function securityField(path: string, key: string): UnsupportedSecurityField | undefined {
  const where = wherePath(path);
  return UNSUPPORTED_SECURITY_FIELDS.find((f) => f.where === where && keyMatches(f, key));
}

/** The member of a group value to name in the error: the first holding a key, else the first non-empty one. */
export function askingMember(v: JsonValue): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const entries = Object.entries(v);
  return (entries.find(([k, m]) => /key/.test(k) && nonEmpty(m)) ?? entries.find(([, m]) => nonEmpty(m)))?.[0];
}

/** The refusal message for a value that asks for an unsupported feature. */
export function securityRefusal(f: UnsupportedSecurityField): string {
  return `${f.feature} is not implemented by nvmet-ts; refusing the configuration rather than running without it`;
}

/** For API schema errors, where only the key is known: does any row name it? */
export function securityFieldAnywhere(key: string): UnsupportedSecurityField | undefined {
  return UNSUPPORTED_SECURITY_FIELDS.find((f) => keyMatches(f, key));
}
