/**
 * p2pmem for one port: the series' `allow_p2pmem` port option, plus the per-namespace
 * `p2pmem` attribute of mainline Linux, decided against the port's NIC.
 *
 * Port option (2018 series, cover letter of v2): when the port is enabled with it,
 * a client list of the NIC and the device of every enabled namespace of its
 * subsystems goes to pci_p2pmem_find. The provider found stages every I/O of the
 * port; none found means system memory, and the port says why. While a provider is
 * in use, a namespace whose device is not compatible with it may not be enabled
 * (EXDEV from pci_p2pdma_add_client; ENODEV for a namespace not behind a PCI device).
 *
 * Namespace attribute (mainline): `true` or a provider BDF makes the namespace pick
 * its own provider for [NIC, its SSD] on every port with a NIC placement, whatever
 * the port option says; `false` (the default, "no choice of its own") leaves the
 * namespace to the port option. See README.md for the full rules.
 */

import type { Namespace } from '../core/namespace.js';
import type { Port } from '../core/port.js';
import type { Logger } from '../core/log.js';
import type { PciFunction } from '../../src/pci/model.js';
import { P2pClientList } from '../../src/p2pdma/client-list.js';
import { P2pError } from '../../src/p2pdma/errors.js';
import type { FindExplanation, P2pdma } from '../../src/p2pdma/p2pdma.js';
import { listDistance, pairDistance, type P2pPolicy } from '../../src/p2pdma/policy.js';
import type { NamespacePlacement, P2pmemSetting } from './placement.js';

/** Where one namespace's I/O through one port is staged, and why. */
export interface NamespaceDecision {
  readonly provider: PciFunction | null;
  readonly reason: string;
}

export interface BindingDeps {
  readonly p2pdma: P2pdma;
  readonly log: Logger;
  placementOf(ns: Namespace): NamespacePlacement;
}

/** One line per provider: why `find` did (not) take it. */
export function summarizeFind(e: FindExplanation): string {
  if (e.refused.length > 0) return e.refused.map((r) => r.reason).join('; ');
  if (e.candidates.length === 0) return 'no device has registered p2pmem';
  return e.candidates
    .map((c) => `${c.provider} ${c.distance !== null && c.distance >= 0 ? `distance ${c.distance}` : (c.reason ?? 'rejected')}`)
    .join('; ');
}

function acceptedNote(e: FindExplanation, provider: string): string {
  const c = e.candidates.find((x) => x.provider === provider);
  const notes = new Set<string>();
  for (const v of c?.clients ?? []) if (v.note !== null && v.client !== provider) notes.add(v.note);
  return [...notes].join(', ');
}

// ---------------------------------------------------------------- the one p2p decision

/** A namespace as the port decision sees it: its name, its SSD, its own p2pmem attribute. */
export interface PortNamespace {
  readonly what: string;
  readonly device: PciFunction | null;
  readonly p2pmem: P2pmemSetting;
}

/** The port option's decision: the provider staging every I/O of the port (or null) and why. */
export interface PortChoice {
  readonly provider: PciFunction | null;
  /** Fallback reason, or "p2pmem from …" with distance, policy, clients. */
  readonly reason: string;
  /** The policy's reasoning (null when no client list could be built). */
  readonly explanation: FindExplanation | null;
  /** BDFs of the client list: the NIC, then each namespace's SSD. */
  readonly clients: readonly string[];
}

/**
 * The 2018 series' port option ("the port will attempt to find P2P memory supported by
 * the RDMA NIC and all namespaces"): the client list is the port's NIC plus the SSD of
 * every namespace with no p2pmem choice of its own, and `pci_p2pmem_find` picks the
 * provider. The ONE place that builds a port's client list and asks p2pdma: the live
 * binding runs it at port enable (`dryRun` false: find's random tie-break, the list is
 * bound), the management API runs it on a configuration that may not be running
 * (`dryRun` true: nothing is bound, the first tie by BDF stands for the choice).
 * `list` is filled (and on a refusal emptied); the caller owns it.
 */
