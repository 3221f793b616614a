/**
 * A validated fabric: every PCI function, switch, link and the host bridge. Produced by
 * `parseTopology`; lookups accept BDFs in any accepted spelling.
 */

import { normalizeBdf } from './bdf.js';
import type { Link } from './link.js';
import type { Bar, EndpointKind, HostBridge, PciFunction, PciSwitch } from './model.js';

export class PciTopology {
  private readonly byBdf = new Map<string, PciFunction>();
  private readonly byLinkId = new Map<string, Link>();

  constructor(
    readonly name: string,
    readonly hostBridge: HostBridge,
    readonly rootPorts: readonly PciFunction[],
    readonly switches: readonly PciSwitch[],
    /** Every function (ports, bridges, endpoints) in bus enumeration order. */
    readonly functions: readonly PciFunction[],
    /** Every link: DRAM, root-port↔root-complex, then device links in enumeration order. */
    readonly links: readonly Link[],
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
