/**
 * Distance policies: may a provider's p2pmem serve a set of clients, and how far is it?
 *
 *  same-switch            The 2018 series, v3 `pci_p2pdma_distance`: every device must sit
 *                         behind the same switch — its "upstream bridge port" is the bridge
 *                         two levels up (pci_upstream_bridge twice: for an endpoint behind a
 *                         switch, the switch's upstream port). Distance 0 when the provider
 *                         is the client, +1 per other client, −1 otherwise. Devices directly
 *                         under a root port have no such port and are rejected. v3 returned
 *                         0 ("false") for a provider without one; we treat it as −1.
 *  upstream-bridge        Linux 4.20 `upstream_bridge_distance`: walk both paths to the nearest
 *                         common upstream bridge; distance = hops from each side (0 same
 *                         function, 2 two functions of one device, 4 under one switch, more
 *                         through switch hierarchies); −1 without a common bridge below the
 *                         root complex; −2 when ACS redirect (RR/CR/EC) is set on the path.
 *  host-bridge-whitelist  Later Linux: as upstream-bridge, but traffic that must cross the
 *                         root complex (no common bridge, or ACS redirect) is allowed when the
 *                         host bridge is P2P-capable, at a distance of 0x1000 + hops.
 */

import { commonUpstream } from '../pci/route.js';
import type { HostBridge, PciFunction } from '../pci/model.js';

export type P2pPolicy = 'same-switch' | 'upstream-bridge' | 'host-bridge-whitelist';
export const P2P_POLICIES: readonly P2pPolicy[] = ['same-switch', 'upstream-bridge', 'host-bridge-whitelist'];
export const DEFAULT_POLICY: P2pPolicy = 'same-switch';

/** Added to the hop count for P2P that crosses a whitelisted root complex. */
export const HOST_BRIDGE_PENALTY = 0x1000;

export const DISTANCE_INCOMPATIBLE = -1;
export const DISTANCE_ACS_REDIRECT = -2;

export interface PairVerdict {
  readonly provider: string;
  readonly client: string;
  /** ≥ 0: compatible, lower is better; −1 incompatible; −2 ACS redirect on the path. */
  readonly distance: number;
  /** Why the pair was rejected (null when compatible). */
  readonly reason: string | null;
  /** Remarks on an accepted pair (e.g. "through the root complex"). */
  readonly note: string | null;
  readonly viaRootComplex: boolean;
}

export interface ListVerdict {
  readonly provider: string;
  /** Sum over clients, or the first negative pair distance (−1 for provider-level rejections). */
  readonly distance: number;
  readonly reason: string | null;
  readonly clients: readonly PairVerdict[];
}

export function isP2pPolicy(s: unknown): s is P2pPolicy {
  return typeof s === 'string' && (P2P_POLICIES as readonly string[]).includes(s);
}

/** v3 get_upstream_bridge_port(): pci_upstream_bridge(pci_upstream_bridge(dev)). */
export function upstreamBridgePort(f: PciFunction): PciFunction | null {
  return f.upstream?.upstream ?? null;
}

function notBehindSwitch(f: PciFunction): string {
  const up = f.upstream;
  if (up === null) return `not behind a switch: ${f.bdf} is on the root bus`;
  return `not behind a switch: ${f.bdf} sits directly under ${up.role === 'root-port' ? 'root port' : 'bridge'} ${up.bdf}`;
}

const verdict = (provider: PciFunction, client: PciFunction, distance: number, reason: string | null, note: string | null = null, viaRootComplex = false): PairVerdict => ({
  provider: provider.bdf, client: client.bdf, distance, reason, note, viaRootComplex,
});

function sameSwitchPair(provider: PciFunction, client: PciFunction): PairVerdict {
  if (provider === client) return verdict(provider, client, 0, null, 'the provider is this client');
  const up = upstreamBridgePort(provider);
  if (up === null) return verdict(provider, client, DISTANCE_INCOMPATIBLE, notBehindSwitch(provider));
  const cu = upstreamBridgePort(client);
  if (cu === null) return verdict(provider, client, DISTANCE_INCOMPATIBLE, notBehindSwitch(client));
  if (cu !== up) return verdict(provider, client, DISTANCE_INCOMPATIBLE, `different switch: ${up.bdf} vs ${cu.bdf}`);
  return verdict(provider, client, 1, null, `same switch (upstream port ${up.bdf})`);
}

function bridgePair(provider: PciFunction, client: PciFunction, hb: HostBridge, whitelist: boolean): PairVerdict {
  const { common, distA, distB, acs } = commonUpstream(provider, client);
  const hops = distA + distB;
  const rcOk = whitelist && hb.p2pBetweenRootPorts;
  if (common === null) {
    const where = `${provider.bdf} is under root port ${provider.rootPort?.bdf ?? '?'}, ${client.bdf} under ${client.rootPort?.bdf ?? '?'}`;
    if (rcOk) {
      return verdict(provider, client, HOST_BRIDGE_PENALTY + hops, null, `through the root complex ${hb.name} (P2P-capable host bridge; ${where})`, true);
    }
    const tail = whitelist ? ` and host bridge ${hb.name} is not P2P-capable` : '';
    return verdict(provider, client, DISTANCE_INCOMPATIBLE, `no common upstream bridge below the root complex (${where})${tail}`);
  }
  if (acs.length > 0) {
    const names = acs.map((f) => f.bdf).join(', ');
    if (rcOk) {
      return verdict(provider, client, HOST_BRIDGE_PENALTY + hops, null, `ACS redirect on ${names}: through the root complex ${hb.name} (P2P-capable host bridge)`, true);
    }
    return verdict(provider, client, DISTANCE_ACS_REDIRECT, `ACS redirect on ${names}`);
  }
  const note = provider === client ? 'the provider is this client' : `common upstream bridge ${common.bdf}`;
  return verdict(provider, client, hops, null, note);
}

/** The distance between one provider and one client under `policy`. */
export function pairDistance(policy: P2pPolicy, hb: HostBridge, provider: PciFunction, client: PciFunction): PairVerdict {
  switch (policy) {
    case 'same-switch':
      return sameSwitchPair(provider, client);
    case 'upstream-bridge':
      return bridgePair(provider, client, hb, false);
    case 'host-bridge-whitelist':
      return bridgePair(provider, client, hb, true);
  }
}

/** pci_p2pdma_distance: the cumulative distance from `provider` to every client. */
export function listDistance(policy: P2pPolicy, hb: HostBridge, provider: PciFunction, clients: readonly PciFunction[]): ListVerdict {
  const pairs = clients.map((c) => pairDistance(policy, hb, provider, c));
  if (policy === 'same-switch') {
    // v3 checks the provider first; a provider with no upstream bridge port is rejected
    // whatever the clients are (v3 returned 0 here, which would have accepted it).
    if (upstreamBridgePort(provider) === null) {
      return { provider: provider.bdf, distance: DISTANCE_INCOMPATIBLE, reason: notBehindSwitch(provider), clients: pairs };
    }
  } else if (clients.length === 0) {
    return { provider: provider.bdf, distance: DISTANCE_INCOMPATIBLE, reason: 'no clients', clients: pairs };
  }
  let total = 0;
  for (const p of pairs) {
    if (p.distance < 0) {
      return { provider: provider.bdf, distance: p.distance, reason: p.client === p.provider ? p.reason : `${p.client}: ${p.reason}`, clients: pairs };
    }
    total += p.distance;
  }
  return { provider: provider.bdf, distance: total, reason: null, clients: pairs };
}
