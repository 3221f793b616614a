/**
 * p2pmem providers of a topology and the provider decision for a client list, with
 * the reasoning spelled out: what `pci_p2pmem_find(clients)` would pick under a
 * distance policy, and why every other provider lost.
 *
 * Pure functions over a parsed PciTopology and src/p2pdma's distance policies, so
 * the management API (GET /api/p2p/explain), the `nvmet-ts topology` subcommand and
 * the start-up summary all say the same thing. When the p2pdma provider registry
 * (src/p2pdma) lands, only `available` changes source: pass `available` in.
 */

import type { PciTopology } from '../../src/pci/topology.js';
import { formatSize } from '../../src/pci/units.js';
import type { P2pPolicy, PairVerdict } from '../../src/p2pdma/policy.js';
import { P2pdma } from '../../src/p2pdma/p2pdma.js';
import { P2pClientList } from '../../src/p2pdma/client-list.js';
import { publishesP2pmem } from '../config/pci-topology.js';
import type { NvmetConfig } from '../config/types.js';

/** A function that can provide p2pmem: a p2pmem card's BAR region or an NVMe CMB. */
export interface ProviderInfo {
  readonly bdf: string;
  readonly kind: 'p2pmem' | 'cmb';
  readonly label: string;
  readonly bar: number;
  readonly offset: number;
  /** sysfs p2pmem/size: bytes registered with pci_p2pdma_add_resource. */
  readonly size: number;
  /** sysfs p2pmem/published: considered by pci_p2pmem_find. */
  readonly published: boolean;
  /** Why it is (not) published. */
  readonly note: string;
}

/** Every function of the topology that registers p2pmem, in bus order. */
export function providersOf(topo: PciTopology): ProviderInfo[] {
  const out: ProviderInfo[] = [];
  for (const f of topo.functions) {
    if (f.p2pmem) {
      const bar = f.bar(f.p2pmem.bar);
      const size = f.p2pmem.size || (bar ? bar.size - f.p2pmem.offset : 0);
      out.push({
        bdf: f.bdf,
        kind: 'p2pmem',
        label: f.label,
        bar: f.p2pmem.bar,
        offset: f.p2pmem.offset,
        size,
        published: publishesP2pmem(f),
        note: f.p2pmem.publish ? 'p2pmem card, published by its driver' : 'p2pmem card, registered but not published (only explicit users may allocate)',
      });
    } else if (f.cmb) {
      const published = publishesP2pmem(f);
      out.push({
        bdf: f.bdf,
        kind: 'cmb',
        label: f.label,
        bar: f.cmb.bar,
        offset: f.cmb.offset,
        size: f.cmb.size,
        published,
        note: published
          ? 'NVMe CMB with WDS and RDS, published as nvme-pci does'
          : `NVMe CMB without ${[!f.cmb.wds && 'WDS', !f.cmb.rds && 'RDS'].filter(Boolean).join(' and ')}: nvme-pci does not publish it`,
      });
    }
  }
  return out;
}

export interface ClientCheck {
  /** As given. */
  readonly input: string;
  /** Canonical BDF, or null when no such function exists. */
  readonly bdf: string | null;
  readonly ok: boolean;
  /** Why pci_p2pdma_add_client would refuse it (null when accepted). */
  readonly reason: string | null;
}

export interface Candidate {
  readonly provider: string;
  readonly kind: 'p2pmem' | 'cmb';
  readonly published: boolean;
  /** pci_p2pdma_distance over the client list (≥ 0 compatible, lower is better). */
  readonly distance: number;
  /** Why this provider is not usable (null when it is a compatible, published provider). */
  readonly reason: string | null;
  readonly pairs: readonly PairVerdict[];
}

export interface Explanation {
  readonly policy: P2pPolicy;
  readonly clients: readonly ClientCheck[];
  readonly candidates: readonly Candidate[];
  /** The provider pci_p2pmem_find would bind (first of the ties by BDF), or null. */
  readonly chosen: string | null;
  /** Providers at the winning distance (Linux picks one of them at random). */
  readonly ties: readonly string[];
  /** One line: the decision and its reason. */
  readonly summary: string;
}

/**
 * What pci_p2pmem_find(clients) decides under `policy`, with every provider's
 * verdict — src/p2pdma's own explainFind, so this says exactly what the data path
 * does. Pass the running data path's P2pdma for live provider state (published,
 * unbinding); otherwise a fresh one is probed from the topology.
 */
