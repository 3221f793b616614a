/**
 * parseConfig: nvmetcli JSON (+ nvmet-ts sections) → NvmetConfig, or every
 * problem found, each with the JSON path of the value at fault.
 *
 * Two passes: the structural pass reads every object against its table
 * (schema.ts) and checks what one value or one object can say on its own; the
 * cross-reference pass (duplicates, dangling NQNs, clashing listen addresses,
 * topology placement) runs only when the first found nothing, so one typo does
 * not cascade into a page of "unknown subsystem" errors.
 *
 * Unknown fields: nvmetcli restore skips keys it does not know and reports
 * attributes the kernel lacks as non-fatal errors. nvmet-ts keeps unknown keys
 * (so a file from a newer kernel/nvmetcli saves back intact) and warns about each;
 * with `unknownFields: 'reject'` (the management API) they are errors.
 */
import { IssueSink, pathIndex, pathKey, showValue, jsonTypeName, type ConfigError, type ConfigWarning } from './issues.js';
import { cloneJson, hasOwn, isJsonObject, setOwn, type JsonObject, type JsonValue } from './json.js';
import {
  ANA_GROUP_ANA,
  NAMESPACE_ANA,
  NAMESPACE_DEVICE,
  NAMESPACE_PLACEMENT,
  NAMESPACE_RESV,
  PORT_ADDR,
  HOST_DHCHAP,
  HOST_PLACEMENT,
  PORT_PARAM,
  PORT_PLACEMENT,
  REFERRAL_ADDR,
  SUBSYSTEM_ATTR,
  intNum,
  boolInt,
  p2pmemCodec,
  parseBoundedString,
  type FieldCodec,
  type GroupSpec,
} from './schema.js';
import type {
  AnaGroupConfig,
  Extras,
  HostConfig,
  HostDhchap,
  HostPlacement,
  NamespaceConfig,
  NvmetConfig,
  PortConfig,
  ReferralConfig,
  SubsystemConfig,
  TopologyRef,
} from './types.js';
import {
  ANA_GRPID_MAX,
  CNTLID_MAX,
  DISCOVERY_NQN,
  NSID_MAX,
  PATH_MAX,
  PORTID_MAX,
  SUPPORTED_TRTYPES,
  checkIpAddress,
  checkIpPort,
  isZeroId,
  parseBackingSpec,
  parseNqn,
  validateBackingPath,
  type BackingPathPolicy,
} from './validators.js';
import { pciTopologyValidator } from './pci-topology.js';
import { checkFaultPorts, readNvmetTsRoot } from './faults.js';
import { askingMember, securityField, securityRefusal, wherePath } from './unsupported-security.js';
import { checkTopologyPlacement, type TopologyCheck, type TopologyDocument, type TopologyValidator } from './topology.js';
import {
  IP_TRANSPORTS,
  duplicateHostNqn,
  duplicatePortid,
  duplicateSubsystemNqn,
  hostNotDefined,
  listenClash,
  listenKey,
  subsystemNotDefined,
} from './references.js';
import { configWork } from './work.js';

export interface ParseOptions {
  /** 'keep' (default): unknown keys are kept for the round trip, with a warning each. 'reject': errors. */
  unknownFields?: 'keep' | 'reject';
  /**
   * Strict checks for file-backed namespaces (management API): every file path
   * must pass `validateBackingPath` with this policy. Omitted: any path without
   * NUL bytes (a local admin's config file may point anywhere).
   */
  backingPaths?: BackingPathPolicy;
  /**
   * Validates the topology and answers placement questions. Default: src/pci's
   * parseTopology (pci-topology.ts). `false`: the topology is carried opaque and
   * placements are only checked for syntax.
   */
  topologyValidator?: TopologyValidator | false;
  /**
   * The document a `"topology": "file.json"` reference points to, read by the
   * caller (loadConfigFile); validated like an inline topology.
   */
  topologyDocument?: TopologyDocument;
  /** Cap on reported errors and on warnings (default 200). */
  maxIssues?: number;
}

export type ParseResult =
  | {
      ok: true;
      config: NvmetConfig;
      warnings: ConfigWarning[];
      /** The validator's parsed topology, when a validator ran on a topology. */
      topology?: unknown;
    }
  | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

/** Nesting limit for values kept opaque (unknown fields, inline topology). */
const OPAQUE_MAX_DEPTH = 64;

interface Ctx {
  readonly sink: IssueSink;
  readonly reject: boolean;
  readonly opts: ParseOptions;
}

