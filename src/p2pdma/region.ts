/**
 * A piece of p2pmem handed to the data path: where it lives (provider, BAR, offset),
 * how the CPU and PCI peers address it, and a byte view into the BAR's
 * SharedArrayBuffer (created on first access, so bookkeeping-only users pay nothing).
 */

import type { Bar, PciFunction } from '../pci/model.js';

export class P2pMemRegion {
  private view: Uint8Array | null = null;

  constructor(
    readonly provider: PciFunction,
    readonly bar: Bar,
    /** Byte offset of the region inside the BAR. */
    readonly barOffset: number,
    /** CPU physical address (the "virt" handle: pass it to free / virtToBus). */
    readonly cpuAddr: number,
    /** PCI bus address: what a peer's DMA engine must target (cpuAddr − host bridge offset). */
    readonly busAddr: number,
    /** Bytes requested. */
    readonly length: number,
    /** Bytes reserved in the pool (length rounded up to PAGE_SIZE). */
    readonly reserved: number,
  ) {}

  /** The region's bytes: a view into the BAR's SharedArrayBuffer. */
  get bytes(): Uint8Array {
    if (this.view === null) this.view = this.bar.view(this.barOffset, this.length);
    return this.view;
  }

  get barIndex(): number {
    return this.bar.index;
  }
}

/** pci_p2pmem_alloc_sgl's result: always exactly one entry covering the whole length. */
export interface P2pSgl {
  readonly nents: 1;
  readonly entries: readonly [P2pMemRegion];
  readonly length: number;
}
