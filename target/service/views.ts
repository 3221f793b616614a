/**
 * Read-only projections of a running service for the management API, the metrics
 * and the CLI: I/O totals, the p2pmem decision of a port, providers with their free
 * space, the one-screen start-up summary. Nothing here changes the target.
 */

import type { Nvmet } from '../core/nvmet.js';
import type { NvmetConfig, ResolvedSubsystem } from '../config/index.js';
import type { PciTopology } from '../../src/pci/topology.js';
import type { P2pPolicy } from '../../src/p2pdma/policy.js';
import type { DmaCounters } from '../../src/copy/link-accounting.js';
import { decidePort, providersOf, type ConfigLookup, type PortDecision } from '../p2p/explain.js';
import { MODEL_SIMPLIFICATIONS, nicKindNote, type NamespaceP2pState, type P2pDataPath } from '../p2p/data-path.js';
import { ServiceError } from '../service-error.js';
import { describeBacking, trtypeName, type IoTotals } from './reconcile.js';

/**
 * What the p2pmem data path reports (P2pDataPath.serviceHooks). Without the data
 * path the views answer from the topology alone: full providers, zero DMA traffic,
 * no fallbacks, staging in system memory.
 */
export interface DataPathHooks {
  /** src/copy LinkAccounting.snapshot(): bytes per link and direction, root complex, DRAM. */
  dmaCounters?(): DmaCounters;
  /** Free bytes in a provider's pool (sysfs p2pmem/available); undefined = not managed. */
  providerAvailable?(bdf: string): number | undefined;
  /** I/Os of a port that wanted p2pmem but were staged in system memory. */
  fallbacks?(portid: number): number;
  /** The provider a port actually stages in (null: system memory). */
  portProvider?(portid: number): string | null;
}

/** What the views read (NvmetService provides it). */
export interface ViewSource {
  readonly nvmet: Nvmet;
  readonly config: NvmetConfig;
  /** The running document's entities by key (a port's decision reads only what it links). */
  readonly store: ConfigLookup;
  readonly topology: PciTopology;
  readonly topologySource: string;
  readonly policy: P2pPolicy;
  readonly dp: P2pDataPath | null;
  readonly hooks: DataPathHooks;
  /** CLI --allow-p2pmem (every port). */
  readonly allowP2pmemAll: boolean;
  /** I/O counts of namespaces that no longer exist. */
  readonly retired: Readonly<Record<'read' | 'write', IoTotals>>;
  appliedSubsystem(nqn: string): ResolvedSubsystem | undefined;
}

export interface PortP2pDecision extends PortDecision {
  /** Where staging happens now. */
  staging: string;
  /** The data path's binding and counters while the port is enabled (null without the data path). */
  live: {
    p2p_allocations: number;
    system_allocations: number;
    fallbacks: number;
    namespaces: NamespaceP2pState[];
  } | null;
}

/** A provider with its sysfs p2pmem values and, with the data path, its pool counters. */
export type ProviderView = ReturnType<typeof providersOf>[number] & {
  available: number;
  outstanding?: number;
  largest_free?: number;
  allocations?: number;
  fallbacks?: number;
};

/** Cumulative read/write totals over every namespace that ever existed (from per-namespace stats). */
export function ioTotals(v: ViewSource): Record<'read' | 'write', IoTotals> {
  const out = { read: { ...v.retired.read }, write: { ...v.retired.write } };
  for (const s of v.nvmet.subsystems) {
    for (const ns of s.namespaces) {
      out.read.commands += ns.stats.readCommands;
      out.read.bytes += ns.stats.bytesRead;
      out.write.commands += ns.stats.writeCommands;
      out.write.bytes += ns.stats.bytesWritten;
    }
  }
  return out;
}

/** The provider pci_p2pmem_find would give a port (its NIC plus every enabled namespace it exports) and where staging happens. */
export function portP2p(v: ViewSource, portid: number): PortP2pDecision {
  const d = decidePort(v.store, v.topology, v.policy, portid, v.allowP2pmemAll, v.dp?.p2pdma);
  if (d === undefined) throw new ServiceError('not-found', 'ENOENT', `port ${portid} does not exist`);
  const st = v.dp?.portState(portid);
  if (st === undefined || !st.enabled) {
    const inUse = v.hooks.portProvider?.(portid);
    return { ...d, staging: inUse ? `p2pmem ${inUse}` : 'system memory', live: null };
  }
  // What the data path actually bound when the port was enabled.
  return {
    ...d,
    nic: st.nic,
    allowP2pmem: st.allowP2pmem,
    clients: [...st.clients],
    provider: st.provider,
    why: st.reason,
    staging: st.p2pmemInUse ? `p2pmem ${st.provider}` : 'system memory',
    live: {
      p2p_allocations: st.p2pAllocations,
      system_allocations: st.systemAllocations,
      fallbacks: st.fallbacks,
      namespaces: [...st.namespaces],
    },
  };
}

