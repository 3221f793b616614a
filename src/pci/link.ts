/**
 * Links of the emulated fabric and their raw bandwidth.
 *
 * Bandwidth is per direction (PCIe links are full duplex), in bytes per second:
 * transfer rate (GT/s per lane) × width × line-encoding efficiency / 8.
 * Gen1/Gen2 use 8b/10b, Gen3–Gen5 128b/130b. Gen6 runs FLIT mode (1b/1b encoding),
 * where 242 of each 256-byte FLIT carry TLP bytes; we count that as its efficiency.
 * TLP/DLLP protocol overhead is not modelled here (the data path may add it).
 */

export type PcieGen = 1 | 2 | 3 | 4 | 5 | 6;
export const PCIE_GENS: readonly PcieGen[] = [1, 2, 3, 4, 5, 6];
export const PCIE_WIDTHS: readonly number[] = [1, 2, 4, 8, 12, 16, 32];

/** GT/s per lane for each generation. */
export const GT_PER_SEC: Readonly<Record<PcieGen, number>> = { 1: 2.5, 2: 5, 3: 8, 4: 16, 5: 32, 6: 64 };

export function encodingEfficiency(gen: PcieGen): number {
  if (gen <= 2) return 8 / 10;
  if (gen <= 5) return 128 / 130;
  return 242 / 256;
}

/** Bytes per second in one direction of a PCIe link. */
export function pcieBandwidth(gen: PcieGen, width: number): number {
  return (GT_PER_SEC[gen] * 1e9 * width * encodingEfficiency(gen)) / 8;
}

/** A conventional PCI bus segment: shared, half duplex, clock × data width. */
export function pciBusBandwidth(mhz: number, bits: number): number {
  return (mhz * 1e6 * bits) / 8;
}

export type LinkKind =
  /** a PCIe link between a downstream-facing port (root port / switch downstream port) and a device */
  | 'pcie'
  /** a device's attachment to a conventional PCI bus below a PCI bridge (the bus bandwidth is shared) */
  | 'pci'
  /** a root port's connection into the root complex fabric */
  | 'root-complex'
  /** the root complex's path to system memory (DRAM) */
  | 'dram';

export interface Link {
  /** Stable id for metrics: "<upstream side><-><downstream side>", e.g. "0000:02:00.0<->0000:03:00.0". */
  readonly id: string;
  readonly kind: LinkKind;
  /** Name of the side nearer the root complex (a BDF, or the host bridge name "pci0000:00"). */
  readonly upstream: string;
  /** Name of the side further from the root complex (a BDF, or "dram"). */
  readonly downstream: string;
  /** PCIe generation, or null when the link is not PCIe (conventional bus, DRAM with a raw bandwidth). */
  readonly gen: PcieGen | null;
  /** Lanes (PCIe) or data bits (conventional PCI), or null for a DRAM link given as raw bandwidth. */
  readonly width: number | null;
  /** Bytes per second, one direction. */
  readonly bandwidth: number;
}

export function linkId(upstream: string, downstream: string): string {
  return `${upstream}<->${downstream}`;
}

/** "Gen3 x16 (15.75 GB/s)" */
export function describeLink(link: Link): string {
  const bw = `${(link.bandwidth / 1e9).toFixed(2)} GB/s`;
  if (link.kind === 'pci') return `PCI ${link.width}-bit (${bw})`;
  if (link.gen === null) return bw;
  return `Gen${link.gen} x${link.width} (${bw})`;
}
