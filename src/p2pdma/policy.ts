/**
 * Distance policies: may a provider's p2pmem serve a set of clients, how far is it, how
 * would the client map it, and what does the kernel print when it refuses? Each policy
 * is named for the kernel it reproduces and follows that kernel's drivers/pci/p2pdma.c:
 *
 *  v3          The 2018 series, v3 patch 01/11 (../shared/seeds/003_…, alias `same-switch`,
 *              the default). get_upstream_bridge_port() = pci_upstream_bridge() twice;
 *              pci_p2pdma_distance(): 0 for a client that is the provider, +1 per client
 *              whose upstream bridge port is the provider's, −1 at the first that differs.
 *              The series cleared ACS P2P redirect behind switches at boot, so ACS is never
 *              consulted. v3 returns `false` (0) for a provider not behind a switch after
 *              warning "not behind a PCI bridge"; as the seed digest says, that is a bug
 *              and we refuse (−1) instead.
 *  linux-4.20  The first mainline code (alias `upstream-bridge`), read from the index's
 *              torvalds/linux copy of that era: upstream_bridge_distance() walks to the
 *              nearest common upstream bridge (distance = hops on both sides); no common
 *              bridge → −1; ACS redirect on the path → −2; upstream_bridge_distance_warn()
 *              prints the reason; pci_p2pdma_distance_many() returns −1 for any refusal.
 *              Accepted pairs always map bus addresses (4.20 pci_p2pdma_map_sg).
 *  linux-6.1   Debian 12's 6.1 (6.1.192): calc_map_type_and_dist() computes the same hop
 *              distance; no ACS redirect on a common path → PCI_P2PDMA_MAP_BUS_ADDR; ACS
 *              redirect, or no common bridge, → through the host bridge, which is allowed
 *              when cpu_supports_p2pdma() (AMD family ≥ 0x17) or host_bridge_whitelist()
 *              finds the host bridge's first root-bus device in pci_p2pdma_whitelist[],
 *              else PCI_P2PDMA_MAP_NOT_SUPPORTED. No distance penalty through the bridge
 *              (5.2–5.x added 0x1000; 6.1 does not).
 *
 * pci_p2pmem_find() is the same in all three: every published provider, keep those at the
 * smallest non-negative distance (at most PAGE_SIZE / 8 ties), pick one at random.
 */

import type { PciFunction } from '../pci/model.js';
import type { CpuInfo } from '../pci/topology.js';
import { cpuSupportsP2pdma } from '../pci/boot.js';
import { commonUpstream } from '../pci/route.js';

export type P2pPolicyId = 'v3' | 'linux-4.20' | 'linux-6.1';
/** Earlier names that denote exactly one policy. */
export type P2pPolicyAlias = 'same-switch' | 'upstream-bridge';
export type P2pPolicy = P2pPolicyId | P2pPolicyAlias;

export const P2P_POLICIES: readonly P2pPolicyId[] = ['v3', 'linux-4.20', 'linux-6.1'];
export const P2P_POLICY_ALIASES: Readonly<Record<P2pPolicyAlias, P2pPolicyId>> = {
  'same-switch': 'v3',
  'upstream-bridge': 'linux-4.20',
};
/** Every accepted spelling: the policies, then their aliases. */
export const P2P_POLICY_NAMES: readonly P2pPolicy[] = [...P2P_POLICIES, ...(Object.keys(P2P_POLICY_ALIASES) as P2pPolicyAlias[])];
export const DEFAULT_POLICY: P2pPolicyId = 'v3';

/** "v3 (alias same-switch; default) | linux-4.20 (alias upstream-bridge) | linux-6.1", for usage texts. */
export function describePolicyNames(sep = ' | '): string {
  return P2P_POLICIES.map((p) => {
    const aliases = (Object.keys(P2P_POLICY_ALIASES) as P2pPolicyAlias[]).filter((a) => P2P_POLICY_ALIASES[a] === p);
    const bits = [...aliases.map((a) => `alias ${a}`), ...(p === DEFAULT_POLICY ? ['default'] : [])];
    return bits.length ? `${p} (${bits.join('; ')})` : p;
  }).join(sep);
}

/** What pci_p2pdma_distance_many() returns for every refusal. */
export const DISTANCE_INCOMPATIBLE = -1;

/** enum pci_p2pdma_map_type (6.1): how the client reaches the provider's BAR. */
export type MapType = 'bus-addr' | 'thru-host-bridge' | 'not-supported';