export function parseConfig(json: unknown, opts: ParseOptions = {}): ParseResult {
  const ctx: Ctx = { sink: new IssueSink(opts.maxIssues ?? 200), reject: opts.unknownFields === 'reject', opts };
  const config = readRoot(json, ctx);
  const topology = !ctx.sink.hasErrors && config ? crossCheck(config, ctx) : undefined;
  const { errors, warnings } = ctx.sink.finish();
  if (errors.length > 0 || !config) return { ok: false, errors, warnings };
  return topology?.ok ? { ok: true, config, warnings, topology: topology.topology } : { ok: true, config, warnings };
}

// ---------------------------------------------------------------- helpers

/**
 * A key that asks for a security feature nvmet-ts lacks (unsupported-security.ts):
 * reports the error (at the first non-empty member of a group) and returns true.
 */
function refuseSecurity(ctx: Ctx, path: string, key: string, value: JsonValue): boolean {
  const f = securityField(path, key);
  if (f === undefined || !f.asks(value)) return false;
  let p = pathKey(path, key);
  const member = askingMember(value);
  if (member !== undefined) p = pathKey(p, member);
  ctx.sink.error(p, securityRefusal(f));
  return true;
}

/**
 * nvmetcli fields nvmet-ts does not model but that change nothing a host could
 * notice (so loading them with a warning hides nothing): kept for the round trip.
 * Keyed like unsupported-security.ts: "object path without indexes" + "." + key.
 */
const INERT_FIELDS: ReadonlyMap<string, string> = new Map([
]);

function unknownField(ctx: Ctx, path: string, key: string, value: unknown, extras: Extras, why?: string): void {
  const p = pathKey(path, key);
  const c = cloneJson(value, { maxDepth: OPAQUE_MAX_DEPTH });
  if ('error' in c) {
    ctx.sink.error(p, `unknown field with an unusable value: ${c.error}`);
    return;
  }
  if (refuseSecurity(ctx, path, key, c.value)) return;
  if (ctx.reject) {
    ctx.sink.error(p, why ?? 'unknown field');
    return;
  }
  // Security fields that ask for nothing (an empty TLS key, tsas "none") are inert.
  const inert = securityField(path, key) !== undefined ? 'asks for no security feature' : INERT_FIELDS.get(`${wherePath(path)}.${key}`);
  if (inert === undefined) {
    // Never run a configuration with a part nvmet-ts does not understand: it may ask for something nvmet-ts would not do.
    ctx.sink.error(p, why ?? 'unknown field: nvmet-ts does not know what it asks for (see target/config/README.md for the fields it reads)');
    return;
  }
  ctx.sink.warn(p, `${inert}; kept but ignored by nvmet-ts`);
  setOwn(extras, key, c.value);
}

function withExtras<T extends { extra?: Extras }>(obj: T, extras: Extras): T {
  if (Object.keys(extras).length > 0) obj.extra = extras;
  return obj;
}

function expectObject(raw: unknown, path: string, ctx: Ctx, what: string): JsonObject | undefined {
  if (isJsonObject(raw)) return raw;
  ctx.sink.error(path, `${what} must be an object, got ${jsonTypeName(raw)}`);
  return undefined;
}

function readField<T>(obj: JsonObject, codec: FieldCodec<T>, path: string, ctx: Ctx): T | undefined {
  if (!hasOwn(obj, codec.key)) return undefined;
  const r = codec.read(obj[codec.key]!);
  if (r.ok) return r.value;
  ctx.sink.error(pathKey(path, codec.key), r.message);
  return undefined;
}

function readRequired<T>(obj: JsonObject, codec: FieldCodec<T>, path: string, ctx: Ctx): T | undefined {
  if (!hasOwn(obj, codec.key)) {
    ctx.sink.error(pathKey(path, codec.key), 'required field is missing');
    return undefined;
  }
  return readField(obj, codec, path, ctx);
}

/** Read an attribute group against its table; unknown attributes go to `extra`. */
function readGroup<G extends { extra?: Extras }>(raw: unknown, spec: GroupSpec<G>, path: string, ctx: Ctx, what: string): G {
  const out = {} as G;
  const obj = expectObject(raw, path, ctx, what);
  if (!obj) return out;
  const byKey = new Map<string, [string, FieldCodec<unknown>]>();
  for (const [prop, codec] of Object.entries(spec) as [string, FieldCodec<unknown>][]) byKey.set(codec.key, [prop, codec]);
  const extras: Extras = {};
  for (const key of Object.keys(obj)) {
    const entry = byKey.get(key);
    if (!entry) {
      unknownField(ctx, path, key, obj[key], extras);
      continue;
    }
    const r = entry[1].read(obj[key]!);
    if (!r.ok) ctx.sink.error(pathKey(path, key), r.message);
    else if (!refuseSecurity(ctx, path, key, obj[key]!)) (out as Record<string, unknown>)[entry[0]] = r.value;
  }
  return withExtras(out, extras);
}

