/**
 * resolveConfig: a loaded NvmetConfig → the fully defaulted values the target
 * core builds subsystems, namespaces and ports from.
 *
 * Defaults follow the Linux target where it has one (allow_any_host off, model
 * "Linux", cntlid 1..0xffef, ANA group 1, treq "not specified"), except where
 * Linux picks something random per boot: nvmet-ts derives the serial number and
 * the namespace UUID from the NQN (and nsid) instead, so a target restarted from
 * the same file identifies itself the same way to hosts.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { HostConfig, NamespaceConfig, NvmetConfig, P2pmemSetting, PortConfig, PortParam, SubsystemConfig, TopologyRef } from './types.js';
import { configWork } from './work.js';
import {
  CNTLID_MAX,
  QID_MAX,
  parseBackingSpec,
  versionToVs,
  type AdrFam,
  type AnaState,
  type BackingSpec,
  type BlockSize,
  type Treq,
  type Tsas,
  type DhchapGroupName,
  type DhchapHashName,
  type TrType,
} from './validators.js';
import type { PortLimits } from '../core/fabrics-ops.js';
import type { FaultRuleSpec } from '../fault/rule.js';

export const DEFAULTS = {
  allowAnyHost: false,
  model: 'Linux',
  version: '1.3',
  firmware: '1.0',
  cntlidMin: 1,
  cntlidMax: CNTLID_MAX,
  qidMax: QID_MAX,
  ieeeOui: 0,
  vendorId: 0,
  subsysVendorId: 0,
  anaGrpid: 1,
  blockSize: 512 as BlockSize,
  treq: 'not specified' as Treq,
  /** -1: let the transport choose (nvmet-tcp: 16 KiB). */
  inlineDataSize: -1,
  maxQueueSize: -1,
  allowP2pmem: false,
  p2pmem: false as P2pmemSetting,
  nguid: '00000000-0000-0000-0000-000000000000',
} as const;

export interface ResolvedNamespace {
  nsid: number;
  enabled: boolean;
  /** File paths made absolute against the config's directory. Unset for a disabled namespace without a path. */
  backing: BackingSpec | null;
  blockSize: BlockSize;
  uuid: string;
  nguid: string;
  anaGrpid: number;
  /** resv/enable: persistent reservations on this namespace (Linux resv_enable, default off). */
  resv: boolean;
  p2pmem: P2pmemSetting;
  /** BDF of the NVMe SSD the media lives on; undefined = the runtime places it. */
  nvme?: string;
  /** nvmet_ts.eui64 (an nvmet-ts extension; Linux nvmet has none): 16 hex digits, or undefined = not reported. */
  eui64?: string;
}

export interface ResolvedSubsystem {
  nqn: string;
  allowAnyHost: boolean;
  allowedHosts: string[];
  serial: string;
  model: string;
  firmware: string;
  /** "1.3" */
  version: string;
  /** VS register value of `version`. */
  vs: number;
  cntlidMin: number;
  cntlidMax: number;
  qidMax: number;
  ieeeOui: number;
  vendorId: number;
  subsysVendorId: number;
  piEnable: boolean;
  namespaces: ResolvedNamespace[];
}

export interface ResolvedPort {
  portid: number;
  trtype: TrType | '';
  adrfam: AdrFam | '';
  traddr: string;
  /** Decimal port for tcp/rdma; "0" = any free port. */
  trsvcid: string;
  treq: Treq | '';
  /** TSAS when the file sets one ("tls1.3": NVMe/TCP TLS). */
  tsas?: Tsas;
  inlineDataSize: number;
  maxQueueSize: number;
  allowP2pmem: boolean;
  /** Transport limits and timeouts the port's `param` sets (absent when it sets none). */
  limits?: PortLimits;
  /** BDF of the NIC; undefined = the runtime places it. */
  nic?: string;
  subsystems: string[];
  /** ana_groups beyond the implicit group 1 (and group 1 when the document names it), ascending. */
  anaGroups: { grpid: number; state: AnaState }[];
  referrals: { name: string; trtype: TrType | ''; adrfam: AdrFam | ''; traddr: string; trsvcid: string; portid: number; enabled: boolean }[];
}

/** A host's DH-HMAC-CHAP settings with Linux's defaults (hash hmac(sha256), dhgroup null). */
export interface ResolvedHostDhchap {
  key: string;
  ctrlKey: string;
  hash: DhchapHashName;
  dhgroup: DhchapGroupName;
}

export interface ResolvedConfig {
  hosts: string[];
  /** Hosts that have a DH-HMAC-CHAP key (dhchap.key set), by NQN. */
  hostDhchap: Record<string, ResolvedHostDhchap>;
  /** Hosts' configured TLS PSKs (nvmet_ts.tls_psk), by NQN. */
  hostTlsPsk: Record<string, string>;
  subsystems: ResolvedSubsystem[];
  ports: ResolvedPort[];
  topology?: TopologyRef;
  /** Fault rules of `nvmet_ts.faults` (target/fault/). */
  faults?: readonly FaultRuleSpec[];
}