export type RefusalCode =
  | 'not-behind-switch'
  | 'different-switch'
  | 'no-common-upstream-bridge'
  | 'acs-redirect'
  | 'host-bridge-not-whitelisted'
  | 'no-clients';

/** One line the kernel prints (dev_printk form: "<driver> <bdf>: <message>"). */
export interface KernelLogLine {
  readonly level: 'warn' | 'debug';
  /** The device the line is printed for. */
  readonly device: string;
  readonly text: string;
  /**
   * Printed only by a verbose check (pci_p2pdma_distance(…, true), as nvmet does for an
   * explicit `p2pmem=<BDF>`); pci_p2pmem_find() checks quietly and prints the others only.
   */
  readonly verboseOnly: boolean;
}

export interface PairVerdict {
  readonly provider: string;
  readonly client: string;
  /** ≥ 0: compatible, lower is better; −1: refused (the kernel's value for every refusal). */
  readonly distance: number;
  readonly mapType: MapType;
  readonly refusal: RefusalCode | null;
  /** Why the pair was refused (null when compatible). */
  readonly reason: string | null;
  /** Remarks on an accepted pair (e.g. "through host bridge pci0000:00"). */
  readonly note: string | null;
  /** mapType === 'thru-host-bridge': TLPs cross the root complex. */
  readonly viaRootComplex: boolean;
  /** Functions with ACS redirect on the path, in the order the kernel lists them. */
  readonly acsRedirect: readonly string[];
  /** The kernel function the verdict comes from, with the version. */
  readonly rule: string;
  /** What the kernel prints for this pair (verbose lines flagged). */
  readonly log: readonly KernelLogLine[];
}

export interface ListVerdict {
  readonly provider: string;
  /** Sum over clients, or −1 when any client is refused (or the list is empty, 4.20/6.1). */
  readonly distance: number;
  readonly refusal: RefusalCode | null;
  readonly reason: string | null;
  readonly clients: readonly PairVerdict[];
  /** What this call prints, in order (verbose lines only for a verbose call). */
  readonly log: readonly KernelLogLine[];
}

/** What the policies read besides the two devices' hierarchy (a PciTopology qualifies). */
export interface PolicyEnv {
  readonly cpu: CpuInfo;
}

export interface DistanceOptions {
  /** pci_p2pdma_distance_many(…, verbose): check every client and print why each is refused. */
  readonly verbose?: boolean;
}

export function isP2pPolicy(s: unknown): s is P2pPolicy {
  return typeof s === 'string' && (P2P_POLICY_NAMES as readonly string[]).includes(s);
}

/** The policy an accepted name (policy or alias) denotes. */
export function canonicalPolicy(name: P2pPolicy): P2pPolicyId {
  return (P2P_POLICY_ALIASES as Record<string, P2pPolicyId>)[name] ?? (name as P2pPolicyId);
}

const line = (f: PciFunction, text: string, verboseOnly: boolean, level: KernelLogLine['level'] = 'warn'): KernelLogLine => ({
  level, device: f.bdf, text: `${f.driver} ${f.bdf}: ${text}`, verboseOnly,
});

interface Parts {
  distance: number;
  mapType: MapType;
  refusal: RefusalCode | null;
  reason: string | null;
  note: string | null;
  acs: readonly PciFunction[];
  rule: string;
  log: KernelLogLine[];
}

const verdict = (provider: PciFunction, client: PciFunction, p: Parts): PairVerdict => ({
  provider: provider.bdf,
  client: client.bdf,
  distance: p.refusal === null ? p.distance : DISTANCE_INCOMPATIBLE,
  mapType: p.refusal === null ? p.mapType : 'not-supported',
  refusal: p.refusal,
  reason: p.reason,
  note: p.note,
  viaRootComplex: p.refusal === null && p.mapType === 'thru-host-bridge',
  acsRedirect: p.acs.map((f) => f.bdf),
  rule: p.rule,
  log: p.log,
});

// ---------------------------------------------------------------------------
// v3 (the seed series)

/** v3 get_upstream_bridge_port(): pci_upstream_bridge(pci_upstream_bridge(dev)). */
export function upstreamBridgePort(f: PciFunction): PciFunction | null {
  return f.upstream?.upstream ?? null;
}

