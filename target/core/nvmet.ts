/**
 * Root of the target (Linux nvmet module state + configfs tree): subsystems,
 * ports, registered transports, the discovery subsystem and its generation counter.
 *
 *   const nvmet = createNvmet();   // target/create-nvmet.ts: the core plus the command handlers
 *   nvmet.registerTransport(tcp);
 *   const sub = nvmet.addSubsystem({ nqn, allowAnyHost: true });
 *   await sub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 1 << 30 } }).enable();
 *   const port = nvmet.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
 *   port.addSubsystem(sub);
 *   await port.enable();
 *   ...
 *   await nvmet.shutdown();
 */

import type { DhchapHostSettings } from '../../src/nvme/auth/controller-session.js';
import type { ConfiguredPsk } from '../../src/nvme/tls/psk.js';
import type { IoObserver } from './io-observer.js';
import type { FabricsOps } from './fabrics-ops.js';
import type { TrType } from './fabrics-ops.js';
import { Subsystem, checkNqn, type SubsystemOptions } from './subsystem.js';
import { Port, type PortOptions } from './port.js';
import type { Namespace } from './namespace.js';
import { SystemStagingAllocator, type StagingAllocator } from './staging.js';
import { defaultLogger, type Logger } from './log.js';
import type { FaultHook } from './fault-hook.js';
import type { CommandParser } from './request.js';
import { DISCOVERY_NQN } from '../../src/nvme/fabrics.js';
import { AnaRegistry } from './ana.js';

/**
 * Hooks of the PCIe/p2pdma data path (target/p2p) around enabling ports and
 * namespaces — where Linux runs its p2pmem checks (nvmet_ns_enable, port enable).
 * A hook that throws refuses the transition: the object stays disabled.
 */
export interface EnableHooks {
  /** A namespace is about to become visible (its backend is open). */
  namespaceEnabling?(ns: Namespace): void | Promise<void>;
  /** A namespace was disabled (its backend is closed). */
  namespaceDisabled?(ns: Namespace): void;
  /** A port is about to start listening. */
  portEnabling?(port: Port): void | Promise<void>;
  /** A port stopped listening. */
  portDisabled?(port: Port): void;
}

export interface NvmetOptions {
  /**
   * The command dispatcher (nvmet_req_init's choice of parser). The core imports no
   * command handler: target/create-nvmet.ts passes target/cmd/dispatch.ts here.
   */
  parseCommand: CommandParser;
  logger?: Logger;
  /** Where command data is staged (default: pooled system memory). */
  staging?: StagingAllocator;
  /** Checks around enabling ports and namespaces (a data path's; default none). */
  enableHooks?: EnableHooks;
  /** Upper bound on a command's data transfer in bytes, on top of the transport's (0 = transport decides). */
  maxDataTransferSize?: number;
  /** Serial number of the discovery subsystem (random by default). */
  discoverySerial?: string;
  /**
   * Unique discovery NQN (TP8013; configfs discovery_nqn): Identify and the
   * discovery log report it, and Connect accepts it as well as the well-known NQN.
   */
  discoveryNqn?: string;
}

export class Nvmet {
  readonly log: Logger;
  staging: StagingAllocator;
  /** See EnableHooks; empty unless a data path installs itself. */
  enableHooks: EnableHooks = {};
  /** Told of every completed I/O-queue command (metrics); null = nobody listens, nothing is timed. */
  ioObserver: IoObserver | null = null;
  /** Fault and latency injection (target/fault/, installed by target/create-nvmet.ts); null = none. */
  faultHook: FaultHook | null = null;
  /**
   * Counters kept elsewhere (reactor threads, target/reactor) are folded into the
   * namespace stats when this resolves; readers of those stats (the SMART log) wait for
   * it, so what they report includes every command completed before. null = nothing to wait for.
   */
  statsSync: (() => Promise<void>) | null = null;
  /** Why a fault rule cannot be added now (connections on reactor threads, where faults cannot act); null = it can. */
  faultRulesBlocked: (() => string | null) | null = null;
  readonly maxDataTransferSize: number;
  /** See NvmetOptions.parseCommand. */
  readonly parseCommand: CommandParser;
  /** The well-known discovery subsystem, reachable on every port. */
  readonly discovery: Subsystem;
  /** Discovery log generation counter (GENCTR): bumped on every change a discovery log could show. */
  genctr = 0;
  /** ANA groups enabled target-wide and the ANA change count (nvmet_ana_group_enabled[], nvmet_ana_chgcnt). */
  readonly ana = new AnaRegistry();
  /** When this target started (SMART power-on hours). */
  readonly startedAt = Date.now();
  private readonly subsysMap = new Map<string, Subsystem>();
  private readonly portMap = new Map<number, Port>();
  private readonly transports = new Map<number, FabricsOps>();
  private readonly hostSet = new Set<string>();
  private readonly hostDhchapMap = new Map<string, DhchapHostSettings>();
  private readonly hostTlsPskMap = new Map<string, ConfiguredPsk>();
  private closing = false;