export function choosePortProvider(
  p2pdma: P2pdma,
  list: P2pClientList,
  nic: PciFunction | null,
  namespaces: Iterable<PortNamespace>,
  opts: { readonly dryRun: boolean; readonly policy?: P2pPolicy },
): PortChoice {
  p2pdma.freeClientList(list);
  const none = (why: string, explanation: FindExplanation | null = null): PortChoice => {
    const clients = list.clients.map((c) => c.bdf);
    p2pdma.freeClientList(list);
    return { provider: null, reason: `no compatible p2pmem provider: ${why}; staging in system memory`, explanation, clients };
  };
  if (nic === null) return none('the port has no NIC placement (nvmet_ts.nic), and the NIC is a p2pdma client');
  const refused: { client: string; reason: string }[] = [];
  const n = p2pdma.addClient(list, nic);
  if (!n.ok) refused.push({ client: nic.bdf, reason: n.error.message });
  for (const ns of namespaces) {
    if (ns.p2pmem !== false) continue; // it picks its own provider (mainline attribute)
    if (ns.device === null) return none(`${ns.what} is not behind a PCI device`);
    const r = p2pdma.addClient(list, ns.device);
    if (!r.ok) refused.push({ client: ns.device.bdf, reason: `${ns.what}: ${r.error.message}` });
  }
  const policy = opts.policy ?? p2pdma.policy;
  if (refused.length > 0) return none(refused.map((r) => r.reason).join('; '), p2pdma.explainFind(list, policy, refused));
  let provider: PciFunction | null;
  let explanation: FindExplanation;
  if (opts.dryRun) {
    explanation = p2pdma.dryRunFind(list, policy);
    provider = explanation.chosen === null ? null : p2pdma.topology.get(explanation.chosen)!;
  } else {
    ({ provider, explanation } = p2pdma.findExplained(list));
  }
  if (provider === null) return none(summarizeFind(explanation), explanation);
  const note = acceptedNote(explanation, provider.bdf);
  const tie = explanation.ties.length > 1 ? `; ${explanation.ties.length} providers tie${opts.dryRun ? ', Linux picks one at random' : ', picked at random'}` : '';
  return {
    provider,
    reason: `p2pmem from ${provider.bdf} (distance ${explanation.closestDistance}, policy ${explanation.policy}, clients ${explanation.clients.join(', ')}${note ? `; ${note}` : ''}${tie})`,
    explanation,
    clients: list.clients.map((c) => c.bdf),
  };
}

/**
 * nvmet_p2pmem_ns_enable: a namespace asking for p2pmem (`true` or a BDF) must be
 * behind a PCI device and have a usable provider for that device alone; P2pError
 * EINVAL/ENODEV otherwise, as Linux. The NIC side is decided per port (namespaceChoice).
 */
export function checkOwnP2pmem(p2pdma: P2pdma, what: string, pl: NamespacePlacement): void {
  if (pl.p2pmem === false) return;
  if (pl.device === null) throw new P2pError('EINVAL', `${what}: peer-to-peer DMA is not supported by namespaces that are not behind a PCI device`);
  if (typeof pl.p2pmem === 'string') {
    const f = p2pdma.topology.get(pl.p2pmem);
    if (f === undefined || !p2pdma.hasP2pmem(f)) throw new P2pError('ENODEV', `${what}: p2pmem ${pl.p2pmem} has no published peer-to-peer memory`);
    const v = listDistance(p2pdma.policy, p2pdma.topology, f, [pl.device]);
    if (v.distance < 0) throw new P2pError('EINVAL', `${what}: p2pmem ${f.bdf} is not usable by ${pl.device.bdf}: ${v.reason}`);
    return;
  }
  const list = new P2pClientList();
  p2pdma.addClient(list, pl.device);
  const e = p2pdma.explainFind(list);
  if (e.ties.length === 0) throw new P2pError('EINVAL', `${what}: no peer-to-peer memory is available for ${pl.device.bdf} (${summarizeFind(e)})`);
}

/**
 * The provider for one namespace's I/O through a port with NIC `nic`: the port's own
 * provider (`portProvider`, when the namespace has no p2pmem choice of its own and its
 * SSD can use it), or — mainline per-namespace p2pmem — one for [NIC, SSD].
 */