function notBehindSwitch(f: PciFunction): string {
  const up = f.upstream;
  if (up === null) return `not behind a switch: ${f.bdf} is on root bus ${f.hostBridge.name} (no upstream bridge)`;
  return `not behind a switch: ${f.bdf} sits directly under ${up.role === 'root-port' ? 'root port' : 'bridge'} ${up.bdf}`;
}

const V3_MATCH = 'v3 __upstream_bridges_match()';

/** v3 __upstream_bridges_match(upstream, client): 1 when the client's upstream bridge port is `upstream`. */
function v3Match(provider: PciFunction, up: PciFunction, client: PciFunction): Parts {
  const cu = upstreamBridgePort(client);
  const base = { mapType: 'bus-addr' as const, note: null, acs: [], rule: V3_MATCH };
  if (cu === null) {
    return { ...base, distance: -1, refusal: 'not-behind-switch', reason: notBehindSwitch(client), log: [line(client, 'not a PCI device behind a bridge', false, 'debug')] };
  }
  if (cu !== up) {
    return {
      ...base, distance: -1, refusal: 'different-switch', reason: `different switch: ${up.bdf} vs ${cu.bdf}`,
      log: [line(client, 'does not reside on the same upstream bridge', false, 'debug')],
    };
  }
  return { ...base, distance: 1, refusal: null, reason: null, note: `same switch (upstream port ${up.bdf})`, log: [] };
}

/** v3 upstream_bridges_match(provider, client), as pci_p2pdma_add_client() uses it. */
function v3Pair(provider: PciFunction, client: PciFunction): Parts {
  if (provider === client) {
    return { distance: 0, mapType: 'bus-addr', refusal: null, reason: null, note: 'the provider is this client', acs: [], rule: 'v3 upstream_bridges_match()', log: [] };
  }
  const up = upstreamBridgePort(provider);
  if (up === null) {
    return {
      distance: -1, mapType: 'not-supported', refusal: 'not-behind-switch', reason: notBehindSwitch(provider), note: null, acs: [],
      rule: 'v3 upstream_bridges_match()', log: [line(provider, 'not behind a PCI bridge', false)],
    };
  }
  return v3Match(provider, up, client);
}

/** v3 pci_p2pdma_distance(provider, clients). */
function v3List(provider: PciFunction, clients: readonly PciFunction[]): ListVerdict {
  const pairs = clients.map((c) => verdict(provider, c, v3Pair(provider, c)));
  const up = upstreamBridgePort(provider);
  if (up === null) {
    // v3 warns and returns false (0) here; we refuse (see the header).
    return { provider: provider.bdf, distance: -1, refusal: 'not-behind-switch', reason: notBehindSwitch(provider), clients: pairs, log: [line(provider, 'not behind a PCI bridge', false)] };
  }
  let distance = 0;
  for (const c of clients) {
    if (c === provider) continue;
    const m = v3Match(provider, up, c);
    if (m.refusal !== null) {
      return { provider: provider.bdf, distance: -1, refusal: m.refusal, reason: `${c.bdf}: ${m.reason}`, clients: pairs, log: m.log };
    }
    distance += m.distance;
  }
  return { provider: provider.bdf, distance, refusal: null, reason: null, clients: pairs, log: [] };
}

// ---------------------------------------------------------------------------
// linux-4.20 and linux-6.1: the same walk to the nearest common upstream bridge

/**
 * The ACS list as the kernel prints it: "bdf;bdf;…" in a seq_buf of `size` bytes, final
 * semicolon dropped. On overflow the kernel prints what vsnprintf fit (size − 1 chars).
 */
function acsListText(acs: readonly PciFunction[], size: number): string {
  const full = acs.map((f) => `${f.bdf};`).join('');
  return full.length <= size - 1 ? full.slice(0, -1) : full.slice(0, size - 1);
}

function describeNoCommon(provider: PciFunction, client: PciFunction): string {
  const top = (f: PciFunction): string => {
    const rp = f.rootPort;
    return rp ? `under root port ${rp.bdf}` : `on root bus ${f.hostBridge.name}`;
  };
  return `no common upstream bridge below the root complex (${provider.bdf} is ${top(provider)}, ${client.bdf} ${top(client)})`;
}