/** Providers with their current free space (from the data path, else the full size). */
export function providers(v: ViewSource): ProviderView[] {
  return providersOf(v.topology).map((p) => {
    const st = v.dp?.providerState(p.bdf);
    const view: ProviderView = { ...p, available: st?.available ?? v.hooks.providerAvailable?.(p.bdf) ?? p.size };
    if (st) Object.assign(view, { outstanding: st.outstanding, largest_free: st.largestFree, allocations: st.allocations, fallbacks: st.fallbacks });
    return view;
  });
}

/**
 * Whether a port listens and, when not, why — in the terms of Linux nvmet, where a
 * port is enabled by its first subsystem link and disabled by its last
 * (configfs.c nvmet_port_subsys_allow_link / nvmet_port_subsys_drop_link).
 */
export function portListening(v: ViewSource, portid: number): { listening: boolean; why: string | null } {
  const live = v.nvmet.getPort(portid);
  if (live === undefined) return { listening: false, why: 'not created: no transport type or address' };
  if (live.state === 'enabled') return { listening: true, why: null };
  if (v.nvmet.transport(live.addr.trtype) === undefined) return { listening: false, why: `no ${trtypeName(live.addr.trtype)} transport in nvmet-ts` };
  if (live.subsystems.length === 0) return { listening: false, why: 'no subsystem linked' };
  return { listening: false, why: live.state };
}

/** The one-screen start-up summary. */
export function summary(v: ViewSource): string {
  const lines: string[] = [];
  const t = v.topology;
  lines.push(`topology ${t.name} (${v.topologySource}): ${t.functions.length} PCI functions, ${providers(v).filter((p) => p.published).length} published p2pmem providers; policy ${v.policy}`);
  for (const p of v.config.ports) {
    const live = v.nvmet.getPort(p.portid);
    const l = portListening(v, p.portid);
    const state = l.listening ? 'enabled' : `not listening: ${l.why ?? ''}`;
    const where = live
      ? `${trtypeName(live.addr.trtype)} ${live.addr.traddr}:${live.addr.trsvcid} (${state})`
      : `${p.addr.trtype || 'no trtype'} ${p.addr.traddr ?? ''}:${p.addr.trsvcid ?? ''} (not created)`;
    lines.push(`port ${p.portid}: ${where}${p.nvmetTs?.nic ? `, NIC ${p.nvmetTs.nic}` : ''}`);
    for (const nqn of p.subsystems) lines.push(`  -> ${nqn}`);
    const d = portP2p(v, p.portid);
    lines.push(`  p2pmem: ${d.allowP2pmem ? (d.provider ?? 'none') : 'off'} — ${d.why}`);
    lines.push(`  staging: ${d.staging}${v.dp === null ? ' (data path off)' : ''}`);
    const nicKind = v.dp?.portState(p.portid)?.nicKind ?? null;
    if (nicKind !== null) lines.push(`  ${nicKindNote(nicKind)}`);
  }
  for (const s of v.nvmet.subsystems) {
    const res = v.appliedSubsystem(s.nqn);
    lines.push(`subsystem ${s.nqn} (serial ${s.serial}, model "${s.model}", ${s.allowAnyHost ? 'any host' : `${s.allowedHosts.length} allowed host(s)`})`);
    for (const ns of s.namespaces) {
      const r = res?.namespaces.find((n) => n.nsid === ns.nsid);
      const where = r?.nvme ? ` on ${r.nvme}` : '';
      const p2p = r && r.p2pmem !== false ? `, p2pmem=${String(r.p2pmem)}` : '';
      lines.push(`  namespace ${ns.nsid}: ${describeBacking(r)} ${formatBytes(ns.size)} ${ns.blockSize} B blocks${where} (${ns.state}${p2p})`);
    }
  }
  if (v.dp !== null) lines.push(`PCIe model: ${MODEL_SIMPLIFICATIONS}`);
  return lines.join('\n');
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}