export function namespaceChoice(p2pdma: P2pdma, nic: PciFunction | null, portProvider: PciFunction | null, portReason: string, pl: NamespacePlacement): NamespaceDecision {
  if (pl.p2pmem === false) {
    if (portProvider === null) return { provider: null, reason: portReason };
    if (pl.device === null) return { provider: null, reason: 'not behind a PCI device: staging in system memory' };
    const v = pairDistance(p2pdma.policy, p2pdma.topology, portProvider, pl.device);
    if (v.distance < 0) return { provider: null, reason: `${pl.device.bdf} cannot use ${portProvider.bdf}: ${v.reason}; staging in system memory` };
    return { provider: portProvider, reason: `port provider ${portProvider.bdf}` };
  }
  if (nic === null) return { provider: null, reason: 'the port has no NIC placement; staging in system memory' };
  if (pl.device === null) return { provider: null, reason: 'not behind a PCI device; staging in system memory' };
  if (typeof pl.p2pmem === 'string') {
    const f = p2pdma.topology.get(pl.p2pmem);
    if (f === undefined || !p2pdma.hasP2pmem(f)) return { provider: null, reason: `${pl.p2pmem} has no published p2pmem; staging in system memory` };
    const v = listDistance(p2pdma.policy, p2pdma.topology, f, [nic, pl.device]);
    if (v.distance < 0) return { provider: null, reason: `${f.bdf} is not usable by ${nic.bdf} and ${pl.device.bdf}: ${v.reason}; staging in system memory` };
    return { provider: f, reason: `namespace p2pmem ${f.bdf} (distance ${v.distance})` };
  }
  const list = new P2pClientList();
  p2pdma.addClient(list, nic);
  p2pdma.addClient(list, pl.device);
  const { provider, explanation } = p2pdma.findExplained(list);
  if (provider === null) {
    return { provider: null, reason: `no peer-to-peer memory is available that's supported by ${nic.bdf} and ${pl.device.bdf} (${summarizeFind(explanation)}); staging in system memory` };
  }
  return { provider, reason: `namespace p2pmem auto: ${provider.bdf} (distance ${explanation.closestDistance})` };
}

export class PortBinding {
  nic: PciFunction | null = null;
  allowP2pmem = false;
  /** The core port while enabled. */
  port: Port | null = null;
  /** Provider staging every I/O of the port (port option), or null. */
  provider: PciFunction | null = null;
  /** Why the port stages where it does (the policy's explanation). */
  reason = 'port not enabled';
  explanation: FindExplanation | null = null;
  /** What the last enable decided, kept after disable (exit summaries). */
  lastDecision: NamespaceDecision | null = null;
  readonly clients = new P2pClientList();
  /** Data-carrying I/O commands staged in p2pmem / in system memory, and p2pmem allocations that failed. */
  p2pAllocations = 0;
  systemAllocations = 0;
  fallbacks = 0;
  private decisions = new Map<Namespace, NamespaceDecision>();

  constructor(
    readonly portId: number,
    private readonly deps: BindingDeps,
  ) {}

  get enabled(): boolean {
    return this.port !== null;
  }

  /** Namespaces this port exports: enabled namespaces of its subsystems. */
  exportedNamespaces(): Namespace[] {
    const out: Namespace[] = [];
    for (const s of this.port?.subsystems ?? []) out.push(...s.enabledNamespaces());
    return out;
  }

  exports(ns: Namespace): boolean {
    return this.port !== null && this.port.hasSubsystem(ns.subsys.nqn);
  }

  /** Port enable: build the client list and find a provider (or say why not). */
  enable(port: Port): void {
    this.port = port;
    this.decide0();
  }

  /** Live provider changes (move_notify, hot-add) and the last one. */
  providerChanges = 0;
  lastChange: { readonly from: string | null; readonly to: string | null; readonly why: string } | null = null;
  /** Commands failed with a retryable status because move_notify revoked their staging buffer. */
  revokedCommands = 0;

  /**
   * Re-run the port's provider choice live (its provider is being removed, or one came
   * back), counted and explained. Cached per-namespace decisions are dropped too.
   */
  rechoose(why: string): void {
    this.decisions.clear();
    if (this.port === null || !this.allowP2pmem) return;
    const from = this.provider;
    this.decide0();
    this.reason = `${why}: ${this.reason}`;
    if (from !== this.provider) {
      this.providerChanges++;
      this.lastChange = { from: from?.bdf ?? null, to: this.provider?.bdf ?? null, why };
      this.deps.log.info(`port ${this.portId}: ${this.reason}`);
    }
  }

  /** Does this port (or one of its namespace decisions) stage in `f`? */
  uses(f: PciFunction): boolean {
    if (this.provider === f) return true;
    for (const d of this.decisions.values()) if (d.provider === f) return true;
    return false;
  }

