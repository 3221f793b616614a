/**
 * A port (Linux struct nvmet_port): a transport address hosts connect to, the
 * subsystems reachable through it, and the referrals its discovery log lists.
 * `enable()` hands it to the transport registered for its TRTYPE (FabricsOps.addPort).
 *
 * States: disabled ──enable()──▶ enabling ──▶ enabled ──disable()──▶ disabled
 */

import { bumpStateEpoch } from './state-epoch.js';
import type { CoreQueue, CoreQueueFactory, PortInfo, PortLimits, TransportQueue } from './fabrics-ops.js';
import { TrType } from './fabrics-ops.js';
import type { Nvmet } from './nvmet.js';
import type { Subsystem } from './subsystem.js';
import { CoreQueueImpl } from './queue.js';
import { NVMET_DEFAULT_INLINE_DATA_SIZE } from './constants.js';
import { AdrFam, TcpSecType, Treq } from '../../src/nvme/discovery-log.js';
import { parsePskIdentity, tlsPsk, TlsPskError } from '../../src/nvme/tls/psk.js';
import type { TlsPortPolicy } from './fabrics-ops.js';
import { PortAnaGroups } from './ana.js';

/** Transport address of a port or referral (discovery log entry fields). */
export interface PortAddress {
  trtype: TrType;
  adrfam: number;
  traddr: string;
  trsvcid: string;
  treq: number;
  /** TSAS SECTYPE for NVMe/TCP (TcpSecType: 0 none, 2 TLS 1.3). */
  tsas: number;
}

export interface PortOptions {
  portId: number;
  trtype: TrType;
  /** Default: IPv4 for TCP/RDMA, loop for the loop transport. */
  adrfam?: number;
  traddr: string;
  /** Service id (TCP port); "0" asks the transport for an ephemeral one. */
  trsvcid: string;
  /** Transport requirements (TREQ), default "not specified". */
  treq?: number;
  /** NVMe/TCP TSAS SECTYPE (TcpSecType.Tls13 runs TLS before ICReq), default none. */
  tsas?: number;
  /** In-capsule data bytes for I/O queues (Linux param_inline_data_size). */
  inlineDataSize?: number;
  /** Transport limits and timeouts (port `param`), handed to the transport as given. */
  limits?: PortLimits;
}

export interface ReferralOptions {
  /** Identifies the referral within its parent port. */
  id: number;
  /** PORTID of the referred discovery service's port. */
  portId: number;
  trtype: TrType;
  adrfam?: number;
  traddr: string;
  trsvcid: string;
  treq?: number;
}

export interface Referral extends PortAddress {
  readonly id: number;
  readonly portId: number;
}

export type PortState = 'disabled' | 'enabling' | 'enabled' | 'disabling';

function defaultAdrfam(trtype: TrType): number {
  return trtype === TrType.LOOP ? AdrFam.IntraHost : AdrFam.Ipv4;
}

function checkAddrString(s: string, max: number, what: string): string {
  if (s.length === 0 || s.length > max || !/^[\x20-\x7e]+$/.test(s)) throw new RangeError(`${what} "${s}" must be 1..${max} printable ASCII characters`);
  return s;
}

export class Port implements CoreQueueFactory {
  readonly id: number;
  readonly addr: PortAddress;
  readonly inlineDataSize: number;
  readonly limits: PortLimits | undefined;
  state: PortState = 'disabled';
  /** ANA groups of this port (configfs ports/N/ana_groups; group 1 implicit). */
  readonly ana: PortAnaGroups;
  private readonly subsysMap = new Map<string, Subsystem>();
  private readonly referralMap = new Map<number, Referral>();

