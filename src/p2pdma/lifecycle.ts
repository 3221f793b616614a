/**
 * Provider removal and hot-add, in the two lifecycles of today's
 * Documentation/driver-api/pci/p2pdma.rst:
 *
 *  - `pgmap`: the provider's MMIO is wrapped in a ZONE_DEVICE pgmap; "the lifecycle of
 *    pgmap ensures that when the pgmap is destroyed all other drivers have stopped using
 *    the MMIO": remove() kills the reference (new allocations fail) and waits until every
 *    allocation has been freed. Users are not told; their in-flight I/O finishes normally,
 *    new I/O finds no memory (the data path falls back to system memory per command).
 *  - `dmabuf`: the exporter "must deliver an invalidation shutdown to all DMABUF importing
 *    drivers through move_notify() and synchronously DMA unmap all the MMIO. No importing
 *    driver can continue to have a DMA map to the MMIO after the exporting driver has
 *    destroyed its p2p_provider." remove() stops new allocations, calls every importer's
 *    move_notify and waits for each to report that it stopped DMA and unmapped; only then
 *    is the provider destroyed. (In the kernel the importer does this inside the callback;
 *    here the callback returns a promise and the exporter does not proceed until it
 *    resolves — the same ordering, in an event loop.)
 *
 * Hot-add is the driver's probe again (pci rescan / bind): the memory is registered and
 * published anew and importers are told, so they may choose it again.
 */

import type { PciFunction } from '../pci/model.js';
import type { DeviceRef, P2pdma } from './p2pdma.js';
import { P2pError } from './errors.js';

export type RemovalMode = 'pgmap' | 'dmabuf';
export const REMOVAL_MODES: readonly RemovalMode[] = ['pgmap', 'dmabuf'];

/** A driver that maps providers' MMIO (the DMABUF importer; the pgmap user is told nothing). */
export interface P2pImporter {
  /**
   * move_notify: `provider` is going away. Stop every DMA to/from its MMIO, unmap it, and
   * resolve only when nothing of it is mapped any more. Must not reject.
   */
  moveNotify(provider: PciFunction): Promise<void>;
  /** `provider` was (re-)probed and publishes p2pmem again. */
  providerAdded?(provider: PciFunction): void;
  /** `provider` is gone (after either mode). */
  providerRemoved?(provider: PciFunction, mode: RemovalMode): void;
}

export interface RemovalReport {
  readonly bdf: string;
  readonly mode: RemovalMode;
  /** Live allocations when the removal started. */
  readonly outstandingAtStart: number;
  /** Importers that received move_notify (dmabuf mode). */
  readonly importersNotified: number;
  readonly ms: number;
}

export class P2pProviderLifecycle {
  private readonly importers = new Set<P2pImporter>();
  private readonly removing = new Map<PciFunction, Promise<RemovalReport>>();
  /** Removed providers (so a hot-add knows what it may bring back). */
  private readonly removed = new Set<PciFunction>();
  removals = 0;
  additions = 0;

  constructor(
    private readonly p2pdma: P2pdma,
    private readonly log: (m: string) => void = () => {},
  ) {}

  /** Register an importer; returns its unregister function. */
  addImporter(i: P2pImporter): () => void {
    this.importers.add(i);
    return () => this.importers.delete(i);
  }

  isRemoved(f: PciFunction): boolean {
    return this.removed.has(f);
  }

  /** Remove a provider's p2pmem (driver unbind / hot-remove). ENODEV when it has none. */
  remove(dev: DeviceRef, mode: RemovalMode): Promise<RemovalReport> {
    const r = this.p2pdma.resolve(dev);
    if (!r.ok) return Promise.reject(r.error);
    const f = r.value;
    const busy = this.removing.get(f);
    if (busy !== undefined) return busy;
    if (!this.p2pdma.providers().includes(f)) return Promise.reject(new P2pError('ENODEV', `${f.bdf} has no p2pmem to remove`));
    const p = this.run(f, mode).finally(() => this.removing.delete(f));
    this.removing.set(f, p);
    return p;
  }

  private async run(f: PciFunction, mode: RemovalMode): Promise<RemovalReport> {
    const t0 = performance.now();
    const outstanding = this.p2pdma.stats(f).outstanding;
    // Kill the reference first: new allocations fail and find skips the provider.
    const drained = this.p2pdma.unbind(f);
    let notified = 0;
    if (mode === 'dmabuf') {
      this.log(`${f.bdf}: removing (dmabuf): move_notify to ${this.importers.size} importer(s), ${outstanding} mapping(s) live`);
      const all = [...this.importers];
      notified = all.length;
      await Promise.all(all.map((i) => i.moveNotify(f)));
      const left = this.p2pdma.stats(f).outstanding;
      if (left !== 0) this.log(`${f.bdf}: ${left} allocation(s) still mapped after every importer's move_notify; waiting for them`);
    } else {
      this.log(`${f.bdf}: removing (pgmap): waiting for ${outstanding} allocation(s) to be freed`);
    }
    await drained;
    this.removed.add(f);
    this.removals++;
    for (const i of this.importers) i.providerRemoved?.(f, mode);
    const ms = performance.now() - t0;
    this.log(`${f.bdf}: p2p provider removed (${mode}) after ${ms.toFixed(1)} ms`);
    return { bdf: f.bdf, mode, outstandingAtStart: outstanding, importersNotified: notified, ms };
  }

  /** Hot-add: probe the provider's driver again. EBUSY while it is being removed or when it is there. */
  add(dev: DeviceRef): PciFunction {
    const r = this.p2pdma.resolve(dev);
    if (!r.ok) throw r.error;
    const f = r.value;
    if (this.removing.has(f)) throw new P2pError('EBUSY', `${f.bdf} is still being removed`);
    if (this.p2pdma.providers().includes(f)) throw new P2pError('EBUSY', `${f.bdf} already provides p2pmem`);
    if (!(f.kind === 'nvme' && f.cmb !== null) && !(f.kind === 'p2pmem' && f.p2pmem !== null)) {
      throw new P2pError('ENODEV', `${f.bdf} has no memory a p2pmem driver would register (no CMB, not a p2pmem card)`);
    }
    const p = this.p2pdma.probe(f);
    if (!p.ok) throw p.error;
    this.removed.delete(f);
    this.additions++;
    this.log(`${f.bdf}: p2p provider added`);
    for (const i of this.importers) i.providerAdded?.(f);
    return f;
  }
}
