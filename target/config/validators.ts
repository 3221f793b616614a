/**
 * Field validators shared by the config loader and the management API.
 *
 * Every function is pure and total: any JSON value (or any string, for the
 * string-only ones) gets either a value or a message saying what is wrong. The
 * limits are the Linux target's (drivers/nvme/target/configfs.c) unless noted.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { isAbsolute, resolve as resolvePath, relative as relativePath, sep } from 'node:path';
import { jsonTypeName, showValue } from './issues.js';
import { DhchapSecretError, parseDhchapSecret } from '../../src/nvme/auth/secret.js';
import { parseTlsPsk, pskCipher, TlsPskError } from '../../src/nvme/tls/psk.js';

export type Check<T> = { ok: true; value: T } | { ok: false; message: string };

export function ok<T>(value: T): Check<T> {
  return { ok: true, value };
}
export function fail<T = never>(message: string): Check<T> {
  return { ok: false, message };
}

// ---------------------------------------------------------------- limits

/** NVMF_NQN_SIZE: an NQN is at most 223 bytes of UTF-8. */
export const NQN_MAX_BYTES = 223;
/** The well-known discovery subsystem NQN (a subsystem may not take it). */
export const DISCOVERY_NQN = 'nqn.2014-08.org.nvmexpress.discovery';
/** NVMET_SN_MAX_SIZE */
export const SERIAL_MAX = 20;
/** NVMET_MN_MAX_SIZE */
export const MODEL_MAX = 40;
/** NVMET_FR_MAX_SIZE */
export const FIRMWARE_MAX = 8;
/** NVME_CNTLID_MAX: 0xfff0..0xffff are reserved. */
export const CNTLID_MAX = 0xffef;
/** NSID 0 is invalid and 0xffffffff means "all namespaces". */
export const NSID_MAX = 0xfffffffe;
/** Port IDs are 16-bit (the Discovery Log Page PORTID field). */
export const PORTID_MAX = 0xffff;
/** NVMET_MAX_ANAGRPS */
export const ANA_GRPID_MAX = 128;
/** NVMET_NR_QUEUES */
export const QID_MAX = 128;
/** NVMF_TRADDR_SIZE less the terminating NUL. */
export const TRADDR_MAX = 255;
/** NVMF_TRSVCID_SIZE less the terminating NUL. */
export const TRSVCID_MAX = 31;
/** Largest in-capsule data size nvmet-ts accepts for a port (1 MiB). */
export const INLINE_DATA_SIZE_MAX = 1 << 20;
/** PATH_MAX less the NUL. */
export const PATH_MAX = 4095;
/** Logical block sizes nvmet-ts namespaces can have. */
export const BLOCK_SIZES = [512, 4096] as const;
export type BlockSize = (typeof BLOCK_SIZES)[number];

// ---------------------------------------------------------------- scalars

/**
 * A boolean as the kernel's kstrtobool reads it, but strict: JSON true/false,
 * 0/1, or one of "0" "1" "y" "n" "yes" "no" "true" "false" "on" "off" (any case).
 * (kstrtobool itself looks only at the first characters, so "nonsense" would be
 * false; a typo should be an error instead.)
 */
export function parseBool(v: unknown): Check<boolean> {
  if (typeof v === 'boolean') return ok(v);
  if (v === 0 || v === 1) return ok(v === 1);
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['1', 'y', 'yes', 'true', 'on'].includes(s)) return ok(true);
    if (['0', 'n', 'no', 'false', 'off'].includes(s)) return ok(false);
  }
  return fail(`must be a boolean ("0" or "1"), got ${showValue(v)}`);
}

/**
 * An integer in [min, max], given as a JSON number or as a decimal string (how
 * nvmetcli stores attributes). `hex` also admits "0x…" strings (kstrtou*(…, 0)).
 */
export function parseIntIn(v: unknown, min: number, max: number, opts: { hex?: boolean } = {}): Check<number> {
  const range = `an integer ${min}..${max}`;
  let n: number;
  if (typeof v === 'number') {
    n = v;
  } else if (typeof v === 'string') {
    const s = v.trim();
    if (/^[+-]?[0-9]{1,20}$/.test(s)) n = Number(s);
    else if (opts.hex && /^0[xX][0-9a-fA-F]{1,16}$/.test(s)) n = parseInt(s.slice(2), 16);
    else return fail(`must be ${range}, got ${showValue(v)}`);
  } else {
    return fail(`must be ${range}, got ${jsonTypeName(v)}`);
  }
  if (!Number.isInteger(n) || n < min || n > max) return fail(`must be ${range}, got ${showValue(v)}`);
  return ok(n);
}