/**
 * Read an array item by item. The result stays aligned with the input (an item
 * that failed is `undefined`, and an error was reported) so later checks can
 * name the right index.
 */
function readArray<T>(
  raw: unknown,
  path: string,
  ctx: Ctx,
  what: string,
  item: (v: JsonValue, p: string) => T | undefined,
): (T | undefined)[] {
  if (!Array.isArray(raw)) {
    ctx.sink.error(path, `${what} must be an array, got ${jsonTypeName(raw)}`);
    return [];
  }
  return raw.map((v: JsonValue, i) => item(v, pathIndex(path, i)));
}

function defined<T>(items: readonly (T | undefined)[]): T[] {
  return items.filter((v): v is T => v !== undefined);
}

function readNqnString(v: JsonValue, path: string, ctx: Ctx): string | undefined {
  const r = parseNqn(v);
  if (!r.ok) {
    ctx.sink.error(path, r.message);
    return undefined;
  }
  if (r.value.warning) ctx.sink.warn(path, r.value.warning);
  return r.value.nqn;
}

// ---------------------------------------------------------------- root

const ROOT_KEYS = new Set(['hosts', 'ports', 'subsystems', 'topology', 'nvmet_ts']);

function readRoot(raw: unknown, ctx: Ctx): NvmetConfig | undefined {
  const obj = expectObject(raw, '$', ctx, 'the configuration');
  if (!obj) return undefined;
  const extras: Extras = {};
  const config: NvmetConfig = { hosts: [], ports: [], subsystems: [] };
  if (hasOwn(obj, 'hosts')) config.hosts = defined(readArray(obj.hosts, 'hosts', ctx, 'hosts', (v, p) => readHost(v, p, ctx)));
  if (hasOwn(obj, 'subsystems')) {
    config.subsystems = defined(readArray(obj.subsystems, 'subsystems', ctx, 'subsystems', (v, p) => readSubsystem(v, p, ctx)));
  }
  if (hasOwn(obj, 'ports')) config.ports = defined(readArray(obj.ports, 'ports', ctx, 'ports', (v, p) => readPort(v, p, ctx)));
  if (hasOwn(obj, 'topology')) {
    const t = readTopologyRef(obj.topology, ctx);
    if (t) config.topology = t;
  }
  if (hasOwn(obj, 'nvmet_ts')) {
    // Fault rules (target/config/faults.ts).
    const faults = readNvmetTsRoot(obj.nvmet_ts, (p, m) => ctx.sink.error(p, m));
    if (faults !== undefined) {
      config.faults = faults;
      checkFaultPorts(faults, config.ports, (p, m) => ctx.sink.error(p, m));
    }
  }
  for (const key of Object.keys(obj)) if (!ROOT_KEYS.has(key)) unknownField(ctx, '$', key, obj[key], extras);
  return withExtras(config, extras);
}

function readTopologyRef(raw: JsonValue | undefined, ctx: Ctx): TopologyRef | undefined {
  if (typeof raw === 'string') {
    const r = parseBoundedString(raw, PATH_MAX);
    if (!r.ok || raw.length === 0) {
      ctx.sink.error('topology', r.ok ? 'topology file path must not be empty' : r.message);
      return undefined;
    }
    return { kind: 'file', path: raw };
  }
  if (isJsonObject(raw)) {
    const c = cloneJson(raw, { maxDepth: OPAQUE_MAX_DEPTH });
    if ('error' in c) {
      ctx.sink.error('topology', c.error);
      return undefined;
    }
    return { kind: 'inline', value: c.value as JsonObject };
  }
  ctx.sink.error('topology', `must be an object (inline topology) or a topology file path, got ${jsonTypeName(raw)}`);
  return undefined;
}

// ---------------------------------------------------------------- hosts

