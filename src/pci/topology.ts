/**
 * A validated fabric: every PCI function, switch, link and the host bridge. Produced by
 * `parseTopology`; lookups accept BDFs in any accepted spelling.
 */

import { normalizeBdf } from './bdf.js';
import type { Link } from './link.js';
import type { Bar, EndpointKind, HostBridge, PciFunction, PciSwitch } from './model.js';

/** CPUID vendor strings the kernel distinguishes (x86 `c->x86_vendor`). */
export type CpuVendor = 'AuthenticAMD' | 'GenuineIntel' | 'HygonGenuine' | 'CentaurHauls' | 'Shanghai' | 'unknown';
export type CpuArch = 'x86_64' | 'aarch64' | 'riscv64' | 'ppc64le' | 's390x';

/** The boot CPU (cpu_data(0)) as far as p2pdma looks at it. */
export interface CpuInfo {
  readonly arch: CpuArch;
  readonly vendor: CpuVendor;
  /** x86 family (c->x86), e.g. 0x17 for Zen/Zen 2, 0x19 for Zen 3/4, 6 for Intel Core/Xeon. */
  readonly family: number;
  /** True when the topology declared no CPU (the defaults above were assumed). */
  readonly assumed: boolean;
}

/** Kernel boot state that changes what p2pdma sees: IOMMU and ACS overrides. */
export interface BootConfig {
  /**
   * An IOMMU driver called pci_request_acs() (intel_iommu=on, AMD-Vi, SMMU, …): at
   * enumeration pci_std_enable_acs() sets SV, RR, CR and UF wherever the ACS capability
   * supports them.
   */
  readonly iommu: boolean;
  /** The `pci=disable_acs_redir=` value (pci_dev_str_match syntax), or null. */
  readonly disableAcsRedir: string | null;
}

/** A kernel log line emitted at enumeration (ACS set-up). */
export interface BootLogLine {
  readonly level: 'info' | 'warn';
  readonly device: string;
  readonly text: string;
}

export class PciTopology {
  private readonly byBdf = new Map<string, PciFunction>();
  private readonly byLinkId = new Map<string, Link>();

  constructor(
    readonly name: string,
    /** The first host bridge (the only one on most machines). */
    readonly hostBridge: HostBridge,
    readonly rootPorts: readonly PciFunction[],
    readonly switches: readonly PciSwitch[],
    /** Every function (ports, bridges, endpoints) in bus enumeration order. */
    readonly functions: readonly PciFunction[],
    /** Every link: DRAM, root-port↔root-complex, then device links in enumeration order. */
    readonly links: readonly Link[],
    /** Every host bridge (root bus), in (domain, bus) order; hostBridges[0] === hostBridge. */
    readonly hostBridges: readonly HostBridge[] = [hostBridge],
    readonly cpu: CpuInfo = { arch: 'x86_64', vendor: 'unknown', family: 0, assumed: true },
    readonly boot: BootConfig = { iommu: false, disableAcsRedir: null },
    readonly bootLog: readonly BootLogLine[] = [],
  ) {
    for (const f of functions) this.byBdf.set(f.bdf, f);
    for (const l of links) this.byLinkId.set(l.id, l);
  }

  /** Look a function up by BDF ("0000:03:00.0" or "03:00.0"). */
  get(bdf: string): PciFunction | undefined {
    const key = normalizeBdf(bdf, this.hostBridge.domain);
    return key === null ? undefined : this.byBdf.get(key);
  }

  link(id: string): Link | undefined {
    return this.byLinkId.get(id);
  }

  get endpoints(): PciFunction[] {
    return this.functions.filter((f) => f.role === 'endpoint');
  }

  ofKind(kind: EndpointKind): PciFunction[] {
    return this.functions.filter((f) => f.kind === kind);
  }

  /** The memory BAR containing a CPU physical address, if any. */
  barAtCpuAddr(addr: number): Bar | undefined {
    for (const f of this.functions) {
      for (const b of f.bars) if (b.isMemory && b.containsCpu(addr)) return b;
    }
    return undefined;
  }

  /** Functions of the same device (bus:device) as `f`, including `f`. */
  siblingsOf(f: PciFunction): PciFunction[] {
    return this.functions.filter((g) => g.slot === f.slot);
  }
}