  constructor(
    readonly nvmet: Nvmet,
    opts: PortOptions,
  ) {
    if (!Number.isInteger(opts.portId) || opts.portId < 0 || opts.portId > 0xffff) throw new RangeError(`port id ${opts.portId} must be 0..65535`);
    this.id = opts.portId;
    this.addr = {
      trtype: opts.trtype,
      adrfam: opts.adrfam ?? defaultAdrfam(opts.trtype),
      traddr: checkAddrString(opts.traddr, 256, 'traddr'),
      trsvcid: checkAddrString(opts.trsvcid, 32, 'trsvcid'),
      treq: opts.treq ?? Treq.SecureChannelNotSpecified,
      tsas: opts.tsas ?? TcpSecType.None,
    };
    if (this.addr.tsas === TcpSecType.Tls13 && opts.trtype !== TrType.TCP) throw new RangeError(`port ${opts.portId}: TLS 1.3 (tsas) is for NVMe/TCP ports only`);
    if (this.addr.tsas !== TcpSecType.None && this.addr.tsas !== TcpSecType.Tls13) throw new RangeError(`port ${opts.portId}: TSAS SECTYPE ${this.addr.tsas} is not implemented (TLS 1.3 only)`);
    // Linux nvmet_addr_tsas_store: TLS 1.3 makes the secure channel required unless TREQ says "not required".
    if (this.addr.tsas === TcpSecType.Tls13 && (this.addr.treq & 3) === Treq.SecureChannelNotSpecified) this.addr.treq |= Treq.SecureChannelRequired;
    if (this.addr.tsas === TcpSecType.None && (this.addr.treq & 3) === Treq.SecureChannelRequired && opts.trtype === TrType.TCP) {
      throw new RangeError(`port ${opts.portId}: TREQ "required" needs a secure channel: set tsas "tls1.3"`);
    }
    const ids = opts.inlineDataSize ?? NVMET_DEFAULT_INLINE_DATA_SIZE;
    if (!Number.isInteger(ids) || ids < 0 || ids > 1 << 20) throw new RangeError(`inline data size ${ids} out of range`);
    this.inlineDataSize = ids;
    this.ana = new PortAnaGroups(nvmet.ana, () => nvmet.anaChanged(this));
    this.limits = opts.limits;
  }

  get enabled(): boolean {
    return this.state === 'enabled';
  }

  // ------------------------------------------------------------ TLS

  /** The TLS policy the transport applies before ICReq (undefined: plain NVMe/TCP). */
  tlsPolicy(): TlsPortPolicy | undefined {
    if (this.addr.tsas !== TcpSecType.Tls13) return undefined;
    return { required: (this.addr.treq & 3) !== Treq.SecureChannelNotRequired, psk: (identity) => this.tlsPsk(identity) };
  }

  /**
   * The TLS PSK for a PSK identity a host presents (what tlshd looks up in the .nvme
   * keyring on a Linux target): the host's configured key, derived for that identity.
   */
  tlsPsk(identity: string): { key: Uint8Array } | { why: string } {
    const id = parsePskIdentity(identity);
    if (id === undefined) return { why: `PSK identity "${identity.slice(0, 300)}" is not an NVMe TLS PSK identity` };
    if (id.kind === 'G') return { why: `generated PSKs (secure channel concatenation) are not implemented: identity "${identity}"` };
    if (id.cipher !== 1) return { why: `identity "${identity}" asks for TLS_AES_256_GCM_SHA384; nvmet-ts supports TLS_AES_128_GCM_SHA256 (hash 01) only` };
    if (this.findSubsystem(id.subnqn) === undefined) return { why: `identity names subsystem ${id.subnqn}, not exported on port ${this.id}` };
    const configured = this.nvmet.hostTlsPsk(id.hostnqn);
    if (configured === undefined) return { why: `no TLS PSK configured for host ${id.hostnqn}` };
    try {
      return { key: tlsPsk(configured, id) };
    } catch (e) {
      if (e instanceof TlsPskError) return { why: `identity "${identity}": ${e.message}` };
      throw e;
    }
  }

  // ------------------------------------------------------------ CoreQueueFactory

  createQueue(transportQueue: TransportQueue): CoreQueue {
    return new CoreQueueImpl(this, transportQueue);
  }

  // ------------------------------------------------------------ enable / disable

