/**
 * The NVMe/TCP transport (Linux nvmet-tcp): one TCP listener per enabled port,
 * one TcpQueue per accepted connection.
 */

import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { TrType } from '../core/fabrics-ops.js';
import type { CoreQueueFactory, FabricsOps, PortInfo } from '../core/fabrics-ops.js';
import { DEFAULT_INLINE_DATA_SIZE, mergeLimits, resolveTcpOptions } from './options.js';
import type { ResolvedTcpOptions, TcpPortLimits, TcpTransportOptions } from './options.js';
import { adoptWithReader } from './accept.js';
import { TcpQueue } from './queue.js';
import type { TcpPortRef } from './queue.js';
import { StagingBudget } from './budget.js';
import { acceptTls, tlsTicketsDisabled } from './tls-accept.js';
import type { ConnectionHandover } from './handover.js';

/**
 * Where an adopted connection's first read lands (registered before its queue
 * exists). Shared: a read is consumed inside its callback, before any other.
 */
const FIRST_READ = Buffer.allocUnsafeSlow(4096);

interface Listener {
  readonly server: Server;
  readonly queues: Set<TcpQueue>;
  readonly sweep: NodeJS.Timeout;
  readonly limits: TcpPortLimits;
}

/** Timeouts are checked every quarter of the shortest one, within these bounds (ms). */
const SWEEP_MIN_MS = 10;
const SWEEP_MAX_MS = 1000;
/** Don't repeat the "connection refused" line more often than this. */
const DROP_LOG_INTERVAL_MS = 10_000;

export class TcpTransport implements FabricsOps {
  readonly trtype = TrType.TCP;
  readonly opts: ResolvedTcpOptions;
  /** Staging held by all connections of this transport (every port). */
  readonly budget: StagingBudget;
  private readonly ports = new Map<number, Listener>();
  private handover: ConnectionHandover | null = null;

  constructor(options: TcpTransportOptions = {}) {
    this.opts = resolveTcpOptions(options);
    const o = this.opts;
    this.budget = new StagingBudget(o.stagingBudget, o.stagingReserve, Math.min(o.r2tBudget, o.stagingBudget), o.logger);
  }

  /** Offer new non-TLS connections to `h` first (reactors); null: serve every connection here. */
  setHandover(h: ConnectionHandover | null): void {
    this.handover = h;
  }