  /** shutdown() began: nothing new starts (scheduled fault rules stop firing). */
  get shuttingDown(): boolean {
    return this.closing;
  }

  constructor(opts: NvmetOptions) {
    this.parseCommand = opts.parseCommand;
    this.log = opts.logger ?? defaultLogger();
    this.staging = opts.staging ?? new SystemStagingAllocator();
    this.enableHooks = opts.enableHooks ?? {};
    const mdts = opts.maxDataTransferSize ?? 0;
    if (!Number.isInteger(mdts) || mdts < 0 || (mdts !== 0 && mdts < 4096)) throw new RangeError(`maxDataTransferSize ${mdts} must be 0 or ≥ 4096`);
    this.maxDataTransferSize = mdts;
    this.discovery = new Subsystem(
      this,
      { nqn: DISCOVERY_NQN, model: 'nvmet-ts discovery', ...(opts.discoverySerial !== undefined ? { serial: opts.discoverySerial } : {}) },
      'discovery',
    );
    if (opts.discoveryNqn !== undefined) this.setDiscoveryNqn(opts.discoveryNqn);
  }

  /**
   * Set the unique discovery NQN (nvmet_root_discovery_nqn_store): refused when a
   * subsystem already has that NQN. Existing discovery controllers keep their association.
   */
  setDiscoveryNqn(nqn: string): void {
    checkNqn(nqn, 'discovery NQN');
    if (this.subsysMap.has(nqn)) throw new RangeError(`discovery NQN ${nqn} is the NQN of an existing subsystem`);
    this.discovery.renameDiscovery(nqn);
  }

  /** A Connect to this NQN reaches the discovery subsystem: the well-known or the unique one (nvmet_find_get_subsys). */
  isDiscoveryNqn(nqn: string): boolean {
    return nqn === DISCOVERY_NQN || nqn === this.discovery.nqn;
  }

  // ------------------------------------------------------------ transports

  /** Register a transport for its TRTYPE (nvmet_register_transport). */
  registerTransport(ops: FabricsOps): void {
    if (this.transports.has(ops.trtype)) throw new Error(`a transport for trtype ${ops.trtype} is already registered`);
    this.transports.set(ops.trtype, ops);
  }

  /** Unregister; ports using it must be disabled first. */
  unregisterTransport(trtype: TrType): void {
    for (const p of this.portMap.values()) {
      if (p.addr.trtype === trtype && p.state !== 'disabled') throw new Error(`port ${p.id} still uses trtype ${trtype}`);
    }
    this.transports.delete(trtype);
  }

  transport(trtype: TrType): FabricsOps | undefined {
    return this.transports.get(trtype);
  }

  // ------------------------------------------------------------ subsystems

  addSubsystem(opts: SubsystemOptions): Subsystem {
    if (this.closing) throw new Error('target is shutting down');
    if (this.isDiscoveryNqn(opts.nqn)) throw new Error(`${opts.nqn} is reserved: it is the discovery subsystem's NQN`);
    if (this.subsysMap.has(opts.nqn)) throw Object.assign(new Error(`subsystem ${opts.nqn} already exists`), { code: 'EEXIST' });
    const s = new Subsystem(this, opts);
    this.subsysMap.set(s.nqn, s);
    return s;
  }

  getSubsystem(nqn: string): Subsystem | undefined {
    return this.subsysMap.get(nqn);
  }

  get subsystems(): readonly Subsystem[] {
    return [...this.subsysMap.values()];
  }

  /** NVM subsystems plus the discovery subsystem. */
  allSubsystems(): Subsystem[] {
    return [this.discovery, ...this.subsysMap.values()];
  }

  /** Unlink from all ports, tear down its controllers, disable its namespaces, forget it. */
  async removeSubsystem(nqn: string): Promise<void> {
    const s = this.subsysMap.get(nqn);
    if (s === undefined) throw new Error(`no subsystem ${nqn}`);
    for (const p of this.portMap.values()) p.removeSubsystem(nqn);
    s.deleteControllers('subsystem removed');
    for (const ns of s.namespaces) await s.removeNamespace(ns.nsid);
    this.subsysMap.delete(nqn);
  }

  // ------------------------------------------------------------ hosts

  /** Register a host NQN (configfs hosts/); subsystems then allow it with `allowHost`. */
  addHost(hostnqn: string): void {
    this.hostSet.add(checkNqn(hostnqn, 'host NQN'));
  }

  /**
   * Set or clear a host's DH-HMAC-CHAP settings (configfs hosts/<nqn>/dhchap_*). Like
   * Linux, a change applies to the next authentication transaction (new controllers, and
   * re-authentication of existing ones), not retroactively.
   */
  setHostDhchap(hostnqn: string, settings: DhchapHostSettings | undefined): void {
    if (settings === undefined) this.hostDhchapMap.delete(hostnqn);
    else this.hostDhchapMap.set(hostnqn, settings);
  }