  private decide0(): void {
    this.decisions.clear();
    const { p2pdma, log } = this.deps;
    p2pdma.freeClientList(this.clients);
    this.provider = null;
    this.explanation = null;
    if (!this.allowP2pmem) {
      this.reason = 'allow_p2pmem is off: staging in system memory';
      return;
    }
    const c = choosePortProvider(p2pdma, this.clients, this.nic, this.portNamespaces(), { dryRun: false });
    this.provider = c.provider;
    this.reason = c.reason;
    this.explanation = c.explanation;
    if (c.provider === null) log.warn(`port ${this.portId}: ${c.reason}`);
    else log.info(`port ${this.portId}: ${c.reason}`);
  }

  private *portNamespaces(): Iterable<PortNamespace> {
    for (const ns of this.exportedNamespaces()) {
      const pl = this.deps.placementOf(ns);
      yield { what: `nsid ${ns.nsid} of ${ns.subsys.nqn}`, device: pl.device, p2pmem: pl.p2pmem };
    }
  }

  disable(): void {
    if (this.port !== null) this.lastDecision = { provider: this.provider, reason: this.reason };
    this.port = null;
    this.provider = null;
    this.explanation = null;
    this.reason = 'port not enabled';
    this.deps.p2pdma.freeClientList(this.clients);
    this.decisions.clear();
  }

  /**
   * Would enabling `ns` break this port's provider? Throws P2pError EXDEV/ENODEV
   * (pci_p2pdma_add_client's verdict) without changing anything.
   */
  checkNamespace(ns: Namespace): void {
    const provider = this.provider;
    if (provider === null || !this.exports(ns)) return;
    const pl = this.deps.placementOf(ns);
    if (pl.p2pmem !== false) return;
    const where = `port ${this.portId} stages I/O in p2pmem of ${provider.bdf}`;
    if (pl.device === null) {
      throw new P2pError('ENODEV', `nsid ${ns.nsid} of ${ns.subsys.nqn} is not behind a PCI device and cannot use peer-to-peer memory (${where})`);
    }
    if (pl.device.virtDmaOps) throw new P2pError('ENODEV', `${pl.device.bdf} cannot be used for peer-to-peer DMA (dma_virt_ops); ${where}`);
    const v = pairDistance(this.deps.p2pdma.policy, this.deps.p2pdma.topology, provider, pl.device);
    if (v.distance < 0) {
      throw new P2pError('EXDEV', `nsid ${ns.nsid} of ${ns.subsys.nqn}: ${pl.device.bdf} cannot use ${provider.bdf}: ${v.reason} (${where})`);
    }
  }

  /** `ns` was enabled (after checkNamespace passed): it joins the client list. */
  namespaceEnabled(ns: Namespace): void {
    this.decisions.delete(ns);
    if (this.provider === null || !this.exports(ns)) return;
    const pl = this.deps.placementOf(ns);
    if (pl.p2pmem === false && pl.device !== null) this.deps.p2pdma.addClient(this.clients, pl.device);
  }

  /** `ns` was disabled: rebuild the client list from what is still enabled (the provider stays). */
  namespaceChanged(ns: Namespace): void {
    this.decisions.delete(ns);
    const provider = this.provider;
    if (provider === null || this.nic === null) return;
    const { p2pdma } = this.deps;
    p2pdma.freeClientList(this.clients);
    p2pdma.addClient(this.clients, this.nic);
    for (const other of this.exportedNamespaces()) {
      const pl = this.deps.placementOf(other);
      if (pl.p2pmem === false && pl.device !== null) p2pdma.addClient(this.clients, pl.device);
    }
    p2pdma.assignProvider(provider, this.clients);
  }

  forget(ns: Namespace): void {
    this.decisions.delete(ns);
  }

  /** Where I/O for `ns` through this port is staged (cached until the namespace or port changes). */
  decide(ns: Namespace): NamespaceDecision {
    let d = this.decisions.get(ns);
    if (d === undefined) {
      d = this.computeDecision(ns);
      this.decisions.set(ns, d);
      const pl = this.deps.placementOf(ns);
      if (d.provider === null && pl.p2pmem !== false) {
        this.deps.log.warn(`port ${this.portId}: nsid ${ns.nsid} of ${ns.subsys.nqn} asked for p2pmem (${String(pl.p2pmem)}): ${d.reason}`);
      }
    }
    return d;
  }

  /** Every decision taken so far (state display). */
  decided(): [Namespace, NamespaceDecision][] {
    return [...this.decisions];
  }

  private computeDecision(ns: Namespace): NamespaceDecision {
    return namespaceChoice(this.deps.p2pdma, this.nic, this.provider, this.reason, this.deps.placementOf(ns));
  }
}