/** 16 hex digits derived from the NQN (Linux: random at subsystem creation). */
export function defaultSerial(nqn: string): string {
  return createHash('sha256').update(`nvmet-ts serial\0${nqn}`).digest('hex').slice(0, 16);
}

/** A version-8 (RFC 9562 custom) UUID derived from subsystem NQN and nsid (Linux: random). */
export function defaultNamespaceUuid(nqn: string, nsid: number): string {
  const h = createHash('sha256').update(`nvmet-ts ns uuid\0${nqn}\0${nsid}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The limits a port's `param` sets, for the transport (unset keys stay unset). */
function portLimits(p: PortParam | undefined): PortLimits {
  if (p === undefined) return {};
  const l: { -readonly [K in keyof PortLimits]: number } = {};
  if (p.icreqTimeoutMs !== undefined) l.icreqTimeoutMs = p.icreqTimeoutMs;
  if (p.connectTimeoutMs !== undefined) l.connectTimeoutMs = p.connectTimeoutMs;
  if (p.pduTimeoutMs !== undefined) l.pduTimeoutMs = p.pduTimeoutMs;
  if (p.maxConnections !== undefined) l.maxConnections = p.maxConnections;
  if (p.queueDataLimit !== undefined) l.queueDataLimit = p.queueDataLimit;
  if (p.queueR2tLimit !== undefined) l.queueR2tLimit = p.queueR2tLimit;
  return l;
}

/** A namespace of subsystem `nqn` with its defaults (the default UUID derives from both). */
export function resolveNamespace(nqn: string, ns: NamespaceConfig, baseDir: string): ResolvedNamespace {
  configWork.resolved++;
  let backing: BackingSpec | null = null;
  const p = ns.device.path;
  if (p !== undefined && p !== '' && p !== '(null)') {
    const spec = parseBackingSpec(p);
    if (spec.ok) {
      backing = spec.value.kind === 'file' && !isAbsolute(spec.value.path)
        ? { kind: 'file', path: resolvePath(baseDir, spec.value.path) }
        : spec.value;
    }
  }
  const r: ResolvedNamespace = {
    nsid: ns.nsid,
    enabled: ns.enable,
    backing,
    blockSize: ns.nvmetTs?.blockSize ?? DEFAULTS.blockSize,
    uuid: ns.device.uuid ?? defaultNamespaceUuid(nqn, ns.nsid),
    nguid: ns.device.nguid ?? DEFAULTS.nguid,
    anaGrpid: ns.anaGrpid ?? ns.ana?.grpid ?? DEFAULTS.anaGrpid,
    resv: ns.resv?.enable ?? false,
    p2pmem: ns.p2pmem ?? DEFAULTS.p2pmem,
  };
  if (ns.nvmetTs?.nvme !== undefined) r.nvme = ns.nvmetTs.nvme;
  if (ns.nvmetTs?.eui64 !== undefined) r.eui64 = ns.nvmetTs.eui64;
  return r;
}

/** A subsystem and its namespaces with their defaults. `ns` resolves one namespace (a cache may answer). */
export function resolveSubsystem(
  s: SubsystemConfig,
  baseDir: string,
  ns: (nqn: string, n: NamespaceConfig) => ResolvedNamespace = (nqn, n) => resolveNamespace(nqn, n, baseDir),
): ResolvedSubsystem {
  configWork.resolved++;
  const a = s.attr;
  const version = a.version ?? DEFAULTS.version;
  return {
    nqn: s.nqn,
    allowAnyHost: a.allowAnyHost ?? DEFAULTS.allowAnyHost,
    allowedHosts: [...s.allowedHosts],
    serial: a.serial ?? defaultSerial(s.nqn),
    model: a.model ?? DEFAULTS.model,
    firmware: a.firmware ?? DEFAULTS.firmware,
    version,
    vs: versionToVs(version),
    cntlidMin: a.cntlidMin ?? DEFAULTS.cntlidMin,
    cntlidMax: a.cntlidMax ?? DEFAULTS.cntlidMax,
    qidMax: a.qidMax ?? DEFAULTS.qidMax,
    ieeeOui: a.ieeeOui ?? DEFAULTS.ieeeOui,
    vendorId: a.vendorId ?? DEFAULTS.vendorId,
    subsysVendorId: a.subsysVendorId ?? DEFAULTS.subsysVendorId,
    piEnable: a.piEnable ?? false,
    namespaces: s.namespaces.map((n) => ns(s.nqn, n)),
  };
}

/** A port with its defaults. */
export function resolvePort(p: PortConfig): ResolvedPort {
  configWork.resolved++;
  const r: ResolvedPort = {
    portid: p.portid,
    trtype: p.addr.trtype ?? '',
    adrfam: p.addr.adrfam ?? '',
    traddr: p.addr.traddr ?? '',
    trsvcid: p.addr.trsvcid ?? '',
    treq: p.addr.treq ?? DEFAULTS.treq,
    ...(p.addr.tsas ? { tsas: p.addr.tsas } : {}),
    inlineDataSize: p.param?.inlineDataSize ?? DEFAULTS.inlineDataSize,
    maxQueueSize: p.param?.maxQueueSize ?? DEFAULTS.maxQueueSize,
    allowP2pmem: p.param?.allowP2pmem ?? DEFAULTS.allowP2pmem,
    subsystems: [...p.subsystems],
    anaGroups: (p.anaGroups ?? [])
      .map((g) => ({ grpid: g.grpid, state: g.ana.state === undefined || g.ana.state === '' ? ('optimized' as const) : g.ana.state }))
      .sort((a, b) => a.grpid - b.grpid),
    referrals: p.referrals.map((ref) => ({
      name: ref.name,
      trtype: ref.addr.trtype ?? '',
      adrfam: ref.addr.adrfam ?? '',
      traddr: ref.addr.traddr ?? '',
      trsvcid: ref.addr.trsvcid ?? '',
      portid: ref.addr.portid ?? 0,
      enabled: ref.enable ?? false,
    })),
  };
  if (p.nvmetTs?.nic !== undefined) r.nic = p.nvmetTs.nic;
  const limits = portLimits(p.param);
  if (Object.keys(limits).length > 0) r.limits = limits;
  return r;
}

/** A host's DH-HMAC-CHAP settings with Linux's defaults; undefined without a host key. */
export function resolveHostDhchap(h: HostConfig): ResolvedHostDhchap | undefined {
  const d = h.dhchap;
  if (d === undefined || (d.key ?? '') === '') return undefined;
  return { key: d.key!, ctrlKey: d.ctrlKey ?? '', hash: d.hash || 'hmac(sha256)', dhgroup: d.dhgroup || 'null' };
}

/** A host's configured TLS PSK; undefined when none. */
export function resolveHostTlsPsk(h: HostConfig): string | undefined {
  const psk = h.nvmetTs?.tlsPsk ?? '';
  return psk !== '' ? psk : undefined;
}

/**
 * Resolved entities by identity: a configuration object is never changed in place
 * (an edit makes a new object), so its resolved form can be kept as long as the
 * object lives, and an edit resolves only what it made.
 */
export class ResolveCache {
  private readonly subsystems = new WeakMap<SubsystemConfig, ResolvedSubsystem>();
  private readonly namespaces = new WeakMap<NamespaceConfig, { nqn: string; r: ResolvedNamespace }>();
  private readonly ports = new WeakMap<PortConfig, ResolvedPort>();

  constructor(readonly baseDir: string) {}

  subsystem(s: SubsystemConfig): ResolvedSubsystem {
    let r = this.subsystems.get(s);
    if (r === undefined) {
      r = resolveSubsystem(s, this.baseDir, (nqn, n) => this.namespace(nqn, n));
      this.subsystems.set(s, r);
    }
    return r;
  }

  private namespace(nqn: string, n: NamespaceConfig): ResolvedNamespace {
    const hit = this.namespaces.get(n);
    if (hit !== undefined && hit.nqn === nqn) return hit.r;
    const r = resolveNamespace(nqn, n, this.baseDir);
    this.namespaces.set(n, { nqn, r });
    return r;
  }

  port(p: PortConfig): ResolvedPort {
    let r = this.ports.get(p);
    if (r === undefined) {
      r = resolvePort(p);
      this.ports.set(p, r);
    }
    return r;
  }
}

/** Resolve defaults. `baseDir` anchors relative backing file paths (the config file's directory). */
export function resolveConfig(config: NvmetConfig, baseDir: string = process.cwd(), cache?: ResolveCache): ResolvedConfig {
  const c = cache !== undefined && cache.baseDir === baseDir ? cache : undefined;
  const subsystems = config.subsystems.map((s) => (c !== undefined ? c.subsystem(s) : resolveSubsystem(s, baseDir)));
  const ports = config.ports.map((p) => (c !== undefined ? c.port(p) : resolvePort(p)));
  const hostDhchap: Record<string, ResolvedHostDhchap> = {};
  const hostTlsPsk: Record<string, string> = {};
  for (const h of config.hosts) {
    const d = resolveHostDhchap(h);
    if (d !== undefined) hostDhchap[h.nqn] = d;
    const psk = resolveHostTlsPsk(h);
    if (psk !== undefined) hostTlsPsk[h.nqn] = psk;
  }
  const out: ResolvedConfig = { hosts: config.hosts.map((h) => h.nqn), hostDhchap, hostTlsPsk, subsystems, ports };
  if (config.topology) out.topology = config.topology;
  if (config.faults) out.faults = config.faults;
  return out;
}
