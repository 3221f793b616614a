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
import { listDistance, pairDistance } from '../../src/p2pdma/policy.js';
import type { NamespacePlacement } from './placement.js';

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
    this.decisions.clear();
    const { p2pdma, log } = this.deps;
    p2pdma.freeClientList(this.clients);
    this.provider = null;
    this.explanation = null;
    if (!this.allowP2pmem) {
      this.reason = 'allow_p2pmem is off: staging in system memory';
      return;
    }
    const fallback = (why: string): void => {
      this.reason = `no compatible p2pmem provider: ${why}; staging in system memory`;
      log.warn(`port ${this.portId}: ${this.reason}`);
    };
    if (this.nic === null) {
      fallback('the port has no NIC placement (nvmet_ts.nic), and the NIC is a p2pdma client');
      return;
    }
    const n = p2pdma.addClient(this.clients, this.nic);
    if (!n.ok) {
      fallback(n.error.message);
      return;
    }
    for (const ns of this.exportedNamespaces()) {
      const pl = this.deps.placementOf(ns);
      if (pl.p2pmem !== false) continue;
      if (pl.device === null) {
        fallback(`nsid ${ns.nsid} of ${ns.subsys.nqn} is not behind a PCI device`);
        p2pdma.freeClientList(this.clients);
        return;
      }
      const r = p2pdma.addClient(this.clients, pl.device);
      if (!r.ok) {
        fallback(`nsid ${ns.nsid} of ${ns.subsys.nqn}: ${r.error.message}`);
        p2pdma.freeClientList(this.clients);
        return;
      }
    }
    const { provider, explanation } = p2pdma.findExplained(this.clients);
    this.explanation = explanation;
    if (provider === null) {
      fallback(summarizeFind(explanation));
      return;
    }
    this.provider = provider;
    const note = acceptedNote(explanation, provider.bdf);
    this.reason = `p2pmem from ${provider.bdf} (distance ${explanation.closestDistance}, policy ${explanation.policy}, clients ${explanation.clients.join(', ')}${note ? `; ${note}` : ''})`;
    log.info(`port ${this.portId}: ${this.reason}`);
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
    const { p2pdma } = this.deps;
    const pl = this.deps.placementOf(ns);
    if (pl.p2pmem === false) {
      const provider = this.provider;
      if (provider === null) return { provider: null, reason: this.reason };
      if (pl.device === null) return { provider: null, reason: 'not behind a PCI device: staging in system memory' };
      const v = pairDistance(p2pdma.policy, p2pdma.topology, provider, pl.device);
      if (v.distance < 0) return { provider: null, reason: `${pl.device.bdf} cannot use ${provider.bdf}: ${v.reason}; staging in system memory` };
      return { provider, reason: `port provider ${provider.bdf}` };
    }
    // Mainline per-namespace p2pmem: a provider for [the port's NIC, the namespace's SSD].
    if (this.nic === null) return { provider: null, reason: 'the port has no NIC placement; staging in system memory' };
    if (pl.device === null) return { provider: null, reason: 'not behind a PCI device; staging in system memory' };
    if (typeof pl.p2pmem === 'string') {
      const f = p2pdma.topology.get(pl.p2pmem);
      if (f === undefined || !p2pdma.hasP2pmem(f)) return { provider: null, reason: `${pl.p2pmem} has no published p2pmem; staging in system memory` };
      const v = listDistance(p2pdma.policy, p2pdma.topology, f, [this.nic, pl.device]);
      if (v.distance < 0) return { provider: null, reason: `${f.bdf} is not usable by ${this.nic.bdf} and ${pl.device.bdf}: ${v.reason}; staging in system memory` };
      return { provider: f, reason: `namespace p2pmem ${f.bdf} (distance ${v.distance})` };
    }
    const list = new P2pClientList();
    p2pdma.addClient(list, this.nic);
    p2pdma.addClient(list, pl.device);
    const { provider, explanation } = p2pdma.findExplained(list);
    if (provider === null) {
      return { provider: null, reason: `no peer-to-peer memory is available that's supported by ${this.nic.bdf} and ${pl.device.bdf} (${summarizeFind(explanation)}); staging in system memory` };
    }
    return { provider, reason: `namespace p2pmem auto: ${provider.bdf} (distance ${explanation.closestDistance})` };
  }
}