/** A string of printable ASCII (0x20..0x7e), as the kernel requires for serial, model and firmware. */
export function parsePrintableAscii(v: unknown, what: string, min: number, max: number): Check<string> {
  if (typeof v !== 'string') return fail(`${what} must be a string, got ${jsonTypeName(v)}`);
  if (v.length < min) return fail(`${what} must not be empty`);
  if (v.length > max) return fail(`${what} must be at most ${max} characters, got ${v.length}`);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return fail(`${what} must be printable ASCII, got ${showValue(v)}`);
  }
  return ok(v);
}

export function parseSerial(v: unknown): Check<string> {
  return parsePrintableAscii(v, 'serial number', 1, SERIAL_MAX);
}
export function parseModel(v: unknown): Check<string> {
  return parsePrintableAscii(v, 'model number', 1, MODEL_MAX);
}
export function parseFirmware(v: unknown): Check<string> {
  return parsePrintableAscii(v, 'firmware revision', 1, FIRMWARE_MAX);
}

/**
 * The subsystem's NVMe version (VS register): "major.minor" or
 * "major.minor.tertiary". Returned in the kernel's show format, which omits a
 * zero tertiary: "1.3.0" → "1.3".
 */
export function parseVersion(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be a version string like "1.3", got ${jsonTypeName(v)}`);
  const m = /^([0-9]{1,5})\.([0-9]{1,3})(?:\.([0-9]{1,3}))?$/.exec(v.trim());
  if (!m) return fail(`must be a version like "1.3" or "2.0.1", got ${showValue(v)}`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const tertiary = m[3] === undefined ? 0 : Number(m[3]);
  if (major > 0xffff || minor > 0xff || tertiary > 0xff || major < 1) {
    return fail(`must be a version with major 1..65535, minor and tertiary 0..255, got ${showValue(v)}`);
  }
  return ok(tertiary ? `${major}.${minor}.${tertiary}` : `${major}.${minor}`);
}

/** The VS register value (major << 16 | minor << 8 | tertiary) of a parsed version string. */
export function versionToVs(version: string): number {
  const [a, b, c] = version.split('.').map(Number) as [number, number, number | undefined];
  return ((a << 16) | (b << 8) | (c ?? 0)) >>> 0;
}

// ---------------------------------------------------------------- NQN

const NQN_FORMAT = /^nqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[^:\s]+(:.+)?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface NqnCheck {
  nqn: string;
  /**
   * Set when the NQN is usable but not in an NVMe-spec format ("nqn.yyyy-mm.domain:…"
   * or "nqn.2014-08.org.nvmexpress:uuid:<uuid>"). Linux accepts such names
   * ("testnqn" is common in nvmetcli files), so this is a warning, not an error.
   */
  warning?: string;
}

/**
 * An NQN usable as a subsystem or host name: 1..223 bytes of UTF-8, no control
 * characters, no '/' (it names a configfs directory in Linux), not "." or "..".
 */
export function parseNqn(v: unknown): Check<NqnCheck> {
  if (typeof v !== 'string') return fail(`NQN must be a string, got ${jsonTypeName(v)}`);
  if (v.length === 0) return fail('NQN must not be empty');
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes > NQN_MAX_BYTES) return fail(`NQN must be at most ${NQN_MAX_BYTES} bytes, got ${bytes}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) return fail(`NQN must not contain control characters, got ${showValue(v)}`);
  if (v.includes('/')) return fail(`NQN must not contain '/', got ${showValue(v)}`);
  if (/\s/.test(v)) return fail(`NQN must not contain whitespace, got ${showValue(v)}`);
  if (v === '.' || v === '..') return fail(`NQN must not be ${showValue(v)}`);
  if (v.startsWith('nqn.2014-08.org.nvmexpress:uuid:')) {
    const id = v.slice('nqn.2014-08.org.nvmexpress:uuid:'.length);
    if (!UUID_RE.test(id)) return ok({ nqn: v, warning: 'UUID-based NQN does not end in a well-formed UUID' });
    return ok({ nqn: v });
  }
  if (!NQN_FORMAT.test(v)) {
    return ok({ nqn: v, warning: 'not in NVMe NQN format "nqn.yyyy-mm.reverse.domain:name" (accepted, as Linux does)' });
  }
  return ok({ nqn: v });
}