function readHost(raw: JsonValue, path: string, ctx: Ctx): HostConfig | undefined {
  configWork.parsed++;
  const obj = expectObject(raw, path, ctx, 'a host');
  if (!obj) return undefined;
  const extras: Extras = {};
  let nqn: string | undefined;
  if (hasOwn(obj, 'nqn')) nqn = readNqnString(obj.nqn!, pathKey(path, 'nqn'), ctx);
  else ctx.sink.error(pathKey(path, 'nqn'), 'required field is missing');
  let dhchap: HostDhchap | undefined;
  if (hasOwn(obj, 'dhchap')) {
    const dpath = pathKey(path, 'dhchap');
    dhchap = readGroup(obj.dhchap, HOST_DHCHAP, dpath, ctx, 'the dhchap group');
    // Linux authenticates the controller only on top of the host (nvmet_setup_auth reads
    // dhchap_ctrl_key only after dhchap_key); a controller key alone would be ignored.
    if ((dhchap.ctrlKey ?? '') !== '' && (dhchap.key ?? '') === '') {
      ctx.sink.error(pathKey(dpath, 'ctrl_key'), 'a controller key needs a host key (dhchap.key)');
    }
  }
  let nvmetTs: HostPlacement | undefined;
  if (hasOwn(obj, 'nvmet_ts')) nvmetTs = readGroup(obj.nvmet_ts, HOST_PLACEMENT, pathKey(path, 'nvmet_ts'), ctx, 'nvmet_ts');
  for (const key of Object.keys(obj)) {
    if (key === 'nqn' || key === 'dhchap' || key === 'nvmet_ts') continue;
    // The configfs file names (dhchap_key, ...) are not nvmetcli's JSON: say where the key goes.
    const why = /^dhchap_/.test(key) ? `unknown field: DH-HMAC-CHAP settings go in the nvmetcli "dhchap" group (dhchap.${key.slice(7)})` : undefined;
    unknownField(ctx, path, key, obj[key], extras, why);
  }
  if (nqn === undefined) return undefined;
  const host: HostConfig = { nqn };
  if (dhchap !== undefined) host.dhchap = dhchap;
  if (nvmetTs !== undefined) host.nvmetTs = nvmetTs;
  return withExtras<HostConfig>(host, extras);
}

// ---------------------------------------------------------------- subsystems

const SUBSYSTEM_KEYS = new Set(['nqn', 'attr', 'allowed_hosts', 'namespaces']);

function readSubsystem(raw: JsonValue, path: string, ctx: Ctx): SubsystemConfig | undefined {
  configWork.parsed++;
  const obj = expectObject(raw, path, ctx, 'a subsystem');
  if (!obj) return undefined;
  const extras: Extras = {};
  let nqn: string | undefined;
  const nqnPath = pathKey(path, 'nqn');
  if (hasOwn(obj, 'nqn')) nqn = readNqnString(obj.nqn!, nqnPath, ctx);
  else ctx.sink.error(nqnPath, 'required field is missing');
  if (nqn === DISCOVERY_NQN) ctx.sink.error(nqnPath, 'the discovery subsystem NQN cannot be configured as a subsystem');

  const attr = hasOwn(obj, 'attr') ? readGroup(obj.attr, SUBSYSTEM_ATTR, pathKey(path, 'attr'), ctx, 'attr') : {};
  const allowedHosts = hasOwn(obj, 'allowed_hosts')
    ? readArray(obj.allowed_hosts, pathKey(path, 'allowed_hosts'), ctx, 'allowed_hosts', (v, p) => readNqnString(v, p, ctx))
    : [];
  const namespaces = hasOwn(obj, 'namespaces')
    ? readArray(obj.namespaces, pathKey(path, 'namespaces'), ctx, 'namespaces', (v, p) => readNamespace(v, p, ctx))
    : [];
  for (const key of Object.keys(obj)) {
    if (SUBSYSTEM_KEYS.has(key)) continue;
    const why = key === 'passthru' ? 'passthru subsystems are not supported by nvmet-ts' : undefined;
    unknownField(ctx, path, key, obj[key], extras, why);
  }

  // Checks within one subsystem.
  const attrPath = pathKey(path, 'attr');
  const min = attr.cntlidMin ?? 1;
  const max = attr.cntlidMax ?? CNTLID_MAX;
  if (min > max) {
    ctx.sink.error(
      pathKey(attrPath, attr.cntlidMin !== undefined ? 'cntlid_min' : 'cntlid_max'),
      `cntlid_min (${min}) must not exceed cntlid_max (${max})`,
    );
  }
  if (attr.allowAnyHost === true && allowedHosts.length > 0) {
    ctx.sink.error(
      pathKey(attrPath, 'allow_any_host'),
      'allow_any_host cannot be "1" while allowed_hosts lists hosts (Linux refuses both)',
    );
  }
  firstDuplicates(allowedHosts, (i, j) =>
    ctx.sink.error(pathIndex(pathKey(path, 'allowed_hosts'), i), `duplicate host NQN (also allowed_hosts[${j}])`),
  );
  const nsPath = pathKey(path, 'namespaces');
  firstDuplicates(
    namespaces.map((n) => n?.nsid),
    (i, j) => ctx.sink.error(pathKey(pathIndex(nsPath, i), 'nsid'), `duplicate nsid ${namespaces[i]!.nsid} (also namespaces[${j}])`),
  );
  for (const field of ['uuid', 'nguid'] as const) {
    const ids = namespaces.map((n) => n?.device[field]);
    firstDuplicates(ids, (i, j) => {
      const id = ids[i];
      if (id !== undefined && !isZeroId(id)) {
        ctx.sink.error(pathKey(pathKey(pathIndex(nsPath, i), 'device'), field), `duplicate ${field} ${id} (also namespaces[${j}])`);
      }
    });
  }
  if (nqn === undefined) return undefined;
  return withExtras<SubsystemConfig>({ nqn, attr, allowedHosts: defined(allowedHosts), namespaces: defined(namespaces) }, extras);
}

