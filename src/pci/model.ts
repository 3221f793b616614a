/**
 * The emulated PCIe fabric: a host bridge (root complex) with root ports, switches
 * (an upstream port plus virtual PCI-to-PCI bridges as downstream ports), conventional
 * PCI bridges and endpoint functions with BARs. Built only by `parseTopology`; consumers
 * treat every object as read-only.
 *
 * Addresses are JS numbers (exact up to 2^53 − 1). CPU physical addresses and PCI bus
 * addresses differ by the host bridge offset: bus = cpu − busOffset.
 */

import { formatBdf, formatSlot, type Bdf } from './bdf.js';
import { acsNames, hasAcsRedirect, type AcsFlagName } from './acs.js';
import type { Link } from './link.js';

/**
 * 'host-bridge' is the type-0 function a host bridge often shows at devfn 00.0 of its root
 * bus (class 0600, e.g. QEMU q35's 8086:29c0). It is not a PCI-to-PCI bridge:
 * pci_upstream_bridge() never returns it; only the 6.1 allow list looks at its IDs.
 */
export type PciRole = 'host-bridge' | 'root-port' | 'switch-upstream' | 'switch-downstream' | 'pci-bridge' | 'endpoint';

/** Roles whose function has a secondary bus (a type-1 header). */
export const BRIDGE_ROLES: readonly PciRole[] = ['root-port', 'switch-upstream', 'switch-downstream', 'pci-bridge'];
export type EndpointKind = 'rnic' | 'nvme' | 'p2pmem' | 'other';
export type BarType = 'mem' | 'io';

/**
 * How a NIC moves NVMe payload, which decides what p2pmem staging can save:
 *  - `rdma`:    an RDMA NIC; RDMA READ/WRITE DMA to/from any BAR (what mainline nvmet-rdma uses
 *               p2pmem for). NVMe/TCP through it is plain TCP (the kernel's socket path).
 *  - `tcp-ddp`: an RDMA NIC that also offloads NVMe/TCP direct data placement and data digest
 *               (CRC32C) — ConnectX-7 class, the ulp_ddp nvme-tcp offload: TCP payload is placed
 *               straight into the staging buffer, wherever it is.
 *  - `tcp`:     a plain Ethernet NIC: TCP payload lands in socket buffers in system memory and
 *               the CPU copies it to/from the staging buffer (MMIO accessors for p2pmem); RDMA
 *               on it is software RoCE (rxe, dma_virt_ops: never a p2pdma client).
 */
export type NicKind = 'rdma' | 'tcp-ddp' | 'tcp';
export const NIC_KINDS: readonly NicKind[] = ['rdma', 'tcp-ddp', 'tcp'];

/** NVMe Controller Memory Buffer as the controller advertises it (CMBLOC/CMBSZ), in bytes. */
export interface CmbConfig {
  readonly bar: number;
  readonly offset: number;
  readonly size: number;
  /** CMBSZ.WDS: write data (host → controller payloads) may live in the CMB. */
  readonly wds: boolean;
  /** CMBSZ.RDS: read data (controller → host payloads) may live in the CMB. */
  readonly rds: boolean;
  readonly sqs: boolean;
  readonly cqs: boolean;
  readonly lists: boolean;
}

/** What a p2pmem card's driver registers at probe. size 0 = rest of the BAR from offset. */
export interface P2pmemConfig {
  readonly bar: number;
  readonly offset: number;
  readonly size: number;
  readonly publish: boolean;
}

/**
 * A device-ish thing that is not (necessarily) a PCI function: a block device, a
 * namespace, an RDMA device, … `find_parent_pci_dev` walks `parent` to the first PCI
 * function. `virtDmaOps` marks a device whose driver uses dma_virt_ops (e.g. rxe).
 */
export interface GenericDevice {
  readonly name: string;
  readonly parent?: DeviceLike | null;
  readonly virtDmaOps?: boolean;
}

export type DeviceLike = PciFunction | GenericDevice;

export class Bar {
  private sab: SharedArrayBuffer | null = null;

  constructor(
    readonly owner: PciFunction,
    readonly index: number,
    readonly type: BarType,
    readonly size: number,
    readonly prefetchable: boolean,
    readonly bits: 32 | 64,
    /** CPU physical address of the BAR (what `pci_resource_start` returns). */
    readonly cpuAddr: number,
    /** Address on the PCI bus (what peers put in their TLPs; `pci_bus_address`). */
    readonly busAddr: number,
    readonly jsonPath: string,
  ) {}

  get isMemory(): boolean {
    return this.type === 'mem';
  }