// ---------------------------------------------------------------- identifiers

/** A namespace UUID in uuid_parse's format; returned lowercase as the kernel shows it (%pUb). */
export function parseUuid(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be a UUID string, got ${jsonTypeName(v)}`);
  if (!UUID_RE.test(v)) return fail(`must be a UUID like "2f3c6d4e-0b1a-4c5d-8e9f-a0b1c2d3e4f5", got ${showValue(v)}`);
  return ok(v.toLowerCase());
}

/**
 * A namespace NGUID: 16 bytes as hex pairs, each optionally followed by '-' or ':'
 * (the kernel's parser). Returned in the kernel's show format (%pUb), e.g.
 * "00000000-0000-0000-0000-000000000000".
 */
export function parseNguid(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be an NGUID string, got ${jsonTypeName(v)}`);
  const bytes: string[] = [];
  let p = 0;
  for (let i = 0; i < 16; i++) {
    const pair = v.slice(p, p + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) return fail(`must be 16 hex bytes (32 hex digits), got ${showValue(v)}`);
    bytes.push(pair.toLowerCase());
    p += 2;
    if (v[p] === '-' || v[p] === ':') p++;
  }
  if (p !== v.length) return fail(`must be 16 hex bytes (32 hex digits), got ${showValue(v)}`);
  const h = bytes.join('');
  return ok(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
}

/**
 * A namespace EUI-64: 8 bytes as hex pairs, each optionally followed by '-' or ':'
 * (the NGUID parser's rule). Returned as 16 lowercase hex digits, as nvme-cli prints it.
 */
export function parseEui64(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be an EUI-64 string, got ${jsonTypeName(v)}`);
  let h = '';
  let p = 0;
  for (let i = 0; i < 8; i++) {
    const pair = v.slice(p, p + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) return fail(`must be 8 hex bytes (16 hex digits), got ${showValue(v)}`);
    h += pair.toLowerCase();
    p += 2;
    if (i < 7 && (v[p] === '-' || v[p] === ':')) p++;
  }
  if (p !== v.length) return fail(`must be 8 hex bytes (16 hex digits), got ${showValue(v)}`);
  return ok(h);
}

/** True for the all-zero NGUID/UUID the kernel shows when none is set. */
export function isZeroId(id: string): boolean {
  return /^[0-]+$/.test(id);
}

/**
 * A PCI function address (BDF) as Linux names it (pci_name): "dddd:bb:dd.f" in
 * lowercase hex (device 00..1f, function 0..7). The short form "bb:dd.f" (domain
 * 0000) and uppercase are accepted and returned in the canonical form.
 */
export function parseBdf(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be a PCI address string like "0000:03:00.0", got ${jsonTypeName(v)}`);
  const m = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/.exec(v);
  if (!m || parseInt(m[3]!, 16) > 0x1f) {
    return fail(`must be a PCI address "dddd:bb:dd.f" like "0000:03:00.0", got ${showValue(v)}`);
  }
  return ok(`${(m[1] ?? '0000').toLowerCase()}:${m[2]!.toLowerCase()}:${m[3]!.toLowerCase()}.${m[4]}`);
}

// ---------------------------------------------------------------- transport addresses