export function explainClients(topo: PciTopology, policy: P2pPolicy, clientBdfs: readonly string[], live?: P2pdma): Explanation {
  const p2pdma = live !== undefined && live.policy === policy ? live : new P2pdma(topo, { policy });
  const list = new P2pClientList();
  const checks: ClientCheck[] = [];
  for (const input of clientBdfs) {
    const r = p2pdma.addClient(list, input);
    if (r.ok) checks.push({ input, bdf: r.value.bdf, ok: true, reason: null });
    else checks.push({ input, bdf: topo.get(input)?.bdf ?? null, ok: false, reason: r.error.message });
  }
  const bad = checks.filter((c) => !c.ok);
  if (bad.length > 0 || list.length === 0) {
    const why = list.length === 0 && bad.length === 0 ? 'no clients given' : bad.map((c) => c.reason).join('; ');
    return { policy, clients: checks, candidates: [], chosen: null, ties: [], summary: `no provider: ${why}` };
  }
  const kinds = new Map(providersOf(topo).map((p) => [p.bdf, p.kind]));
  const e = p2pdma.explainFind(list);
  const candidates: Candidate[] = e.candidates.map((c) => ({
    provider: c.provider,
    kind: kinds.get(c.provider) ?? 'p2pmem',
    published: c.published,
    distance: c.distance ?? -1,
    reason: c.reason ?? (c.considered ? null : 'not considered'),
    pairs: c.clients,
  }));
  if (e.ties.length === 0) {
    const why = candidates.length === 0 ? 'the topology has no p2pmem providers' : candidates.map((c) => `${c.provider}: ${c.reason}`).join('; ');
    return { policy, clients: checks, candidates, chosen: null, ties: [], summary: `no compatible provider under ${policy} (${why})` };
  }
  const ties = [...e.ties].sort();
  const chosen = ties[0]!;
  const c = candidates.find((u) => u.provider === chosen)!;
  const notes = [...new Set(c.pairs.filter((p) => p.client !== p.provider).map((p) => p.note).filter((n): n is string => n !== null))];
  if (c.pairs.some((p) => p.client === p.provider)) notes.push('the provider is itself a client');
  const tieNote = ties.length > 1 ? `; ${ties.length} providers tie (Linux picks one at random; this is the first by BDF)` : '';
  return {
    policy,
    clients: checks,
    candidates,
    chosen,
    ties,
    summary: `${chosen} (${c.kind}, distance ${e.closestDistance} under ${policy}${notes.length ? ': ' + notes.join(', ') : ''}${tieNote})`,
  };
}

/** Human-readable lines for an explanation (CLI, logs). */
export function formatExplanation(e: Explanation, indent = ''): string[] {
  const lines: string[] = [];
  lines.push(`${indent}policy ${e.policy}; clients ${e.clients.map((c) => c.bdf ?? c.input).join(', ') || '(none)'}`);
  for (const c of e.clients) if (!c.ok) lines.push(`${indent}  client ${c.input}: ${c.reason}`);
  for (const c of e.candidates) {
    const verdict = c.reason === null && c.distance >= 0 ? `ok, distance ${c.distance}` : `rejected: ${c.reason}`;
    lines.push(`${indent}  provider ${c.provider} (${c.kind}${c.published ? '' : ', unpublished'}): ${verdict}${e.chosen === c.provider ? '  <- chosen' : ''}`);
  }
  lines.push(`${indent}  => ${e.summary}`);
  return lines;
}

/** "1 GiB p2pmem card" style one-liner for a provider. */
export function describeProvider(p: ProviderInfo): string {
  return `${p.bdf} ${p.kind === 'cmb' ? 'CMB' : 'p2pmem'} ${formatSize(p.size)} (BAR ${p.bar}+0x${p.offset.toString(16)}) ${p.published ? 'published' : 'unpublished'}: ${p.note}`;
}

/** The p2pmem decision for one port of a configuration. */
export interface PortDecision {
  portid: number;
  allowP2pmem: boolean;
  nic: string | null;
  /** p2pdma clients: the NIC and the SSD of every enabled namespace the port exports. */
  clients: string[];
  policy: P2pPolicy;
  /** The provider staging would use (null: system memory). */
  provider: string | null;
  explanation: Explanation | null;
  why: string;
}

/**
 * The 2018 series' port option: "the port will attempt to find P2P memory supported
 * by the RDMA NIC and all namespaces". Clients are the port's NIC (nvmet_ts.nic) and
 * the SSD (nvmet_ts.nvme) of every enabled namespace of every subsystem it exports.
 */
export function decidePort(config: NvmetConfig, topo: PciTopology, policy: P2pPolicy, portid: number, forceAllow = false, live?: P2pdma): PortDecision | undefined {
  const p = config.ports.find((x) => x.portid === portid);
  if (p === undefined) return undefined;
  const allow = forceAllow || p.param?.allowP2pmem === true;
  // As the data path: without a placement the port's NIC is the topology's first RNIC.
  const nic = p.nvmetTs?.nic ?? topo.ofKind('rnic')[0]?.bdf;
  const clients: string[] = [];
  const unplaced: string[] = [];
  if (nic !== undefined) clients.push(nic);
  for (const nqn of p.subsystems) {
    const s = config.subsystems.find((x) => x.nqn === nqn);
    for (const ns of s?.namespaces ?? []) {
      // A namespace with its own p2pmem attribute picks its own provider; it is not a client of the port's.
      if (!ns.enable || (ns.p2pmem !== undefined && ns.p2pmem !== false)) continue;
      const dev = ns.nvmetTs?.nvme;
      if (dev === undefined) unplaced.push(`nsid ${ns.nsid} of ${nqn}`);
      else if (!clients.includes(dev)) clients.push(dev);
    }
  }
  const base = { portid, allowP2pmem: allow, nic: nic ?? null, clients, policy };
  if (nic === undefined) {
    return { ...base, provider: null, explanation: null, why: 'the topology has no NIC, and the NIC is a p2pdma client: staging in system memory' };
  }
  if (unplaced.length > 0) {
    return { ...base, provider: null, explanation: null, why: `${unplaced.join(', ')} not behind a PCI device (no nvmet_ts.nvme): staging in system memory` };
  }
  const explanation = explainClients(topo, policy, clients, live);
  const why = allow ? explanation.summary : `allow_p2pmem is off: staging in system memory (with it: ${explanation.chosen ?? 'no provider'})`;
  return { ...base, provider: allow ? explanation.chosen : null, explanation, why };
}