  hostDhchap(hostnqn: string): DhchapHostSettings | undefined {
    return this.hostDhchapMap.get(hostnqn);
  }

  /** Set or clear a host's configured TLS PSK (what `nvme tls-key --import` puts in the keyring). */
  setHostTlsPsk(hostnqn: string, psk: ConfiguredPsk | undefined): void {
    if (psk === undefined) this.hostTlsPskMap.delete(hostnqn);
    else this.hostTlsPskMap.set(hostnqn, psk);
  }

  hostTlsPsk(hostnqn: string): ConfiguredPsk | undefined {
    return this.hostTlsPskMap.get(hostnqn);
  }

  /** Forget a host: it loses access to every subsystem (existing controllers stay, as in Linux). */
  removeHost(hostnqn: string): void {
    this.hostDhchapMap.delete(hostnqn);
    this.hostTlsPskMap.delete(hostnqn);
    if (!this.hostSet.delete(hostnqn)) return;
    for (const s of this.subsysMap.values()) s.disallowHost(hostnqn);
  }

  hasHost(hostnqn: string): boolean {
    return this.hostSet.has(hostnqn);
  }

  /** Registered hosts (including every host some subsystem allows). */
  get hosts(): readonly string[] {
    return [...this.hostSet];
  }

  // ------------------------------------------------------------ ports

  /** Create a port (disabled): link subsystems, then `enable()` it. */
  addPort(opts: PortOptions): Port {
    if (this.closing) throw new Error('target is shutting down');
    if (this.portMap.has(opts.portId)) throw Object.assign(new Error(`port ${opts.portId} already exists`), { code: 'EEXIST' });
    const p = new Port(this, opts);
    this.portMap.set(p.id, p);
    return p;
  }

  getPort(portId: number): Port | undefined {
    return this.portMap.get(portId);
  }

  get ports(): readonly Port[] {
    return [...this.portMap.values()];
  }

  async removePort(portId: number): Promise<void> {
    const p = this.portMap.get(portId);
    if (p === undefined) throw new Error(`no port ${portId}`);
    await p.disable();
    for (const s of p.subsystems) p.removeSubsystem(s.nqn);
    this.portMap.delete(portId);
    p.ana.dispose();
  }

  // ------------------------------------------------------------ ANA change notification

  /**
   * An ANA state that `port` reports changed (nvmet_port_send_ana_event): every
   * controller connected through it gets an ANA change event. With `subsys`, only
   * that subsystem's controllers (nvmet_send_ana_event); with no port, all ports.
   */
  anaChanged(port: Port | null, subsys: Subsystem | null = null): void {
    for (const s of subsys !== null ? [subsys] : this.allSubsystems()) {
      if (s.isDiscovery) continue;
      for (const c of s.controllers) if (port === null || c.port === port) c.anaChanged();
    }
  }

  // ------------------------------------------------------------ discovery change notification

  /**
   * Something the discovery log of `port` shows changed (nvmet_port_disc_changed):
   * bump GENCTR and notify discovery controllers on that port (those whose host may
   * see `subsys`, if given).
   */
  portDiscoveryChanged(port: Port, subsys: Subsystem | null): void {
    this.genctr++;
    for (const c of this.discovery.controllers) {
      if (c.port !== port) continue;
      if (subsys !== null && !subsys.hostAllowed(c.hostnqn)) continue;
      c.discoveryChanged();
    }
  }

  /**
   * Access to `subsys` changed for `hostnqn` (or every host when null)
   * (nvmet_subsys_disc_changed): bump GENCTR and notify discovery controllers on
   * every port linking it.
   */
  subsysDiscoveryChanged(subsys: Subsystem, hostnqn: string | null): void {
    this.genctr++;
    for (const c of this.discovery.controllers) {
      if (!c.port.hasSubsystem(subsys.nqn)) continue;
      if (hostnqn !== null && c.hostnqn !== hostnqn) continue;
      c.discoveryChanged();
    }
  }

  // ------------------------------------------------------------ lifetime

  /** Disable every port, tear down every controller, close every backend. */
  async shutdown(): Promise<void> {
    this.closing = true;
    const errors: unknown[] = [];
    for (const p of this.portMap.values()) {
      try {
        await p.disable();
      } catch (e) {
        errors.push(e);
      }
    }
    for (const s of this.allSubsystems()) s.deleteControllers('target shutdown');
    for (const s of this.subsysMap.values()) {
      for (const ns of s.namespaces) {
        try {
          await ns.disable();
        } catch (e) {
          errors.push(e);
        }
      }
    }
    if (errors.length > 0) this.log.error(`shutdown: ${errors.map(String).join('; ')}`);
  }
}