export const TRTYPES = ['rdma', 'fc', 'tcp', 'pci', 'loop'] as const;
export type TrType = (typeof TRTYPES)[number];
export const ADRFAMS = ['pcie', 'ipv4', 'ipv6', 'ib', 'fc', 'pci', 'loop'] as const;
export type AdrFam = (typeof ADRFAMS)[number];
/** configfs dhchap_hash / dhchap_dhgroup names (drivers/nvme/common/auth.c hash_map, dhgroup_map). */
export const DHCHAP_HASHES = ['hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)'] as const;
export type DhchapHashName = (typeof DHCHAP_HASHES)[number];
export const DHCHAP_GROUPS = ['null', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192'] as const;
export type DhchapGroupName = (typeof DHCHAP_GROUPS)[number];

/**
 * A DH-HMAC-CHAP secret as configfs dhchap_key accepts it (nvmet_auth_set_key +
 * nvme_auth_extract_key); "" = no key. The message never repeats the secret.
 */
export function parseDhchapSecretAttr(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be a string, got ${jsonTypeName(v)}`);
  if (v === '') return ok('');
  try {
    parseDhchapSecret(v);
  } catch (e) {
    if (e instanceof DhchapSecretError) return fail(`not a usable DH-HMAC-CHAP secret: ${e.message}`);
    throw e;
  }
  return ok(v.trim());
}

/**
 * A configured TLS PSK in the interchange form; "" = none. Only keys used with
 * TLS_AES_128_GCM_SHA256 (hash 01, or 00 with a 32-byte key): see target/tcp/tls-accept.ts.
 */
export function parseTlsPskAttr(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be a string, got ${jsonTypeName(v)}`);
  if (v === '') return ok('');
  try {
    const p = parseTlsPsk(v);
    if (pskCipher(p) !== 1) {
      return fail('TLS PSKs for TLS_AES_256_GCM_SHA384 (hash 02 or 48-byte keys) are not supported by nvmet-ts (node:tls PSKs pair with TLS_AES_128_GCM_SHA256 only)');
    }
  } catch (e) {
    if (e instanceof TlsPskError) return fail(`not a usable TLS PSK: ${e.message}`);
    throw e;
  }
  return ok(v.trim());
}

export const TREQS = ['not specified', 'required', 'not required'] as const;
export type Treq = (typeof TREQS)[number];
export const TSAS = ['none', 'tls1.3', 'connected', 'datagram'] as const;
export type Tsas = (typeof TSAS)[number];
export const ANA_STATES = ['optimized', 'non-optimized', 'inaccessible', 'persistent-loss', 'change'] as const;
export type AnaState = (typeof ANA_STATES)[number];
/** Transports nvmet-ts provides (TCP for real, RDMA simulated, loop in-process). */
export const SUPPORTED_TRTYPES: readonly string[] = ['tcp', 'rdma', 'loop'];

/**
 * One of a fixed set of names, or "" (what the kernel shows for "not set").
 */
export function parseEnum<T extends string>(v: unknown, names: readonly T[]): Check<T | ''> {
  if (typeof v !== 'string') return fail(`must be one of ${names.map((n) => `"${n}"`).join(', ')}, got ${jsonTypeName(v)}`);
  if (v === '' || (names as readonly string[]).includes(v)) return ok(v as T | '');
  return fail(`must be one of ${names.map((n) => `"${n}"`).join(', ')}, got ${showValue(v)}`);
}

/** A transport address string: at most 255 characters, no whitespace (the kernel reads it with %s). */
export function parseTraddr(v: unknown): Check<string> {
  if (typeof v !== 'string') return fail(`must be a string, got ${jsonTypeName(v)}`);
  if (v.length > TRADDR_MAX) return fail(`must be at most ${TRADDR_MAX} characters, got ${v.length}`);
  if (/\s|\u0000/.test(v)) return fail(`must not contain whitespace, got ${showValue(v)}`);
  return ok(v);
}

/** A transport service id string: at most 31 characters, no whitespace. */
export function parseTrsvcid(v: unknown): Check<string> {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff) return ok(String(v));
  if (typeof v !== 'string') return fail(`must be a string, got ${jsonTypeName(v)}`);
  if (v.length > TRSVCID_MAX) return fail(`must be at most ${TRSVCID_MAX} characters, got ${v.length}`);
  if (/\s|\u0000/.test(v)) return fail(`must not contain whitespace, got ${showValue(v)}`);
  return ok(v);
}

/** An IP address of the given family, as nvmet-tcp/rdma would bind it. IPv6 may carry a %zone. */
export function checkIpAddress(adrfam: string, traddr: string): string | undefined {
  if (adrfam === 'ipv4') return isIPv4(traddr) ? undefined : `must be an IPv4 address for adrfam "ipv4", got ${showValue(traddr)}`;
  if (adrfam === 'ipv6') return isIPv6(traddr) ? undefined : `must be an IPv6 address for adrfam "ipv6", got ${showValue(traddr)}`;
  return undefined;
}