/** Call `report(i, j)` for every element i equal to an earlier element j (first occurrence). */
function firstDuplicates<T>(items: readonly T[], report: (i: number, j: number) => void): void {
  const seen = new Map<T, number>();
  items.forEach((v, i) => {
    if (v === undefined) return;
    const j = seen.get(v);
    if (j === undefined) seen.set(v, i);
    else report(i, j);
  });
}

// ---------------------------------------------------------------- namespaces

const NSID = intNum('nsid', 1, NSID_MAX);
const NS_ENABLE = boolInt('enable');
const ANA_GRPID = intNum('ana_grpid', 1, ANA_GRPID_MAX);
const NAMESPACE_KEYS = new Set(['nsid', 'enable', 'device', 'ana_grpid', 'ana', 'resv', 'p2pmem', 'nvmet_ts']);

function readNamespace(raw: JsonValue, path: string, ctx: Ctx): NamespaceConfig | undefined {
  configWork.parsed++;
  const obj = expectObject(raw, path, ctx, 'a namespace');
  if (!obj) return undefined;
  const extras: Extras = {};
  const nsid = readRequired(obj, NSID, path, ctx);
  let enable = readField(obj, NS_ENABLE, path, ctx);
  if (!hasOwn(obj, 'enable')) {
    ctx.sink.warn(pathKey(path, 'enable'), 'missing: the namespace stays disabled (as with nvmetcli restore); add "enable": 1');
    enable = false;
  }
  const devPath = pathKey(path, 'device');
  const device = hasOwn(obj, 'device') ? readGroup(obj.device, NAMESPACE_DEVICE, devPath, ctx, 'device') : {};
  const ns: NamespaceConfig = { nsid: nsid ?? 0, enable: enable ?? false, device };
  const anaGrpid = readField(obj, ANA_GRPID, path, ctx);
  if (anaGrpid !== undefined) ns.anaGrpid = anaGrpid;
  if (hasOwn(obj, 'ana')) ns.ana = readGroup(obj.ana, NAMESPACE_ANA, pathKey(path, 'ana'), ctx, 'ana');
  if (hasOwn(obj, 'resv')) ns.resv = readGroup(obj.resv, NAMESPACE_RESV, pathKey(path, 'resv'), ctx, 'resv');
  const p2pmem = readField(obj, p2pmemCodec, path, ctx);
  if (p2pmem !== undefined) ns.p2pmem = p2pmem;
  if (hasOwn(obj, 'nvmet_ts')) {
    ns.nvmetTs = readGroup(obj.nvmet_ts, NAMESPACE_PLACEMENT, pathKey(path, 'nvmet_ts'), ctx, 'nvmet_ts');
  }
  for (const key of Object.keys(obj)) if (!NAMESPACE_KEYS.has(key)) unknownField(ctx, path, key, obj[key], extras);

  if (ns.anaGrpid !== undefined && ns.ana?.grpid !== undefined && ns.anaGrpid !== ns.ana.grpid) {
    ctx.sink.warn(pathKey(path, 'ana_grpid'), `differs from ana.grpid (${ns.ana.grpid}); ana_grpid wins, as with nvmetcli restore`);
  }
  checkBacking(ns, path, ctx);
  return nsid === undefined || enable === undefined ? undefined : withExtras(ns, extras);
}

/** The kernel shows an unset device_path as "(null)"; nvmetcli saves that verbatim. */
const UNSET_PATH = '(null)';

