/**
 * A p2pdma client list (the v3 `struct list_head` of pci_p2pdma_client): the PCI
 * functions that will DMA to/from a provider's memory, each bound to the provider the
 * list was assigned. Mutated only through the P2pdma methods, like the kernel list
 * (whose caller holds the lock).
 */

import type { DeviceLike, PciFunction } from '../pci/model.js';

export interface ClientEntry {
  /** The PCI function found by walking up from `device`. */
  readonly client: PciFunction;
  /** What the caller passed (a namespace, an RDMA device, a PCI function…). */
  readonly device: DeviceLike;
  readonly provider: PciFunction | null;
}

interface MutableEntry {
  client: PciFunction;
  device: DeviceLike;
  provider: PciFunction | null;
}

export class P2pClientList {
  private items: MutableEntry[] = [];

  get entries(): readonly ClientEntry[] {
    return this.items;
  }

  get length(): number {
    return this.items.length;
  }

  /** The PCI functions, in insertion order (duplicates kept, as the kernel does). */
  get clients(): PciFunction[] {
    return this.items.map((e) => e.client);
  }

  /** The provider bound to the list: that of its first entry (as pci_p2pdma_add_client reads it). */
  get provider(): PciFunction | null {
    return this.items[0]?.provider ?? null;
  }

  /** @internal */
  _push(client: PciFunction, device: DeviceLike, provider: PciFunction | null): void {
    this.items.push({ client, device, provider });
  }

  /** @internal */
  _removeClient(client: PciFunction): number {
    const before = this.items.length;
    this.items = this.items.filter((e) => e.client !== client);
    return before - this.items.length;
  }

  /** @internal */
  _bind(provider: PciFunction): void {
    for (const e of this.items) e.provider = provider;
  }

  /** @internal */
  _clear(): void {
    this.items = [];
  }
}