  /** True once the backing SharedArrayBuffer exists (it is created on first use). */
  get isBacked(): boolean {
    return this.sab !== null;
  }

  /**
   * The BAR's backing store, shared with worker threads. Created lazily: the OS maps
   * zero pages on demand, so even a 1 GiB BAR costs nothing until touched.
   */
  memory(): SharedArrayBuffer {
    if (this.type !== 'mem') throw new TypeError(`${this.owner.bdf} BAR ${this.index} is an I/O BAR and has no memory`);
    if (this.sab === null) this.sab = new SharedArrayBuffer(this.size);
    return this.sab;
  }

  /** A byte view of [offset, offset + length) of the BAR. */
  view(offset = 0, length = this.size - offset): Uint8Array {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.owner.bdf} BAR ${this.index}: view [${offset}, +${length}) outside 0..${this.size}`);
    }
    return new Uint8Array(this.memory(), offset, length);
  }

  containsCpu(addr: number): boolean {
    return addr >= this.cpuAddr && addr < this.cpuAddr + this.size;
  }
}

export class PciFunction {
  /** Discriminates PCI functions from other `DeviceLike`s. */
  readonly isPci = true as const;
  /** dev_name(): the canonical BDF, e.g. "0000:03:00.0". */
  readonly name: string;
  readonly bdf: string;
  /** "0000:03:00": shared by all functions of one device. */
  readonly slot: string;
  readonly address: Bdf;
  private readonly barList: Bar[] = [];
  /** Supported ACS features (ACS Capability register); null = no ACS extended capability. */
  private acsCapBits: number | null;
  /** ACS Control after boot (firmware value, then pci_enable_acs / disable_acs_redir). */
  private acsCtrl: number;
  private hb: HostBridge | null = null;
  private drv: string | null = null;
  private up: PciFunction | null = null;
  private readonly kids: PciFunction[] = [];
  private upLink: Link | null = null;
  private rcUpLink: Link | null = null;
  private sw: PciSwitch | null = null;
  private secBus: number | null = null;
  private subBus: number | null = null;
  /** NIC endpoints (kind "rnic"): how the NIC moves payload (topology `nic`); null for every other function. */
  nicKind: NicKind | null = null;

  constructor(
    address: Bdf,
    readonly role: PciRole,
    /** Endpoint kind; null for bridges and ports. */
    readonly kind: EndpointKind | null,
    readonly vendorId: number,
    readonly deviceId: number,
    /** Human description for renderings ("NVMe SSD", "PCIe Switch Downstream Port", …). */
    readonly label: string,
    /**
     * ACS Control as platform firmware left it (mask of ACS_FLAGS). Without an ACS
     * capability (see `_setAcs`) there is no such register and the kernel never reads it.
     */
    readonly firmwareAcs: number,
    readonly virtDmaOps: boolean,
    readonly cmb: CmbConfig | null,
    readonly p2pmem: P2pmemConfig | null,
    /** Where this function is declared in the topology JSON (for messages). */
    readonly jsonPath: string,
  ) {
    this.address = address;
    this.bdf = formatBdf(address);
    this.name = this.bdf;
    this.slot = formatSlot(address);
    this.acsCapBits = firmwareAcs !== 0 ? firmwareAcs : null;
    this.acsCtrl = firmwareAcs;
  }

  get isBridge(): boolean {
    return BRIDGE_ROLES.includes(this.role);
  }

  /** The ACS Control register after boot; 0 for a function without the ACS capability. */
  get acs(): number {
    return this.acsCapBits === null ? 0 : this.acsCtrl;
  }

  get acsFlags(): readonly AcsFlagName[] {
    return acsNames(this.acs);
  }

  /** The ACS Capability register (supported features), or null: no ACS extended capability (dev->acs_cap == 0). */
  get acsCap(): number | null {
    return this.acsCapBits;
  }

  /**
   * pci_bridge_has_acs_redir() (drivers/pci/p2pdma.c, 4.20 and 6.1): the function has the
   * ACS capability and any of RR/CR/EC set in its control register, so peer TLPs through
   * it are redirected up to the root complex.
   */
  get acsRedirect(): boolean {
    return this.acsCapBits !== null && hasAcsRedirect(this.acsCtrl);
  }

  /** The host bridge whose root bus this function's hierarchy hangs from. */
  get hostBridge(): HostBridge {
    if (this.hb === null) throw new Error(`${this.bdf}: not attached to a host bridge`);
    return this.hb;
  }

  /** dev_driver_string(): the bound driver's name, or "pci" (the bus name) when none is bound. */
  get driver(): string {
    return this.drv ?? 'pci';
  }

  /** True for a device on a root bus without a root port above it (an RCiEP, or the host bridge function). */
  get onRootBus(): boolean {
    return this.up === null;
  }

  get bars(): readonly Bar[] {
    return this.barList;
  }

  bar(index: number): Bar | undefined {
    return this.barList.find((b) => b.index === index);
  }

  /** pci_upstream_bridge(): the bridge whose secondary bus this function sits on; null for root ports. */
  get upstream(): PciFunction | null {
    return this.up;
  }

  /** Functions on this bridge's secondary bus (empty for endpoints). */
  get children(): readonly PciFunction[] {
    return this.kids;
  }

  /**
   * The link between this function's device and its upstream bridge (shared by all
   * functions of a multi-function device). Null for root ports (see `rcLink`) and for
   * switch downstream ports, which hang off the switch's internal virtual bus.
   */
  get link(): Link | null {
    return this.upLink;
  }

  /** Root ports only: the port's connection into the root complex. */
  get rcLink(): Link | null {
    return this.rcUpLink;
  }

  /** For switch ports: the switch they belong to. */
  get switch(): PciSwitch | null {
    return this.sw;
  }

  get secondaryBus(): number | null {
    return this.secBus;
  }

  get subordinateBus(): number | null {
    return this.subBus;
  }

  /** The root port above this function (itself for a root port). */
  get rootPort(): PciFunction | null {
    let d: PciFunction | null = this;
    while (d && d.role !== 'root-port') d = d.up;
    return d;
  }

  /** @internal builder hooks (parseTopology only) */
  _addBar(bar: Bar): void {
    this.barList.push(bar);
    this.barList.sort((a, b) => a.index - b.index);
  }
  /** @internal */
  _attach(parent: PciFunction): void {
    this.up = parent;
    parent.kids.push(this);
  }
  /** @internal */
  _setLink(link: Link | null): void {
    this.upLink = link;
  }
  /** @internal */
  _setRcLink(link: Link): void {
    this.rcUpLink = link;
  }
  /** @internal */
  _setSwitch(sw: PciSwitch): void {
    this.sw = sw;
  }
  /** @internal */
  _setBusRange(secondary: number, subordinate: number): void {
    this.secBus = secondary;
    this.subBus = subordinate;
  }
  /** @internal */
  _setAcs(cap: number | null, ctrl: number): void {
    this.acsCapBits = cap;
    this.acsCtrl = ctrl;
  }
  /** @internal */
  _setHostBridge(hb: HostBridge): void {
    this.hb = hb;
  }
  /** @internal */
  _setDriver(name: string | null): void {
    this.drv = name;
  }
  /** @internal */
  _sortChildren(order: (f: PciFunction) => number): void {
    this.kids.sort((a, b) => order(a) - order(b));
  }
}

export class PciSwitch {
  constructor(
    readonly name: string,
    readonly upstreamPort: PciFunction,
    readonly downstreamPorts: readonly PciFunction[],
    readonly jsonPath: string,
  ) {}
}

export class HostBridge {
  private rootDevs: PciFunction[] = [];

  constructor(
    /** Linux names the host bridge device "pci0000:00" (domain:root bus). */
    readonly name: string,
    readonly label: string,
    readonly domain: number,
    readonly rootBus: number,
    /** CPU physical − PCI bus address for BARs behind this host bridge. */
    readonly busOffset: number,
    /** System memory as seen from the fabric (one DRAM link per topology, shared by every host bridge). */
    readonly dramLink: Link,
    /** Where this host bridge is declared in the topology JSON. */
    readonly jsonPath: string = 'rootComplex',
  ) {}

  /** Functions on the root bus (host bridge function, root ports, RCiEPs) in devfn order. */
  get rootBusDevices(): readonly PciFunction[] {
    return this.rootDevs;
  }

  /**
   * pci_host_bridge_dev() (drivers/pci/p2pdma.c, 6.1): the first device on the root bus
   * if it is devfn 00.0 or a PCIe root port, else null. Its vendor:device is what
   * __host_bridge_whitelist() looks up in pci_p2pdma_whitelist[].
   */
  get hostBridgeDev(): PciFunction | null {
    const first = this.rootDevs[0];
    if (!first) return null;
    if (first.address.device === 0 && first.address.fn === 0) return first;
    return first.role === 'root-port' ? first : null;
  }

  /** @internal */
  _setRootBusDevices(devs: PciFunction[]): void {
    this.rootDevs = [...devs].sort((a, b) => (a.address.device * 8 + a.address.fn) - (b.address.device * 8 + b.address.fn));
  }
}

export function isPciFunction(d: unknown): d is PciFunction {
  return d instanceof PciFunction;
}
