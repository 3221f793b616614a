/**
 * The p2pdma subsystem of one emulated fabric: providers register BAR memory, clients
 * form lists, and `find` picks the nearest published provider for a list. Semantics
 * follow drivers/pci/p2pdma.c of the 2018 series (v3) — see DIGEST in docs — with the
 * later distance policies selectable (policy.ts).
 *
 * Error convention: see errors.ts — fallible calls return Result<T>; nothing here throws
 * on bad input. Addresses are JS numbers: CPU physical addresses serve as the allocation
 * handle ("virt" in the kernel API), bus addresses are what peers DMA to.
 */

import type { Bar, DeviceLike, PciFunction } from '../pci/model.js';
import { isPciFunction } from '../pci/model.js';
import type { PciTopology } from '../pci/topology.js';
import { hexAddr } from '../pci/units.js';
import { route as routeIn, type Route } from '../pci/route.js';
import { P2pClientList } from './client-list.js';
import { fail, ok, type P2pErrorCode, type Result } from './errors.js';
import { GenPool } from './genpool.js';
import {
  canonicalPolicy, DEFAULT_POLICY, listDistance, pairDistance,
  type DistanceOptions, type KernelLogLine, type ListVerdict, type P2pPolicyId, type P2pPolicy, type PairVerdict,
} from './policy.js';
import { P2pMemRegion, type P2pSgl } from './region.js';
import { summarizeFind, withChoice } from './explain.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** pci_p2pmem_find keeps at most PAGE_SIZE / sizeof(pointer) equally close candidates. */
export const MAX_FIND_TIES = PAGE_SIZE / 8;
/** pci_p2pmem_alloc_sgl takes a u32 length. */
export const MAX_SGL_LENGTH = 0xffff_ffff;

/** A PCI function, a device whose parent chain reaches one, or a BDF string. */
export type DeviceRef = DeviceLike | string;

export interface P2pdmaOptions {
  /** Distance policy or alias (default 'v3', the seed series; alias 'same-switch'). */
  readonly policy?: P2pPolicy;
  /** Uniform [0, 1) source for breaking ties in `find` (default Math.random). */
  readonly random?: () => number;
  /** Run the "drivers" at construction: register NVMe CMBs and p2pmem cards (default true). */
  readonly probe?: boolean;
  /** Kernel-log style messages ("added peer-to-peer DMA memory …"). */
  readonly log?: (message: string) => void;
}

/** What sysfs shows under /sys/bus/pci/devices/<bdf>/p2pmem/. */
export interface P2pmemStats {
  readonly size: number;
  readonly available: number;
  readonly published: boolean;
  /** Live allocations (each holds a reference on the provider). */
  readonly outstanding: number;
  /** Teardown started: new allocations fail, completion waits for `outstanding` to reach 0. */
  readonly unbinding: boolean;
  /** Largest allocation that would succeed now (≤ available when fragmented). */
  readonly largestFree: number;
}

export interface ProviderCandidate {
  readonly provider: string;
  readonly kind: 'cmb' | 'p2pmem' | 'other';
  readonly published: boolean;
  readonly unbinding: boolean;
  /** True when the distance was computed (published and not unbinding). */
  readonly considered: boolean;
  readonly distance: number | null;
  /** Why the provider was not eligible ("not published", "different switch: …"), or null. */
  readonly reason: string | null;
  readonly clients: readonly PairVerdict[];
}

export interface FindExplanation {
  readonly policy: P2pPolicyId;
  readonly clients: readonly string[];
  /** Every device with registered p2pmem, in bus order. */
  readonly candidates: readonly ProviderCandidate[];
  readonly closestDistance: number | null;
  /** The equally close providers `find` chooses among at random. */
  readonly ties: readonly string[];
  /**
   * The provider `find` chose (null from explainFind, which does not choose); from
   * dryRunFind the first of the ties by BDF (find itself picks one of them at random).
   */
  readonly chosen: string | null;
  /** What the kernel prints while pci_p2pmem_find() checks every provider (quiet checks). */
  readonly log: readonly KernelLogLine[];
  /** Clients pci_p2pdma_add_client refused before the list was evaluated (then nothing is chosen). */
  readonly refused: readonly { readonly client: string; readonly reason: string }[];
  /** The decision and its reason in one line. */
  readonly summary: string;
}

/** A failed allocation before it becomes a Result (one P2pError, built by the public caller). */
interface AllocFailure {
  readonly code: P2pErrorCode;
  readonly message: string;
}