function checkBacking(ns: NamespaceConfig, path: string, ctx: Ctx): void {
  const p = ns.device.path;
  const pathPath = pathKey(pathKey(path, 'device'), 'path');
  if (p === undefined || p === '' || p === UNSET_PATH) {
    if (ns.enable) ctx.sink.error(pathPath, 'an enabled namespace needs a backing: "ram:SIZE" or a file path');
    return;
  }
  const spec = parseBackingSpec(p);
  if (!spec.ok) {
    ctx.sink.error(pathPath, spec.message);
    return;
  }
  const blockSize = ns.nvmetTs?.blockSize ?? 512;
  if (spec.value.kind === 'ram' && spec.value.bytes % blockSize !== 0) {
    ctx.sink.error(pathPath, `RAM size ${spec.value.bytes} is not a multiple of the ${blockSize}-byte block size`);
  }
  if (spec.value.kind === 'file' && ctx.opts.backingPaths) {
    const r = validateBackingPath(spec.value.path, ctx.opts.backingPaths);
    if (!r.ok) ctx.sink.error(pathPath, r.message);
  }
}

// ---------------------------------------------------------------- ports

const PORTID = intNum('portid', 0, PORTID_MAX);
const PORT_KEYS = new Set(['portid', 'addr', 'param', 'subsystems', 'referrals', 'ana_groups', 'nvmet_ts']);

function readPort(raw: JsonValue, path: string, ctx: Ctx): PortConfig | undefined {
  configWork.parsed++;
  const obj = expectObject(raw, path, ctx, 'a port');
  if (!obj) return undefined;
  const extras: Extras = {};
  const portid = readRequired(obj, PORTID, path, ctx);
  const addrPath = pathKey(path, 'addr');
  const addr = hasOwn(obj, 'addr') ? readGroup(obj.addr, PORT_ADDR, addrPath, ctx, 'addr') : {};
  const port: PortConfig = { portid: portid ?? 0, addr, subsystems: [], referrals: [] };
  checkSecureChannel(addr, addrPath, ctx);
  if (hasOwn(obj, 'param')) port.param = readGroup(obj.param, PORT_PARAM, pathKey(path, 'param'), ctx, 'param');
  const subsystems = hasOwn(obj, 'subsystems')
    ? readArray(obj.subsystems, pathKey(path, 'subsystems'), ctx, 'subsystems', (v, p) => readNqnString(v, p, ctx))
    : [];
  const referrals = hasOwn(obj, 'referrals')
    ? readArray(obj.referrals, pathKey(path, 'referrals'), ctx, 'referrals', (v, p) => readReferral(v, p, ctx))
    : [];
  const anaGroups = hasOwn(obj, 'ana_groups')
    ? readArray(obj.ana_groups, pathKey(path, 'ana_groups'), ctx, 'ana_groups', (v, p) => readAnaGroup(v, p, ctx))
    : undefined;
  port.subsystems = defined(subsystems);
  port.referrals = defined(referrals);
  if (anaGroups) port.anaGroups = defined(anaGroups);
  if (hasOwn(obj, 'nvmet_ts')) {
    port.nvmetTs = readGroup(obj.nvmet_ts, PORT_PLACEMENT, pathKey(path, 'nvmet_ts'), ctx, 'nvmet_ts');
  }
  for (const key of Object.keys(obj)) if (!PORT_KEYS.has(key)) unknownField(ctx, path, key, obj[key], extras);

  checkPortAddr(port, addrPath, ctx);
  firstDuplicates(subsystems, (i, j) =>
    ctx.sink.error(pathIndex(pathKey(path, 'subsystems'), i), `subsystem linked twice (also subsystems[${j}])`),
  );
  firstDuplicates(
    referrals.map((r) => r?.name),
    (i, j) => ctx.sink.error(pathKey(pathIndex(pathKey(path, 'referrals'), i), 'name'), `duplicate referral name (also referrals[${j}])`),
  );
  firstDuplicates(
    (anaGroups ?? []).map((g) => g?.grpid),
    (i, j) => ctx.sink.error(pathKey(pathIndex(pathKey(path, 'ana_groups'), i), 'grpid'), `duplicate ANA group id (also ana_groups[${j}])`),
  );
  return portid === undefined ? undefined : withExtras(port, extras);
}