  /** Start listening through the registered transport for this TRTYPE. */
  async enable(): Promise<void> {
    if (this.state !== 'disabled') {
      if (this.state === 'enabled') return;
      throw new Error(`port ${this.id} is ${this.state}`);
    }
    const ops = this.nvmet.transport(this.addr.trtype);
    if (ops === undefined) throw new Error(`port ${this.id}: no transport registered for trtype ${this.addr.trtype}`);
    this.state = 'enabling';
    bumpStateEpoch();
    const info: PortInfo = {
      portId: this.id,
      traddr: this.addr.traddr,
      trsvcid: this.addr.trsvcid,
      inlineDataSize: this.inlineDataSize,
      ...(this.tlsPolicy() !== undefined ? { tls: this.tlsPolicy()! } : {}),
      ...(this.limits !== undefined ? { limits: this.limits } : {}),
    };
    try {
      await this.nvmet.enableHooks.portEnabling?.(this);
      const { trsvcid } = await ops.addPort(info, this);
      // An ephemeral service id ("0") becomes the one actually bound, so discovery reports it.
      this.addr.trsvcid = trsvcid;
      this.state = 'enabled';
      this.nvmet.log.info(`port ${this.id} enabled on ${this.addr.traddr}:${trsvcid}`);
    } catch (e) {
      this.state = 'disabled';
      this.nvmet.enableHooks.portDisabled?.(this);
      throw e;
    }
  }

  /** Stop listening and tear down every controller connected through this port. */
  async disable(): Promise<void> {
    if (this.state !== 'enabled') return;
    this.state = 'disabling';
    bumpStateEpoch();
    for (const s of this.nvmet.allSubsystems()) s.deleteControllers(`port ${this.id} disabled`, this.id);
    const ops = this.nvmet.transport(this.addr.trtype);
    try {
      if (ops !== undefined) await ops.removePort(this.id);
    } finally {
      this.state = 'disabled';
      this.nvmet.enableHooks.portDisabled?.(this);
    }
  }

  // ------------------------------------------------------------ subsystem links

  get subsystems(): readonly Subsystem[] {
    return [...this.subsysMap.values()];
  }

  hasSubsystem(nqn: string): boolean {
    return this.subsysMap.has(nqn);
  }

  /** Subsystem reachable through this port by NQN (the discovery subsystem always is). */
  findSubsystem(nqn: string): Subsystem | undefined {
    if (this.nvmet.isDiscoveryNqn(nqn)) return this.nvmet.discovery;
    return this.subsysMap.get(nqn);
  }

  /** Make a subsystem reachable through this port (configfs ports/N/subsystems symlink). */
  addSubsystem(subsys: Subsystem | string): void {
    const s = typeof subsys === 'string' ? this.nvmet.getSubsystem(subsys) : subsys;
    if (s === undefined) throw new Error(`no subsystem ${String(subsys)}`);
    if (s.isDiscovery) throw new Error('the discovery subsystem is implicitly reachable on every port');
    if (this.subsysMap.has(s.nqn)) return;
    this.subsysMap.set(s.nqn, s);
    this.nvmet.portDiscoveryChanged(this, s);
  }

  /** Unlink a subsystem; its controllers on this port are torn down (nvmet_port_del_ctrls). */
  removeSubsystem(nqn: string): void {
    const s = this.subsysMap.get(nqn);
    if (s === undefined) return;
    this.subsysMap.delete(nqn);
    s.deleteControllers(`unlinked from port ${this.id}`, this.id);
    this.nvmet.portDiscoveryChanged(this, s);
  }

  // ------------------------------------------------------------ referrals

  get referrals(): readonly Referral[] {
    return [...this.referralMap.values()];
  }

  addReferral(opts: ReferralOptions): Referral {
    if (this.referralMap.has(opts.id)) throw new Error(`port ${this.id} already has referral ${opts.id}`);
    const r: Referral = {
      id: opts.id,
      portId: opts.portId,
      trtype: opts.trtype,
      adrfam: opts.adrfam ?? defaultAdrfam(opts.trtype),
      traddr: checkAddrString(opts.traddr, 256, 'traddr'),
      trsvcid: checkAddrString(opts.trsvcid, 32, 'trsvcid'),
      treq: opts.treq ?? Treq.SecureChannelNotSpecified,
      tsas: TcpSecType.None,
    };
    this.referralMap.set(r.id, r);
    this.nvmet.portDiscoveryChanged(this, null);
    return r;
  }

  removeReferral(id: number): void {
    if (!this.referralMap.delete(id)) return;
    this.nvmet.portDiscoveryChanged(this, null);
  }

  describe(): string {
    return `port ${this.id} trtype ${this.addr.trtype} ${this.addr.traddr}:${this.addr.trsvcid} (${this.state})`;
  }
}