/** The one successful Result<void>: immutable, so every free can return it. */
const OK_VOID: Result<void> = Object.freeze(ok(undefined));

interface ChunkTag {
  readonly bar: Bar;
  readonly barOffset: number;
}

class ProviderState {
  readonly pool = new GenPool<ChunkTag>(PAGE_SHIFT);
  published = false;
  /** Live allocations; the kernel's percpu devmap_ref minus its initial reference. */
  refs = 0;
  dying = false;
  drained: Promise<void> | null = null;
  resolveDrained: (() => void) | null = null;
}

/**
 * The one "published" rule: whether the driver's probe publishes the memory it registers
 * (pci_p2pmem_publish), so `pci_p2pmem_find` offers it. Mainline nvme-pci publishes a CMB
 * only when CMBSZ has both WDS and RDS (nvme_map_cmb); a p2pmem card's driver publishes
 * when its configuration says so.
 */
export function publishesAtProbe(f: PciFunction): boolean {
  if (f.kind === 'nvme' && f.cmb !== null) return f.cmb.wds && f.cmb.rds;
  if (f.kind === 'p2pmem' && f.p2pmem !== null) return f.p2pmem.publish;
  return false;
}

/** Why a function's p2pmem is (not) published at probe, in a few words. */
export function publishNote(f: PciFunction): string {
  if (f.kind === 'nvme' && f.cmb !== null) {
    if (f.cmb.wds && f.cmb.rds) return 'NVMe CMB with WDS and RDS, published as nvme-pci does';
    return `NVMe CMB without ${[!f.cmb.wds && 'WDS', !f.cmb.rds && 'RDS'].filter(Boolean).join(' and ')}: nvme-pci does not publish it`;
  }
  if (f.kind === 'p2pmem' && f.p2pmem !== null) {
    return f.p2pmem.publish ? 'p2pmem card, published by its driver' : 'p2pmem card, registered but not published (only explicit users may allocate)';
  }
  return 'registers no p2pmem';
}

/** What kind of provider a function is: an NVMe CMB, a p2pmem card, or another device that registered memory. */
export function providerKind(f: PciFunction): 'cmb' | 'p2pmem' | 'other' {
  return f.kind === 'nvme' ? 'cmb' : f.kind === 'p2pmem' ? 'p2pmem' : 'other';
}

export class P2pdma {
  readonly topology: PciTopology;
  private policyName: P2pPolicyId;
  private readonly random: () => number;
  private readonly log: (message: string) => void;
  private readonly states = new Map<PciFunction, ProviderState>();
  /**
   * The topology's functions by identity (those `topology.get(f.bdf)` returns): the
   * topology is immutable, so a PciFunction resolves without parsing and re-formatting
   * its BDF, which every per-I/O alloc and free would otherwise pay.
   */
  private readonly members: ReadonlySet<PciFunction>;

  constructor(topology: PciTopology, opts: P2pdmaOptions = {}) {
    this.topology = topology;
    this.members = new Set(topology.functions.filter((f) => topology.get(f.bdf) === f));
    this.policyName = canonicalPolicy(opts.policy ?? DEFAULT_POLICY);
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? (() => {});
    if (opts.probe ?? true) {
      for (const f of topology.functions) {
        const r = this.probe(f);
        if (!r.ok) this.log(`${f.bdf}: probe failed: ${r.error.message}`);
      }
    }
  }

  get policy(): P2pPolicyId {
    return this.policyName;
  }

  /** Accepts an alias ('same-switch', 'upstream-bridge'); reads back the policy it denotes. */
  set policy(p: P2pPolicy) {
    this.policyName = canonicalPolicy(p);
  }

  // ---------------------------------------------------------------------------
  // Device resolution

  /** A BDF string or PCI function → the topology's PciFunction. */
  resolve(dev: DeviceRef): Result<PciFunction> {
    if (typeof dev === 'string') {
      const f = this.topology.get(dev);
      return f ? ok(f) : fail('ENODEV', `no PCI device ${dev}`);
    }
    if (isPciFunction(dev)) {
      return this.members.has(dev) ? ok(dev) : fail('ENODEV', `${dev.bdf} is not part of topology "${this.topology.name}"`);
    }
    return fail('ENODEV', `${dev.name} is not a PCI device`);
  }