function checkPortAddr(port: PortConfig, addrPath: string, ctx: Ctx): void {
  const { trtype, adrfam, traddr, trsvcid } = port.addr;
  if (!trtype) {
    if (port.subsystems.length > 0) ctx.sink.error(pathKey(addrPath, 'trtype'), 'required to export subsystems through this port');
    return;
  }
  if (!SUPPORTED_TRTYPES.includes(trtype)) {
    ctx.sink.warn(pathKey(addrPath, 'trtype'), `transport "${trtype}" is not provided by nvmet-ts; the port will not be enabled`);
    return;
  }
  if (!IP_TRANSPORTS.has(trtype)) return;
  if (adrfam !== 'ipv4' && adrfam !== 'ipv6') {
    ctx.sink.error(pathKey(addrPath, 'adrfam'), `must be "ipv4" or "ipv6" for trtype "${trtype}", got ${showValue(adrfam ?? '')}`);
  } else if (!traddr) {
    ctx.sink.error(pathKey(addrPath, 'traddr'), `required for trtype "${trtype}"`);
  } else {
    const bad = checkIpAddress(adrfam, traddr);
    if (bad) ctx.sink.error(pathKey(addrPath, 'traddr'), bad);
  }
  if (!trsvcid) {
    ctx.sink.error(pathKey(addrPath, 'trsvcid'), `required for trtype "${trtype}" (e.g. "4420")`);
  } else {
    const bad = checkIpPort(trsvcid);
    if (bad) ctx.sink.error(pathKey(addrPath, 'trsvcid'), bad);
  }
}

const REFERRAL_ENABLE = boolInt('enable');
const REFERRAL_KEYS = new Set(['name', 'addr', 'enable']);

function readReferral(raw: JsonValue, path: string, ctx: Ctx): ReferralConfig | undefined {
  const obj = expectObject(raw, path, ctx, 'a referral');
  if (!obj) return undefined;
  const extras: Extras = {};
  let name: string | undefined;
  const namePath = pathKey(path, 'name');
  if (!hasOwn(obj, 'name')) ctx.sink.error(namePath, 'required field is missing');
  else if (typeof obj.name !== 'string' || obj.name === '' || obj.name.length > 255 || /[/\u0000]/.test(obj.name)) {
    ctx.sink.error(namePath, `must be a non-empty name without '/', got ${showValue(obj.name)}`);
  } else name = obj.name;
  const addrPath = pathKey(path, 'addr');
  const addr = hasOwn(obj, 'addr') ? readGroup(obj.addr, REFERRAL_ADDR, addrPath, ctx, 'addr') : {};
  const ref: ReferralConfig = { name: name ?? '', addr };
  const enable = readField(obj, REFERRAL_ENABLE, path, ctx);
  if (enable !== undefined) ref.enable = enable;
  for (const key of Object.keys(obj)) if (!REFERRAL_KEYS.has(key)) unknownField(ctx, path, key, obj[key], extras);
  if ((addr.adrfam === 'ipv4' || addr.adrfam === 'ipv6') && addr.traddr) {
    const bad = checkIpAddress(addr.adrfam, addr.traddr);
    if (bad) ctx.sink.error(pathKey(addrPath, 'traddr'), bad);
  }
  return name === undefined ? undefined : withExtras(ref, extras);
}

/**
 * addr.tsas / addr.treq as nvmet-ts implements them: TLS 1.3 on NVMe/TCP ports (Linux
 * nvmet_addr_tsas_store); a "required" secure channel needs it; other TSAS values ask
 * for something nvmet-ts does not do.
 */
function checkSecureChannel(addr: PortConfig['addr'], addrPath: string, ctx: Ctx): void {
  const tsas = addr.tsas ?? '';
  const tcp = addr.trtype === 'tcp';
  if (tsas === 'tls1.3' && !tcp) ctx.sink.error(pathKey(addrPath, 'tsas'), `"tls1.3" is for NVMe/TCP ports (trtype "tcp"), not "${addr.trtype ?? ''}"`);
  if ((tsas === 'connected' || tsas === 'datagram') && tcp) ctx.sink.error(pathKey(addrPath, 'tsas'), `NVMe/TCP TLS is "tls1.3" ("none" for plain): "${tsas}" is not an NVMe/TCP security type`);
  if ((tsas === 'connected' || tsas === 'datagram') && !tcp) ctx.sink.error(pathKey(addrPath, 'tsas'), `"${tsas}" is not implemented by nvmet-ts`);
  if (tcp && addr.treq === 'required' && tsas !== 'tls1.3') {
    ctx.sink.error(pathKey(addrPath, 'treq'), 'NVMe/TCP TLS is what a required secure channel means here: set addr.tsas "tls1.3" (nvmet-ts would otherwise accept plain connections)');
  }
}

const GRPID = intNum('grpid', 1, ANA_GRPID_MAX);

function readAnaGroup(raw: JsonValue, path: string, ctx: Ctx): AnaGroupConfig | undefined {
  const obj = expectObject(raw, path, ctx, 'an ANA group');
  if (!obj) return undefined;
  const extras: Extras = {};
  const grpid = readRequired(obj, GRPID, path, ctx);
  const ana = hasOwn(obj, 'ana') ? readGroup(obj.ana, ANA_GROUP_ANA, pathKey(path, 'ana'), ctx, 'ana') : {};
  for (const key of Object.keys(obj)) if (key !== 'grpid' && key !== 'ana') unknownField(ctx, path, key, obj[key], extras);
  return grpid === undefined ? undefined : withExtras<AnaGroupConfig>({ grpid, ana }, extras);
}

