/**
 * A running nvmet-ts: the target core, its transports, and the configuration it
 * was built from. This is the one place that turns a resolved configuration
 * (target/config) into core objects (target/core), so the CLI, the management
 * API and tests all start a target the same way.
 */

import { Nvmet } from './core/nvmet.js';
import { TrType } from './core/fabrics-ops.js';
import type { Logger } from './core/log.js';
import type { Port } from './core/port.js';
import { TcpTransport } from './tcp/index.js';
import type { ResolvedConfig, ResolvedNamespace, ResolvedPort, ResolvedSubsystem } from './config/resolve.js';
import type { BackendSpec } from './io/backend.js';
import type { Subsystem } from './core/subsystem.js';

export interface ServiceOptions {
  config: ResolvedConfig;
  logger: Logger;
  /** Override every TCP port's address (CLI --listen), e.g. { traddr: '127.0.0.1', trsvcid: '4420' }. */
  listen?: { traddr: string; trsvcid: string };
  /** CLI --allow-p2pmem: turn the port option on for every port. */
  allowP2pmem?: boolean;
}

const TRTYPES: Record<string, TrType> = { tcp: TrType.TCP, rdma: TrType.RDMA, loop: TrType.LOOP, fc: TrType.FC };

function trtypeName(t: TrType): string {
  for (const [name, v] of Object.entries(TRTYPES)) if (v === t) return name;
  return String(t);
}

function trtypeOf(p: { trtype: string }): TrType {
  const t = TRTYPES[p.trtype === '' ? 'tcp' : p.trtype];
  if (t === undefined) throw new Error(`unsupported trtype "${p.trtype}"`);
  return t;
}

function backendOf(ns: ResolvedNamespace): BackendSpec {
  if (ns.backing === null) throw new Error(`namespace ${ns.nsid} has no device path`);
  return ns.backing.kind === 'ram' ? { kind: 'ram', size: ns.backing.bytes } : { kind: 'file', path: ns.backing.path };
}

export class NvmetService {
  readonly nvmet: Nvmet;
  readonly tcp: TcpTransport;
  /** Ports' p2pmem option as configured (the data path reads it). */
  readonly allowP2pmem = new Map<number, boolean>();

  private constructor(readonly opts: ServiceOptions) {
    this.nvmet = new Nvmet({ logger: opts.logger });
    this.tcp = new TcpTransport({ logger: opts.logger });
    this.nvmet.registerTransport(this.tcp);
  }

  /** Build everything the configuration describes and enable its ports. */
  static async start(opts: ServiceOptions): Promise<NvmetService> {
    const svc = new NvmetService(opts);
    try {
      for (const s of opts.config.subsystems) await svc.addSubsystem(s, opts.config.hosts);
      for (const p of opts.config.ports) await svc.addPort(p);
    } catch (e) {
      await svc.stop();
      throw e;
    }
    return svc;
  }

  async addSubsystem(s: ResolvedSubsystem, knownHosts: readonly string[] = []): Promise<Subsystem> {
    for (const h of s.allowedHosts) {
      if (knownHosts.length > 0 && !knownHosts.includes(h)) throw new Error(`subsystem ${s.nqn}: allowed host ${h} is not in hosts`);
    }
    const sub = this.nvmet.addSubsystem({
      nqn: s.nqn,
      serial: s.serial,
      model: s.model,
      firmwareRev: s.firmware,
      version: s.vs,
      ieeeOui: s.ieeeOui,
      allowAnyHost: s.allowAnyHost,
      allowedHosts: s.allowedHosts,
      cntlidMin: s.cntlidMin,
      cntlidMax: s.cntlidMax,
      maxQid: s.qidMax,
    });
    for (const ns of s.namespaces) {
      if (ns.backing === null) continue;
      const n = sub.addNamespace({
        nsid: ns.nsid,
        backend: backendOf(ns),
        blockSize: ns.blockSize,
        uuid: ns.uuid,
        ...(/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(ns.nguid) ? {} : { nguid: ns.nguid }),
      });
      if (ns.enabled) await n.enable();
    }
    return sub;
  }

  async addPort(p: ResolvedPort): Promise<Port> {
    const trtype = trtypeOf(p);
    const listen = trtype === TrType.TCP ? this.opts.listen : undefined;
    const port = this.nvmet.addPort({
      portId: p.portid,
      trtype,
      traddr: listen?.traddr ?? (p.traddr === '' ? '127.0.0.1' : p.traddr),
      trsvcid: listen?.trsvcid ?? (p.trsvcid === '' ? '4420' : p.trsvcid),
      ...(p.inlineDataSize >= 0 ? { inlineDataSize: p.inlineDataSize } : {}),
    });
    this.allowP2pmem.set(p.portid, p.allowP2pmem || this.opts.allowP2pmem === true);
    for (const nqn of p.subsystems) port.addSubsystem(nqn);
    let id = 1;
    for (const r of p.referrals) {
      if (!r.enabled) continue;
      port.addReferral({ id: id++, portId: r.portid, trtype: trtypeOf(r), traddr: r.traddr, trsvcid: r.trsvcid });
    }
    if (this.nvmet.transport(trtype) === undefined) {
      this.opts.logger.warn(`port ${p.portid}: no ${p.trtype} transport here; the port stays disabled`);
      return port;
    }
    await port.enable();
    return port;
  }

  async stop(): Promise<void> {
    await this.nvmet.shutdown();
  }

  /** The one-screen start-up summary. */
  summary(): string {
    const lines: string[] = [];
    for (const p of this.nvmet.ports) {
      const p2p = this.allowP2pmem.get(p.id) === true ? 'allow_p2pmem=1' : 'allow_p2pmem=0';
      lines.push(`port ${p.id}: ${trtypeName(p.addr.trtype)} ${p.addr.traddr}:${p.addr.trsvcid} (${p.state}, ${p2p})`);
      for (const s of p.subsystems) lines.push(`  subsystem ${s.nqn}`);
    }
    for (const s of this.nvmet.subsystems) {
      lines.push(`subsystem ${s.nqn} (serial ${s.serial}, model "${s.model}", ${s.allowAnyHost ? 'any host' : `${s.allowedHosts.length} allowed host(s)`})`);
      for (const ns of s.namespaces) {
        lines.push(`  namespace ${ns.nsid}: ${ns.backend.kind} ${formatBytes(ns.backend.size)} ${ns.blockSize} B blocks (${ns.state})`);
      }
    }
    return lines.join('\n');
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}
