/**
 * p2pmem providers of a topology and the provider decision for a client list or a
 * port, with the reasoning spelled out. Nothing here decides on its own: a port's
 * decision is the data path's (target/p2p/port-binding.ts choosePortProvider) run dry,
 * a client list's is src/p2pdma's find run dry, the published rule is src/p2pdma's
 * publishesAtProbe — so the management API, `nvmet-ts topology` and the start-up
 * summary say exactly what the running target does.
 */

import type { PciTopology } from '../../src/pci/topology.js';
import type { PciFunction } from '../../src/pci/model.js';
import { formatSize } from '../../src/pci/units.js';
import type { P2pPolicy } from '../../src/p2pdma/policy.js';
import { P2pdma, publishesAtProbe, publishNote, type FindExplanation } from '../../src/p2pdma/p2pdma.js';
import { P2pClientList } from '../../src/p2pdma/client-list.js';
import { findExplanationLines } from '../../src/p2pdma/explain.js';
import { choosePortProvider, type PortNamespace } from './port-binding.js';
import type { NvmetConfig, PortConfig, SubsystemConfig } from '../config/types.js';

/** The one explanation type of a provider decision (src/p2pdma FindExplanation). */
export type Explanation = FindExplanation;

/** A function that can provide p2pmem: a p2pmem card's BAR region or an NVMe CMB. */
export interface ProviderInfo {
  readonly bdf: string;
  readonly kind: 'p2pmem' | 'cmb';
  readonly label: string;
  readonly bar: number;
  readonly offset: number;
  /** sysfs p2pmem/size: bytes registered with pci_p2pdma_add_resource. */
  readonly size: number;
  /** sysfs p2pmem/published at probe: considered by pci_p2pmem_find. */
  readonly published: boolean;
  /** Why it is (not) published. */
  readonly note: string;
}

/** Every function of the topology whose driver registers p2pmem at probe, in bus order. */
export function providersOf(topo: PciTopology): ProviderInfo[] {
  const out: ProviderInfo[] = [];
  for (const f of topo.functions) {
    const mem = f.kind === 'p2pmem' ? f.p2pmem : f.kind === 'nvme' ? f.cmb : null;
    if (mem === null) continue;
    const bar = f.bar(mem.bar);
    const size = mem.size || (bar ? bar.size - mem.offset : 0);
    out.push({
      bdf: f.bdf,
      kind: f.kind === 'p2pmem' ? 'p2pmem' : 'cmb',
      label: f.label,
      bar: mem.bar,
      offset: mem.offset,
      size,
      published: publishesAtProbe(f),
      note: publishNote(f),
    });
  }
  return out;
}

/** The p2pdma the explanation runs on: the running data path's, else a fresh probe of the topology. */
function p2pdmaFor(topo: PciTopology, policy: P2pPolicy, live?: P2pdma): P2pdma {
  return live !== undefined && live.topology === topo ? live : new P2pdma(topo, { policy });
}

/**
 * What pci_p2pmem_find(clients) decides under `policy`, with every provider's verdict —
 * a dry run of src/p2pdma's own find (no random tie-break, nothing bound), so this says
 * exactly what the data path does. Pass the running data path's P2pdma for live
 * provider state (published, unbinding, removed).
 */
export function explainClients(topo: PciTopology, policy: P2pPolicy, clientBdfs: readonly string[], live?: P2pdma): Explanation {
  const p2pdma = p2pdmaFor(topo, policy, live);
  const list = new P2pClientList();
  const refused: { client: string; reason: string }[] = [];
  for (const input of clientBdfs) {
    const r = p2pdma.addClient(list, input);
    if (!r.ok) refused.push({ client: topo.get(input)?.bdf ?? input, reason: r.error.message });
  }
  return p2pdma.dryRunFind(list, policy, refused);
}

/** Human-readable lines for an explanation (CLI, logs). */
export function formatExplanation(e: Explanation, indent = ''): string[] {
  return findExplanationLines(e, indent);
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
 * A port of a configuration (running or not): the data path's own port decision
 * (target/p2p choosePortProvider) as a dry run. Clients are the port's NIC
 * (nvmet_ts.nic, default the topology's first NIC) and the SSD (nvmet_ts.nvme) of every
 * enabled namespace of every subsystem it exports that has no p2pmem attribute of its own.
 */
/** Entities by key: a ConfigStore answers in O(1), so a decision costs the port's links, not the configuration. */
export interface ConfigLookup {
  port(portid: number): PortConfig | undefined;
  subsystem(nqn: string): SubsystemConfig | undefined;
}

export function decidePort(config: NvmetConfig | ConfigLookup, topo: PciTopology, policy: P2pPolicy, portid: number, forceAllow = false, live?: P2pdma): PortDecision | undefined {
  const cfg: ConfigLookup =
    'port' in config ? config : { port: (id) => config.ports.find((x) => x.portid === id), subsystem: (nqn) => config.subsystems.find((x) => x.nqn === nqn) };
  const p = cfg.port(portid);
  if (p === undefined) return undefined;
  const allow = forceAllow || p.param?.allowP2pmem === true;
  const nicBdf = p.nvmetTs?.nic ?? topo.ofKind('rnic')[0]?.bdf;
  const nic: PciFunction | null = nicBdf === undefined ? null : (topo.get(nicBdf) ?? null);
  const namespaces: PortNamespace[] = [];
  for (const nqn of p.subsystems) {
    const s = cfg.subsystem(nqn);
    for (const ns of s?.namespaces ?? []) {
      if (!ns.enable) continue;
      const dev = ns.nvmetTs?.nvme;
      namespaces.push({ what: `nsid ${ns.nsid} of ${nqn}`, device: dev === undefined ? null : (topo.get(dev) ?? null), p2pmem: ns.p2pmem ?? false });
    }
  }
  const c = choosePortProvider(p2pdmaFor(topo, policy, live), new P2pClientList(), nic, namespaces, { dryRun: true, policy });
  const clients = c.clients.length > 0 ? [...c.clients] : [...(nic ? [nic.bdf] : []), ...new Set(namespaces.filter((n) => n.p2pmem === false && n.device !== null).map((n) => n.device!.bdf))];
  const why = allow ? c.reason : `allow_p2pmem is off: staging in system memory (with it: ${c.provider?.bdf ?? 'no provider'})`;
  return { portid, allowP2pmem: allow, nic: nic?.bdf ?? null, clients, policy, provider: allow ? (c.provider?.bdf ?? null) : null, explanation: c.explanation, why };
}