// ---------------------------------------------------------------- cross references

function crossCheck(config: NvmetConfig, ctx: Ctx): TopologyCheck | undefined {
  const sink = ctx.sink;
  configWork.checked += config.hosts.length + config.subsystems.length + config.ports.length;
  firstDuplicates(
    config.hosts.map((h) => h.nqn),
    (i, j) => sink.error(pathKey(pathIndex('hosts', i), 'nqn'), duplicateHostNqn(j)),
  );
  firstDuplicates(
    config.subsystems.map((s) => s.nqn),
    (i, j) => sink.error(pathKey(pathIndex('subsystems', i), 'nqn'), duplicateSubsystemNqn(j)),
  );
  firstDuplicates(
    config.ports.map((p) => p.portid),
    (i, j) => sink.error(pathKey(pathIndex('ports', i), 'portid'), duplicatePortid(config.ports[i]!.portid, j)),
  );

  const hostNqns = new Set(config.hosts.map((h) => h.nqn));
  config.subsystems.forEach((s, i) => {
    s.allowedHosts.forEach((h, k) => {
      if (!hostNqns.has(h)) sink.error(pathIndex(pathKey(pathIndex('subsystems', i), 'allowed_hosts'), k), hostNotDefined(h));
    });
  });

  const subsysNqns = new Set(config.subsystems.map((s) => s.nqn));
  config.ports.forEach((p, i) => {
    p.subsystems.forEach((nqn, k) => {
      if (!subsysNqns.has(nqn)) sink.error(pathIndex(pathKey(pathIndex('ports', i), 'subsystems'), k), subsystemNotDefined(nqn));
    });
  });

  const listen = config.ports.map(listenKey);
  firstDuplicates(listen, (i, j) => sink.error(pathKey(pathIndex('ports', i), 'addr'), listenClash(j, listen[i]!)));

  const validator = ctx.opts.topologyValidator === false ? undefined : (ctx.opts.topologyValidator ?? pciTopologyValidator);
  return checkTopologyPlacement(config, validator, ctx.opts.topologyDocument, sink);
}

// ---------------------------------------------------------------- single objects (management API bodies)

export type EntityResult<T> =
  | { ok: true; value: T; warnings: ConfigWarning[] }
  | { ok: false; errors: ConfigError[]; warnings: ConfigWarning[] };

/**
 * Parse one object of the config on its own (an HTTP request body), with paths
 * relative to `path` ("$" by default: errors read "nsid: …", "device.path: …").
 * Checks what the object can say about itself; references to other objects
 * (duplicate nsid in the subsystem, unknown host NQN, …) are checked by
 * parseConfig on the whole config the object is put into.
 */
function parseEntity<T>(
  read: (raw: JsonValue, path: string, ctx: Ctx) => T | undefined,
  raw: unknown,
  opts: ParseOptions,
  path: string,
): EntityResult<T> {
  const ctx: Ctx = { sink: new IssueSink(opts.maxIssues ?? 200), reject: opts.unknownFields === 'reject', opts };
  const c = cloneJson(raw, { maxDepth: OPAQUE_MAX_DEPTH });
  let value: T | undefined;
  if ('error' in c) ctx.sink.error(path, c.error);
  else value = read(c.value, path, ctx);
  const { errors, warnings } = ctx.sink.finish();
  if (errors.length > 0 || value === undefined) {
    if (errors.length === 0) errors.push({ path, message: 'invalid' });
    return { ok: false, errors, warnings };
  }
  return { ok: true, value, warnings };
}

export function parseHostJson(raw: unknown, opts: ParseOptions = {}, path = '$'): EntityResult<HostConfig> {
  return parseEntity(readHost, raw, opts, path);
}
export function parseSubsystemJson(raw: unknown, opts: ParseOptions = {}, path = '$'): EntityResult<SubsystemConfig> {
  return parseEntity(readSubsystem, raw, opts, path);
}
export function parseNamespaceJson(raw: unknown, opts: ParseOptions = {}, path = '$'): EntityResult<NamespaceConfig> {
  return parseEntity(readNamespace, raw, opts, path);
}
export function parsePortJson(raw: unknown, opts: ParseOptions = {}, path = '$'): EntityResult<PortConfig> {
  return parseEntity(readPort, raw, opts, path);
}