  async addPort(port: PortInfo, core: CoreQueueFactory): Promise<{ trsvcid: string }> {
    if (this.ports.has(port.portId)) throw new Error(`tcp: port ${port.portId} is already enabled`);
    const svc = Number(port.trsvcid);
    if (!Number.isInteger(svc) || svc < 0 || svc > 65535) throw new Error(`tcp: invalid trsvcid '${port.trsvcid}'`);
    const limits = mergeLimits(this.opts.limits, port.limits);
    const ref: TcpPortRef = {
      portId: port.portId,
      inlineDataSize: port.inlineDataSize >= 0 ? port.inlineDataSize : DEFAULT_INLINE_DATA_SIZE,
      limits,
      budget: this.budget,
    };
    const queues = new Set<TcpQueue>();
    /** Connections of this port another event loop serves now. */
    let handedOver = 0;
    const tls = port.tls;
    if (tls !== undefined && !(await tlsTicketsDisabled())) {
      throw new Error(
        `tcp: port ${port.portId} needs TLS 1.3 without session tickets (a kernel host's kTLS cannot read them): ` +
          'start node with --openssl-config=config/openssl-nvmet-ts.cnf (bin/nvmet-ts does when its --config file has a tls1.3 port; npm start always does)',
      );
    }
    // Paused on accept so the connection can be re-wrapped to read into its own buffer first.
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (accepted: Socket) => {
      if (tls !== undefined) {
        // TLS ports (tls-accept.ts, H8): the handshake first, bounded like ICReq, then a queue on the TLS stream.
        const peer = `${accepted.remoteAddress}:${accepted.remotePort}`;
        acceptTls(accepted, tls, this.opts.logger, peer, limits.icreqTimeoutMs, (s) => {
          const q = new TcpQueue(s, ref, core, this.opts, (gone) => queues.delete(gone), false);
          queues.add(q);
        });
        return;
      }
      if (this.handover !== null) {
        // Connections handed to other loops left this server's count: max_connections covers them too.
        if (queues.size + handedOver >= limits.maxConnections) {
          refused({ remoteAddress: accepted.remoteAddress, remotePort: accepted.remotePort });
          accepted.destroy();
          return;
        }
        if (this.handover.take(accepted, ref, core, () => handedOver--)) {
          handedOver++;
          return;
        }
      }
      let socket = accepted;
      try {
        let q: TcpQueue | null = null;
        const own = adoptWithReader(accepted, () => q, FIRST_READ);
        if (own !== null) socket = own;
        else accepted.resume();
        q = new TcpQueue(socket, ref, core, this.opts, (gone) => queues.delete(gone), own !== null);
        queues.add(q);
      } catch (e) {
        this.opts.logger.error(`tcp port ${port.portId}: accept failed: ${String(e)}`);
        socket.destroy();
      }
    });
    server.on('error', (e) => this.opts.logger.error(`tcp port ${port.portId}: ${e.message}`));
    // Node refuses (closes at once) connections past maxConnections and emits 'drop'.
    server.maxConnections = Math.max(1, limits.maxConnections);
    let dropped = 0;
    let lastDropLog = -Infinity;
    const refused = (d?: { remoteAddress?: string; remotePort?: number }): void => {
      dropped++;
      const now = performance.now();
      if (now - lastDropLog < DROP_LOG_INTERVAL_MS) return;
      lastDropLog = now;
      this.opts.logger.warn(
        `tcp port ${port.portId}: connection from ${d?.remoteAddress ?? '?'}:${d?.remotePort ?? 0} refused: ` +
          `max_connections (${limits.maxConnections}) reached (${dropped} refused so far)`,
      );
    };
    server.on('drop', refused);
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      server.once('error', onErr);
      server.listen({ host: port.traddr, port: svc }, () => {
        server.off('error', onErr);
        resolve();
      });
    });
    const every = Math.min(limits.icreqTimeoutMs, limits.connectTimeoutMs, limits.pduTimeoutMs) / 4;
    const sweep = setInterval(
      () => {
        const now = performance.now();
        for (const q of queues) q.checkTimers(now);
      },
      Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, Math.floor(every))),
    );
    sweep.unref();
    this.ports.set(port.portId, { server, queues, sweep, limits });
    const addr = server.address() as AddressInfo;
    return { trsvcid: String(addr.port) };
  }

  async removePort(portId: number): Promise<void> {
    const l = this.ports.get(portId);
    if (l === undefined) return;
    this.ports.delete(portId);
    clearInterval(l.sweep);
    this.handover?.dropPort(portId);
    const closed = new Promise<void>((resolve) => l.server.close(() => resolve()));
    for (const q of [...l.queues]) q.disconnect('port removed');
    await closed;
  }

  maxTransferSize(): number {
    return this.opts.maxDataTransferSize;
  }

  /** Connections currently open on a port (tests, stats). */
  connections(portId: number): number {
    return this.ports.get(portId)?.queues.size ?? 0;
  }

  /** The limits a port runs with (its `param` over the transport's defaults). */
  portLimits(portId: number): TcpPortLimits | undefined {
    return this.ports.get(portId)?.limits;
  }

  /** Staged bytes and deferred commands per connection of a port (tests, stats). */
  queueStats(portId: number): Array<{ peer: string; stagedBytes: number; deferredCommands: number }> {
    const l = this.ports.get(portId);
    if (l === undefined) return [];
    return [...l.queues].map((q) => ({ peer: q.peer, stagedBytes: q.stagedBytes, deferredCommands: q.deferredCommands }));
  }
}
