/**
 * Editing the configuration document for an API call: the routes work on the
 * nvmetcli JSON (what GET returns, what POST/PATCH bodies are), then hand the whole
 * next document to target/config's parser. Problems inside the object a request
 * edits are reported against the request ("body.attr.serial: ...") rather than the
 * document ("subsystems[2].attr.serial: ..."), so the client sees its own field.
 */

import { configToJson, type NvmetConfig } from '../config/index.js';
import { validateBackingPath } from '../config/validators.js';
import { BackingPathError, type BackingPathPolicy } from '../backend/path-policy.js';
import type { JsonObject, JsonValue } from '../config/json.js';
import { ServiceError, type NvmetService } from '../service/index.js';

/** Where a request's object sits in the document, and how to name it in messages. */
export interface PathMap {
  /** Document path of the edited object, e.g. "subsystems[2]". */
  prefix: string;
  /** What to call it instead, e.g. "body". */
  label: string;
}

export function docJson(cfg: NvmetConfig): JsonObject {
  return configToJson(cfg);
}

export function list(json: JsonObject, key: string): JsonObject[] {
  const v = json[key];
  if (!Array.isArray(v)) {
    const arr: JsonValue[] = [];
    json[key] = arr;
    return arr as JsonObject[];
  }
  // configToJson builds these lists from objects only.
  return v as JsonObject[];
}

/** Rewrite a document path under `map.prefix` to the request's label. */
export function mapPath(path: string, map: PathMap | undefined): string {
  if (map === undefined || !path.startsWith(map.prefix)) return path;
  const rest = path.slice(map.prefix.length);
  if (rest !== '' && rest[0] !== '.' && rest[0] !== '[') return path;
  return map.label + rest;
}

/** Parse the edited document; errors name the request's fields where they can. */
export function validateDoc(svc: NvmetService, json: JsonObject, map?: PathMap, opts: { rejectUnknown?: boolean } = {}): NvmetConfig {
  try {
    return svc.validate(json, opts.rejectUnknown ? { unknownFields: 'reject' } : {});
  } catch (e) {
    if (!(e instanceof ServiceError) || map === undefined) throw e;
    const issues = e.issues.map((i) => ({ path: mapPath(i.path, map), message: i.message }));
    const first = issues[0];
    const msg = first ? `${first.path}: ${first.message}` : e.message;
    throw new ServiceError(e.reason, e.code, issues.length > 1 ? `${msg} (and ${issues.length - 1} more)` : msg, issues);
  }
}

export function notFound(what: string): ServiceError {
  return new ServiceError('not-found', 'ENOENT', `${what} does not exist`);
}

/**
 * A namespace device path from an untrusted request: "ram:SIZE" passes through (the
 * parser checks the size); a file path must not contain NUL or ".." segments, must
 * lie — symlinks followed — in the data directory (or an --allow-path directory, or
 * be a file the operator's configuration names), and must name an existing regular
 * file that is not itself a symlink (nvmet-ts, like Linux, does not create backing
 * files). Relative paths are relative to `base` (the data directory for namespace
 * routes). Returns the absolute path to store. The same rule is applied again at
 * every open (BackingPathPolicy.open), so what is checked here cannot be swapped later.
 */
export async function checkBackingPath(raw: string, paths: BackingPathPolicy, field: string, base: string = paths.dataDir): Promise<string> {
  if (raw.startsWith('ram:')) return raw;
  const syntax = validateBackingPath(raw, { baseDir: base });
  if (!syntax.ok) throw new ServiceError('invalid', 'EINVAL', `${field}: ${syntax.message}`);
  const abs = syntax.value;
  // A file-backed namespace request is what the data directory is created for (0700).
  await paths.realDataDir();
  if (!paths.isTrusted(abs) && !paths.lexicallyAllowed(abs)) {
    throw new ServiceError('invalid', 'EACCES', `${field}: path must be inside ${paths.describeAllowed()}, got ${JSON.stringify(raw)}`);
  }
  try {
    await paths.check(abs, raw);
  } catch (e) {
    if (e instanceof BackingPathError) throw new ServiceError('invalid', e.code, `${field}: ${e.message}`);
    throw e;
  }
  return abs;
}

/** What GET shows instead of a secret (configfs shows DH-HMAC-CHAP keys to root only). */
export const REDACTED_SECRET = '(write-only)';
/** Secret-holding groups of a host and their secret keys: hosts[].dhchap.{key,ctrl_key}, hosts[].nvmet_ts.tls_psk. */
const SECRETS: readonly (readonly [string, readonly string[]])[] = [
  ['dhchap', ['key', 'ctrl_key']],
  ['nvmet_ts', ['tls_psk']],
];

function obj(v: JsonValue | undefined): JsonObject | undefined {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/**
 * A copy of the document for an API response: hosts' secrets (DH-HMAC-CHAP keys, TLS
 * PSK) replaced by REDACTED_SECRET when set — never returned over HTTP.
 */
export function redactSecrets(json: JsonObject): JsonObject {
  const hosts = json['hosts'];
  if (!Array.isArray(hosts)) return json;
  return {
    ...json,
    hosts: hosts.map((h) => {
      const host = obj(h);
      if (host === undefined) return h;
      const out: JsonObject = { ...host };
      for (const [group, keys] of SECRETS) {
        const g = obj(host[group]);
        if (g === undefined) continue;
        const red: JsonObject = { ...g };
        for (const k of keys) if (typeof red[k] === 'string' && red[k] !== '') red[k] = REDACTED_SECRET;
        out[group] = red;
      }
      return out;
    }),
  };
}

/**
 * A document sent back after a GET: a secret left as REDACTED_SECRET keeps the host's
 * current one (so GET → edit → PUT does not drop authentication or TLS). A placeholder for
 * a host without a current secret stays and fails validation, naming the field.
 */
export function restoreSecrets(body: JsonObject, cur: JsonObject): JsonObject {
  const hosts = body['hosts'];
  const curHosts = cur['hosts'];
  if (!Array.isArray(hosts) || !Array.isArray(curHosts)) return body;
  const byNqn = new Map<string, JsonObject>();
  for (const h of curHosts) {
    const host = obj(h);
    if (host !== undefined && typeof host['nqn'] === 'string') byNqn.set(host['nqn'], host);
  }
  return {
    ...body,
    hosts: hosts.map((h) => {
      const host = obj(h);
      if (host === undefined || typeof host['nqn'] !== 'string') return h;
      const old = byNqn.get(host['nqn']);
      if (old === undefined) return h;
      const out: JsonObject = { ...host };
      for (const [group, keys] of SECRETS) {
        const g = obj(host[group]);
        const og = obj(old[group]);
        if (g === undefined || og === undefined) continue;
        const restored: JsonObject = { ...g };
        for (const k of keys) if (restored[k] === REDACTED_SECRET && typeof og[k] === 'string') restored[k] = og[k];
        out[group] = restored;
      }
      return out;
    }),
  };
}