/**
 * A TCP/RDMA service id: a decimal port 0..65535. Port 0 is an nvmet-ts extension
 * meaning "any free port" (the bound port is reported at startup); tests use it.
 */
export function checkIpPort(trsvcid: string): string | undefined {
  if (!/^[0-9]{1,5}$/.test(trsvcid) || Number(trsvcid) > 0xffff) {
    return `must be a decimal port number 0..65535, got ${showValue(trsvcid)}`;
  }
  return undefined;
}

// ---------------------------------------------------------------- backing store

export type BackingSpec =
  /** Memory-backed namespace of `bytes` bytes ("ram:1G"). */
  | { kind: 'ram'; bytes: number }
  /** File- or block-device-backed namespace (path as written, relative paths unresolved). */
  | { kind: 'file'; path: string };

const SIZE_SUFFIX: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A size like "512M", "1G", "4096", "2T" (binary multiples, like the kernel's memparse). */
export function parseSize(s: string): Check<number> {
  const m = /^([0-9]{1,16})([kmgtKMGT]?)$/.exec(s);
  if (!m) return fail(`must be a size like "512M" or "1G" (suffixes K, M, G, T), got ${showValue(s)}`);
  const bytes = Number(m[1]) * SIZE_SUFFIX[m[2]!.toLowerCase()]!;
  if (bytes <= 0) return fail('size must be greater than 0');
  if (!Number.isSafeInteger(bytes)) return fail(`size ${showValue(s)} is too large`);
  return ok(bytes);
}

/**
 * What a namespace's `device.path` names: "ram:SIZE" for a RAM namespace,
 * anything else is a file or block device path. The path must be non-empty, at
 * most PATH_MAX, and free of NUL bytes; other checks belong to
 * `validateBackingPath` (hostile input) or to opening the file.
 */
export function parseBackingSpec(v: unknown): Check<BackingSpec> {
  if (typeof v !== 'string') return fail(`must be a string ("ram:1G" or a file path), got ${jsonTypeName(v)}`);
  if (v.startsWith('ram:')) {
    const size = parseSize(v.slice(4));
    return size.ok ? ok({ kind: 'ram', bytes: size.value }) : fail(`RAM backing ${size.message}`);
  }
  if (v.length === 0) return fail('must not be empty');
  if (v.length > PATH_MAX) return fail(`path must be at most ${PATH_MAX} characters, got ${v.length}`);
  if (v.includes('\u0000')) return fail('path must not contain NUL bytes');
  return ok({ kind: 'file', path: v });
}

export interface BackingPathPolicy {
  /**
   * Directories a file path must resolve into (after joining with `baseDir`).
   * Omitted: any location, but `..` segments and NUL bytes are still refused.
   */
  allowedDirs?: readonly string[];
  /** Directory relative paths are resolved against (default: the first allowed dir, else cwd). */
  baseDir?: string;
}

/**
 * Strict check of a backing file path for untrusted callers (the management
 * API): refuses NUL bytes, any `..` segment (even one that would stay inside),
 * over-long paths, and — when `allowedDirs` is given — anything that does not
 * resolve inside one of those directories. Returns the absolute path.
 * Symlinks are not followed here; the opener should use O_NOFOLLOW or realpath.
 */
export function validateBackingPath(path: string, policy: BackingPathPolicy = {}): Check<string> {
  if (typeof path !== 'string') return fail(`path must be a string, got ${jsonTypeName(path)}`);
  if (path.length === 0) return fail('path must not be empty');
  if (path.length > PATH_MAX) return fail(`path must be at most ${PATH_MAX} characters, got ${path.length}`);
  if (path.includes('\u0000')) return fail('path must not contain NUL bytes');
  if (path.split(/[\\/]/).includes('..')) return fail(`path must not contain ".." segments, got ${showValue(path)}`);
  const dirs = policy.allowedDirs;
  const base = policy.baseDir ?? (dirs && dirs.length > 0 ? dirs[0]! : process.cwd());
  const abs = isAbsolute(path) ? resolvePath(path) : resolvePath(base, path);
  if (dirs) {
    const inside = dirs.some((d) => {
      const rel = relativePath(resolvePath(d), abs);
      return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
    });
    if (!inside) return fail(`path must be inside ${dirs.map((d) => showValue(d, 80)).join(' or ')}, got ${showValue(path)}`);
  }
  return ok(abs);
}