  /** `resolve` without a Result for the common case (this topology's PciFunction object). */
  private member(dev: DeviceRef): PciFunction | null {
    return typeof dev !== 'string' && this.members.has(dev as PciFunction) ? (dev as PciFunction) : null;
  }

  /** find_parent_pci_dev: walk `parent` up to the first PCI function. */
  findParentPciDev(dev: DeviceRef): PciFunction | null {
    if (typeof dev === 'string') return this.topology.get(dev) ?? null;
    let d: DeviceLike | null | undefined = dev;
    for (let depth = 0; d && depth < 1024; depth++) {
      if (isPciFunction(d)) return this.members.has(d) ? d : null;
      d = d.parent;
    }
    return null;
  }

  // ---------------------------------------------------------------------------
  // Provider side

  /**
   * The driver's probe: an NVMe controller registers its CMB and publishes it only when
   * CMBSZ has both WDS and RDS (as mainline nvme-pci does); a p2pmem card registers its
   * memory BAR and publishes it. Other functions have nothing to register.
   */
  probe(dev: DeviceRef): Result<void> {
    const r = this.resolve(dev);
    if (!r.ok) return r;
    const f = r.value;
    const st = this.states.get(f);
    if (st?.dying) return fail('EBUSY', `${f.bdf} is still being unbound`);
    const mem = f.kind === 'nvme' ? f.cmb : f.kind === 'p2pmem' ? f.p2pmem : null;
    if (mem === null) return ok(undefined);
    const added = this.addResource(f, mem.bar, mem.size, mem.offset);
    if (!added.ok) return added;
    if (publishesAtProbe(f)) this.publish(f, true);
    else this.log(`${f.bdf}: ${publishNote(f)}; not publishing it`);
    return ok(undefined);
  }