/** 4.20 upstream_bridge_distance() + upstream_bridge_distance_warn(). */
function linux420Pair(provider: PciFunction, client: PciFunction): Parts {
  const { common, distA, distB, acs } = commonUpstream(provider, client);
  const rule = 'linux-4.20 upstream_bridge_distance()';
  if (common === null) {
    return {
      distance: -1, mapType: 'not-supported', refusal: 'no-common-upstream-bridge', reason: describeNoCommon(provider, client), note: null, acs: [], rule,
      log: [line(client, `cannot be used for peer-to-peer DMA as the client and provider (${provider.bdf}) do not share an upstream bridge`, true)],
    };
  }
  if (acs.length > 0) {
    // upstream_bridge_distance() returns −2; pci_p2pdma_distance_many() turns it into −1.
    return {
      distance: -1, mapType: 'not-supported', refusal: 'acs-redirect', reason: `ACS redirect on ${acs.map((f) => f.bdf).join(', ')}`, note: null, acs, rule,
      log: [
        line(client, `cannot be used for peer-to-peer DMA as ACS redirect is set between the client and provider (${provider.bdf})`, true),
        line(client, `to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${acsListText(acs, 4096)}`, true),
      ],
    };
  }
  const note = provider === client ? 'the provider is this client' : `common upstream bridge ${common.bdf}`;
  return { distance: distA + distB, mapType: 'bus-addr', refusal: null, reason: null, note, acs: [], rule, log: [] };
}

/**
 * 6.1 pci_p2pdma_whitelist[]: host bridge (or first root port) vendor:device pairs; the
 * REQ_SAME_HOST_BRIDGE entries allow P2P only between devices under that one host bridge.
 */
export const PCI_P2PDMA_WHITELIST: readonly { readonly vendor: number; readonly device: number; readonly reqSameHostBridge: boolean }[] = [
  /* Intel Xeon E5/Core i7 */
  { vendor: 0x8086, device: 0x3c00, reqSameHostBridge: true },
  { vendor: 0x8086, device: 0x3c01, reqSameHostBridge: true },
  /* Intel Xeon E7 v3/Xeon E5 v3/Core i7 */
  { vendor: 0x8086, device: 0x2f00, reqSameHostBridge: true },
  { vendor: 0x8086, device: 0x2f01, reqSameHostBridge: true },
  /* Intel SkyLake-E */
  { vendor: 0x8086, device: 0x2030, reqSameHostBridge: false },
  { vendor: 0x8086, device: 0x2031, reqSameHostBridge: false },
  { vendor: 0x8086, device: 0x2032, reqSameHostBridge: false },
  { vendor: 0x8086, device: 0x2033, reqSameHostBridge: false },
  { vendor: 0x8086, device: 0x2020, reqSameHostBridge: false },
  { vendor: 0x8086, device: 0x09a2, reqSameHostBridge: false },
];

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** 6.1 __host_bridge_whitelist(host, same_host_bridge, warn). */
function hostBridgeOnList(f: PciFunction, same: boolean, warn: boolean, log: KernelLogLine[]): boolean {
  const root = f.hostBridge.hostBridgeDev;
  if (root === null) return false;
  for (const e of PCI_P2PDMA_WHITELIST) {
    if (root.vendorId !== e.vendor || root.deviceId !== e.device) continue;
    return !(e.reqSameHostBridge && !same);
  }
  if (warn) log.push(line(root, `Host bridge not in P2PDMA whitelist: ${hex4(root.vendorId)}:${hex4(root.deviceId)}`, false));
  return false;
}

/** 6.1 host_bridge_whitelist(a, b, warn). */
function hostBridgeWhitelist(a: PciFunction, b: PciFunction, warn: boolean, log: KernelLogLine[]): boolean {
  if (a.hostBridge === b.hostBridge) return hostBridgeOnList(a, true, warn, log);
  return hostBridgeOnList(a, false, warn, log) && hostBridgeOnList(b, false, warn, log);
}