  /**
   * pci_p2pdma_add_resource: add [offset, offset + size) of a memory BAR to the device's
   * pool as one chunk (size 0 = the rest of the BAR). May be called several times.
   */
  addResource(dev: DeviceRef, bar: number, size: number, offset: number): Result<void> {
    const r = this.resolve(dev);
    if (!r.ok) return r;
    const f = r.value;
    const b = f.bar(bar);
    if (!b || !b.isMemory) return fail('EINVAL', `${f.bdf} BAR ${bar} is not a memory BAR`);
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(offset) || size < 0 || offset < 0) {
      return fail('EINVAL', `size and offset must be non-negative integers (size ${size}, offset ${offset})`);
    }
    if (offset >= b.size) return fail('EINVAL', `offset ${hexAddr(offset)} is beyond BAR ${bar} of ${f.bdf} (${hexAddr(b.size)} bytes)`);
    if (size === 0) size = b.size - offset;
    if (size + offset > b.size) return fail('EINVAL', `[${hexAddr(offset)}, +${hexAddr(size)}) exceeds BAR ${bar} of ${f.bdf} (${hexAddr(b.size)} bytes)`);
    let st = this.states.get(f);
    if (st?.dying) return fail('EBUSY', `${f.bdf} is being unbound`);
    const cpu = b.cpuAddr + offset;
    if (st) {
      for (const c of st.pool.chunkList) {
        if (cpu < c.virt + c.size && c.virt < cpu + size) {
          return fail('EBUSY', `[${hexAddr(cpu)}-${hexAddr(cpu + size - 1)}] overlaps p2pmem already registered at ${hexAddr(c.virt)}`);
        }
      }
    } else {
      st = new ProviderState();
      this.states.set(f, st);
    }
    st.pool.add(cpu, b.busAddr + offset, size, { bar: b, barOffset: offset });
    this.log(`${f.bdf}: added peer-to-peer DMA memory [mem ${hexAddr(cpu)}-${hexAddr(cpu + size - 1)}${b.bits === 64 ? ' 64bit' : ''}${b.prefetchable ? ' pref' : ''}]`);
    return ok(undefined);
  }

  /** pci_p2pmem_publish: only published memory is offered by `find`. A no-op without p2pmem. */
  publish(dev: DeviceRef, publish = true): void {
    const r = this.resolve(dev);
    if (!r.ok) return;
    const st = this.states.get(r.value);
    if (st) st.published = publish;
  }

  /** pci_has_p2pmem: registered and published. */
  hasP2pmem(dev: DeviceRef): boolean {
    const r = this.resolve(dev);
    return r.ok && (this.states.get(r.value)?.published ?? false);
  }

  /** Functions with registered p2pmem, in bus order. */
  providers(): PciFunction[] {
    return this.topology.functions.filter((f) => this.states.has(f));
  }

  /**
   * pci_alloc_p2pmem: `size` bytes (rounded up to PAGE_SIZE in the pool) contiguous in one
   * chunk. ENODEV without p2pmem or once unbinding started, ENOMEM when nothing fits.
   * Does not check `published` (the owner may use unpublished memory).
   */
  alloc(dev: DeviceRef, size: number): Result<P2pMemRegion> {
    let f = this.member(dev);
    if (f === null) {
      const r = this.resolve(dev);
      if (!r.ok) return r;
      f = r.value;
    }
    const a = this.allocIn(f, size);
    return a instanceof P2pMemRegion ? ok(a) : fail(a.code, a.message);
  }

  /** pci_alloc_p2pmem on a resolved device; failures stay plain values until a caller reports them. */
  private allocIn(f: PciFunction, size: number): P2pMemRegion | AllocFailure {
    const st = this.states.get(f);
    if (!st) return { code: 'ENODEV', message: `${f.bdf} has no p2pmem` };
    if (st.dying) return { code: 'ENODEV', message: `${f.bdf} is being unbound; no new p2pmem allocations` };
    if (!Number.isSafeInteger(size) || size <= 0) return { code: 'EINVAL', message: `invalid allocation size ${size}` };
    const a = st.pool.alloc(size);
    if (a === null) {
      return { code: 'ENOMEM', message: `no contiguous ${size}-byte region in ${f.bdf} p2pmem (available ${st.pool.avail}, largest free ${st.pool.largestFree})` };
    }
    st.refs++;
    const tag = a.chunk.tag;
    return new P2pMemRegion(f, tag.bar, tag.barOffset + (a.virt - a.chunk.virt), a.virt, a.phys, size, a.reserved);
  }

  /**
   * pci_free_p2pmem: `addr` is the region's CPU address and `size` the size it was
   * allocated with. EINVAL if that is not a live allocation (the kernel would BUG).
   */
  free(dev: DeviceRef, addr: number, size: number): Result<void> {
    let f = this.member(dev);
    if (f === null) {
      const r = this.resolve(dev);
      if (!r.ok) return r;
      f = r.value;
    }
    const st = this.states.get(f);
    if (!st) return fail('ENODEV', `${f.bdf} has no p2pmem`);
    if (!st.pool.free(addr, size)) return fail('EINVAL', `${hexAddr(addr)} (+${size}) is not a live p2pmem allocation of ${f.bdf}`);
    st.refs--;
    if (st.dying && st.refs === 0) this.finishUnbind(f, st);
    return OK_VOID;
  }

  /** Free a region returned by `alloc`. */
  freeRegion(region: P2pMemRegion): Result<void> {
    return this.free(region.provider, region.cpuAddr, region.length);
  }

  /**
   * pci_p2pmem_alloc_sgl: one entry covering `length` bytes of contiguous p2pmem.
   * Every failure to allocate is ENOMEM, as in the kernel; bad lengths are EINVAL.
   */
  allocSgl(dev: DeviceRef, length: number): Result<P2pSgl> {
    if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_SGL_LENGTH) {
      return fail('EINVAL', `invalid SGL length ${length} (1..${MAX_SGL_LENGTH})`);
    }
    let f = this.member(dev);
    if (f === null) {
      const r = this.resolve(dev);
      if (!r.ok) return fail('ENOMEM', r.error.message.replace(/^E[A-Z]+: /, ''));
      f = r.value;
    }
    const a = this.allocIn(f, length);
    if (!(a instanceof P2pMemRegion)) return fail('ENOMEM', a.message);
    return ok({ nents: 1, entries: [a], length });
  }

  /** pci_p2pmem_free_sgl. */
  freeSgl(dev: DeviceRef, sgl: P2pSgl): Result<void> {
    for (const e of sgl.entries) {
      const r = this.free(dev, e.cpuAddr, e.length);
      if (!r.ok) return r;
    }
    return OK_VOID;
  }

  /** pci_p2pmem_virt_to_bus: the bus address of a CPU address in the pool; 0 for none. */
  virtToBus(dev: DeviceRef, addr: number): number {
    if (!addr) return 0;
    const r = this.resolve(dev);
    if (!r.ok) return 0;
    const st = this.states.get(r.value);
    if (!st) return 0;
    const bus = st.pool.virtToPhys(addr);
    return bus < 0 ? 0 : bus;
  }

  /**
   * Driver unbind: new allocations fail at once; the returned promise resolves when every
   * outstanding allocation has been freed, after which the device has no p2pmem (stats
   * read 0). Calling again while waiting returns the same promise.
   */
  unbind(dev: DeviceRef): Promise<void> {
    const r = this.resolve(dev);
    if (!r.ok) return Promise.resolve();
    const f = r.value;
    const st = this.states.get(f);
    if (!st) return Promise.resolve();
    if (st.dying) return st.drained!;
    st.dying = true;
    st.drained = new Promise<void>((resolve) => {
      st.resolveDrained = resolve;
    });
    if (st.refs > 0) this.log(`${f.bdf}: unbinding; waiting for ${st.refs} outstanding p2pmem allocation(s)`);
    else this.finishUnbind(f, st);
    return st.drained;
  }

  private finishUnbind(f: PciFunction, st: ProviderState): void {
    this.states.delete(f);
    this.log(`${f.bdf}: p2pmem released`);
    st.resolveDrained?.();
  }

  /** sysfs p2pmem/{size,available,published} (+ bookkeeping); zeros without p2pmem. */
  stats(dev: DeviceRef): P2pmemStats {
    const r = this.resolve(dev);
    const st = r.ok ? this.states.get(r.value) : undefined;
    if (!st) return { size: 0, available: 0, published: false, outstanding: 0, unbinding: false, largestFree: 0 };
    return {
      size: st.pool.size,
      available: st.pool.avail,
      published: st.published,
      outstanding: st.refs,
      unbinding: st.dying,
      largestFree: st.pool.largestFree,
    };
  }

  /**
   * The links a transaction between two devices (or a device and 'dram') crosses, as
   * this subsystem's policy sees the fabric: under 'same-switch' ACS redirect bits are
   * ignored, because the series cleared them behind switches at boot.
   */
  route(from: DeviceRef | 'dram', to: DeviceRef | 'dram'): Result<Route> {
    const end = (d: DeviceRef | 'dram'): Result<PciFunction | 'dram'> => {
      if (d === 'dram') return ok('dram');
      const f = this.findParentPciDev(d);
      return f ? ok(f) : fail('ENODEV', `${typeof d === 'string' ? d : d.name} is not behind a PCI device of this fabric`);
    };
    const a = end(from);
    if (!a.ok) return a;
    const b = end(to);
    if (!b.ok) return b;
    return ok(routeIn(this.topology, a.value, b.value, { ignoreAcs: this.policyName === 'v3' }));
  }

  // ---------------------------------------------------------------------------
  // Client side

  createClientList(): P2pClientList {
    return new P2pClientList();
  }

  /**
   * pci_p2pdma_add_client: append the PCI function behind `dev`. ENODEV for devices using
   * dma_virt_ops or with no PCI device above them; EXDEV when the list is already bound
   * to a provider this client cannot reach. Returns the PCI function added.
   */
  addClient(list: P2pClientList, dev: DeviceRef): Result<PciFunction> {
    if (typeof dev === 'string' && !this.topology.get(dev)) return fail('ENODEV', `no PCI device ${dev}`);
    const name = typeof dev === 'string' ? dev : dev.name;
    if (typeof dev !== 'string' && dev.virtDmaOps) {
      return fail('ENODEV', `${name} cannot be used for peer-to-peer DMA because the driver makes use of dma_virt_ops`);
    }
    const client = this.findParentPciDev(dev);
    if (!client) return fail('ENODEV', `${name} cannot be used for peer-to-peer DMA as it is not a PCI device`);
    if (client.virtDmaOps) {
      return fail('ENODEV', `${name} cannot be used for peer-to-peer DMA because the driver of ${client.bdf} makes use of dma_virt_ops`);
    }
    const provider = list.provider;
    if (provider) {
      const v = pairDistance(this.policyName, this.topology, provider, client);
      if (v.distance < 0) return fail('EXDEV', `${client.bdf} cannot use the list's provider ${provider.bdf}: ${v.reason}`);
    }
    list._push(client, typeof dev === 'string' ? client : dev, provider);
    return ok(client);
  }

  /** pci_p2pdma_remove_client: drop every entry for the PCI function behind `dev`. */
  removeClient(list: P2pClientList, dev: DeviceRef): number {
    const client = this.findParentPciDev(dev);
    return client ? list._removeClient(client) : 0;
  }

  /** pci_p2pdma_client_list_free. */
  freeClientList(list: P2pClientList): void {
    list._clear();
  }

  /** pci_p2pdma_distance under the current policy: ≥ 0 compatible (lower is better), < 0 not. */
  distance(provider: DeviceRef, list: P2pClientList): number {
    return this.explainDistance(provider, list).distance;
  }

  /**
   * The distance with per-client verdicts, map types and the reason for a refusal.
   * `verbose` is pci_p2pdma_distance(…, true): every client checked, every reason logged.
   */
  explainDistance(provider: DeviceRef, list: P2pClientList, opts: DistanceOptions = {}): ListVerdict {
    const r = this.resolve(provider);
    if (!r.ok) return { provider: String(typeof provider === 'string' ? provider : provider.name), distance: -1, refusal: null, reason: r.error.message, clients: [], log: [] };
    // The kernel's lines for this check are in v.log; callers print them where the kernel would.
    return listDistance(this.policyName, this.topology, r.value, list.clients, opts);
  }

  /** pci_p2pdma_assign_provider: bind `provider` to every entry unless incompatible. */
  assignProvider(provider: DeviceRef, list: P2pClientList): boolean {
    const r = this.resolve(provider);
    if (!r.ok || this.distance(r.value, list) < 0) return false;
    list._bind(r.value);
    return true;
  }

  /**
   * pci_p2pmem_find: the published provider nearest to every client (ties broken by the
   * injected random source), bound to the list; null when none is compatible.
   */
  find(list: P2pClientList): PciFunction | null {
    return this.findExplained(list).provider;
  }

  /** `find`, also returning why each provider was or was not chosen. */
  findExplained(list: P2pClientList): { provider: PciFunction | null; explanation: FindExplanation } {
    const e = this.explainFind(list);
    if (e.ties.length === 0) return { provider: null, explanation: e };
    const i = Math.min(e.ties.length - 1, Math.max(0, Math.floor(this.random() * e.ties.length)));
    const provider = this.topology.get(e.ties[i]!)!;
    list._bind(provider);
    return { provider, explanation: withChoice(e, provider.bdf, false) };
  }

  /**
   * What `find` would decide, without the random tie-break and without binding the list:
   * the first tie by BDF stands for the choice (the summary says when others tie). The
   * explanation of a configuration that is not running (`policy` may differ from the
   * subsystem's; `refused` carries clients add_client already turned down).
   */
  dryRunFind(list: P2pClientList, policy: P2pPolicy = this.policyName, refused: FindExplanation['refused'] = []): FindExplanation {
    const e = this.explainFind(list, policy, refused);
    if (e.ties.length === 0) return e;
    return withChoice(e, [...e.ties].sort()[0]!, true);
  }

  /** What `find` would consider, without choosing or binding. */
  explainFind(list: P2pClientList, policy: P2pPolicy = this.policyName, refused: FindExplanation['refused'] = []): FindExplanation {
    const clients = list.clients;
    const candidates: ProviderCandidate[] = [];
    let closest = Infinity;
    let ties: string[] = [];
    const log: KernelLogLine[] = [];
    if (refused.length === 0) {
      for (const f of this.providers()) {
        const st = this.states.get(f)!;
        const base = { provider: f.bdf, kind: providerKind(f), published: st.published, unbinding: st.dying };
        if (!st.published) {
          candidates.push({ ...base, considered: false, distance: null, reason: 'not published', clients: [] });
          continue;
        }
        if (st.dying) {
          candidates.push({ ...base, considered: false, distance: null, reason: 'being unbound', clients: [] });
          continue;
        }
        const v = listDistance(policy, this.topology, f, clients);
        log.push(...v.log);
        candidates.push({ ...base, considered: true, distance: v.distance, reason: v.reason, clients: v.clients });
        if (v.distance < 0 || v.distance > closest) continue;
        if (v.distance < closest) {
          closest = v.distance;
          ties = [];
        }
        if (ties.length < MAX_FIND_TIES) ties.push(f.bdf);
      }
    }
    const e = {
      policy: canonicalPolicy(policy),
      clients: clients.map((c) => c.bdf),
      candidates,
      closestDistance: ties.length ? closest : null,
      ties,
      chosen: null,
      log,
      refused,
      summary: '',
    };
    return { ...e, summary: summarizeFind(e) };
  }
}