/** 6.1 calc_map_type_and_dist(provider, client, &dist, verbose). */
function linux61Pair(env: PolicyEnv, provider: PciFunction, client: PciFunction): Parts {
  const { common, distA, distB, acs } = commonUpstream(provider, client);
  const rule = 'linux-6.1 calc_map_type_and_dist()';
  const distance = distA + distB;
  const log: KernelLogLine[] = [];
  if (common !== null && acs.length === 0) {
    const note = provider === client ? 'the provider is this client' : `common upstream bridge ${common.bdf}`;
    return { distance, mapType: 'bus-addr', refusal: null, reason: null, note, acs: [], rule, log };
  }
  const acsRedirects = common !== null;
  if (acsRedirects) {
    log.push(line(client, `ACS redirect is set between the client and provider (${provider.bdf})`, true));
    log.push(line(client, `to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${acsListText(acs, 128)}`, true));
  }
  const why = acsRedirects ? `ACS redirect on ${acs.map((f) => f.bdf).join(', ')}` : describeNoCommon(provider, client);
  const cpuOk = cpuSupportsP2pdma(env.cpu);
  // The whitelist is consulted (and warns, for the ACS case) only when the CPU does not qualify.
  if (cpuOk || hostBridgeWhitelist(provider, client, acsRedirects, log)) {
    const by = cpuOk
      ? `cpu_supports_p2pdma(): ${env.cpu.vendor} family 0x${env.cpu.family.toString(16)}`
      : `host bridge ${describeHostBridgeDev(provider)} on pci_p2pdma_whitelist`;
    return { distance, mapType: 'thru-host-bridge', refusal: null, reason: null, note: `through the host bridge (${why}; allowed by ${by})`, acs: acsRedirects ? acs : [], rule, log };
  }
  log.push(line(client, `cannot be used for peer-to-peer DMA as the client and provider (${provider.bdf}) do not share an upstream bridge or whitelisted host bridge`, true));
  const hb = provider.hostBridge === client.hostBridge ? describeHostBridgeDev(provider) : `${describeHostBridgeDev(provider)} / ${describeHostBridgeDev(client)}`;
  return {
    distance, mapType: 'not-supported', refusal: acsRedirects ? 'acs-redirect' : 'host-bridge-not-whitelisted',
    reason: `${why}; the path goes through the host bridge, and neither the CPU (${env.cpu.assumed ? 'not declared' : `${env.cpu.vendor} family 0x${env.cpu.family.toString(16)}`}) nor host bridge ${hb} is on the P2PDMA allow list`,
    note: null, acs: acsRedirects ? acs : [], rule, log,
  };
}

function describeHostBridgeDev(f: PciFunction): string {
  const hb = f.hostBridge;
  const dev = hb.hostBridgeDev;
  return dev === null ? `${hb.name} (no devfn 00.0 or root port first on its bus)` : `${hb.name} [${hex4(dev.vendorId)}:${hex4(dev.deviceId)}]`;
}

// ---------------------------------------------------------------------------
// Public entry points

/** The verdict for one provider and one client (what pci_p2pdma_distance() sees per client). */
export function pairDistance(policy: P2pPolicy, env: PolicyEnv, provider: PciFunction, client: PciFunction): PairVerdict {
  switch (canonicalPolicy(policy)) {
    case 'v3':
      return verdict(provider, client, v3Pair(provider, client));
    case 'linux-4.20':
      return verdict(provider, client, linux420Pair(provider, client));
    case 'linux-6.1':
      return verdict(provider, client, linux61Pair(env, provider, client));
  }
}

/**
 * pci_p2pdma_distance_many() (v3: pci_p2pdma_distance()): the cumulative distance from
 * `provider` to every client; −1 when any is refused. A quiet check stops at the first
 * refusal; a verbose one checks (and prints) every client.
 */
export function listDistance(policy: P2pPolicy, env: PolicyEnv, provider: PciFunction, clients: readonly PciFunction[], opts: DistanceOptions = {}): ListVerdict {
  const p = canonicalPolicy(policy);
  if (p === 'v3') return v3List(provider, clients);
  const pairs = clients.map((c) => pairDistance(p, env, provider, c));
  if (clients.length === 0) {
    return { provider: provider.bdf, distance: -1, refusal: 'no-clients', reason: 'no clients', clients: pairs, log: [] };
  }
  const verbose = opts.verbose ?? false;
  const log: KernelLogLine[] = [];
  let total = 0;
  let refused: PairVerdict | null = null;
  for (const v of pairs) {
    for (const l of v.log) if (verbose || !l.verboseOnly) log.push(l);
    if (v.refusal !== null) {
      refused ??= v;
      if (!verbose) break;
      continue;
    }
    total += v.distance;
  }
  if (refused) {
    return { provider: provider.bdf, distance: -1, refusal: refused.refusal, reason: `${refused.client}: ${refused.reason}`, clients: pairs, log };
  }
  return { provider: provider.bdf, distance: total, refusal: null, reason: null, clients: pairs, log };
}
