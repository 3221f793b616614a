/**
 * The NVMe/TCP transport (Linux nvmet-tcp): one TCP listener per enabled port,
 * one TcpQueue per accepted connection.
 */

import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { TrType } from '../core/fabrics-ops.js';
import type { CoreQueueFactory, FabricsOps, PortInfo } from '../core/fabrics-ops.js';
import { DEFAULT_INLINE_DATA_SIZE, resolveTcpOptions } from './options.js';
import type { ResolvedTcpOptions, TcpTransportOptions } from './options.js';
import { adoptWithReader } from './accept.js';
import { TcpQueue } from './queue.js';

/**
 * Where an adopted connection's first read lands (registered before its queue
 * exists). Shared: a read is consumed inside its callback, before any other.
 */
const FIRST_READ = Buffer.allocUnsafeSlow(4096);

interface Listener {
  readonly server: Server;
  readonly queues: Set<TcpQueue>;
}

export class TcpTransport implements FabricsOps {
  readonly trtype = TrType.TCP;
  readonly opts: ResolvedTcpOptions;
  private readonly ports = new Map<number, Listener>();

  constructor(options: TcpTransportOptions = {}) {
    this.opts = resolveTcpOptions(options);
  }

  async addPort(port: PortInfo, core: CoreQueueFactory): Promise<{ trsvcid: string }> {
    if (this.ports.has(port.portId)) throw new Error(`tcp: port ${port.portId} is already enabled`);
    const svc = Number(port.trsvcid);
    if (!Number.isInteger(svc) || svc < 0 || svc > 65535) throw new Error(`tcp: invalid trsvcid '${port.trsvcid}'`);
    const ref = {
      portId: port.portId,
      inlineDataSize: port.inlineDataSize >= 0 ? port.inlineDataSize : DEFAULT_INLINE_DATA_SIZE,
    };
    const queues = new Set<TcpQueue>();
    // Paused on accept so the connection can be re-wrapped to read into its own buffer first.
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (accepted: Socket) => {
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
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      server.once('error', onErr);
      server.listen({ host: port.traddr, port: svc }, () => {
        server.off('error', onErr);
        resolve();
      });
    });
    this.ports.set(port.portId, { server, queues });
    const addr = server.address() as AddressInfo;
    return { trsvcid: String(addr.port) };
  }

  async removePort(portId: number): Promise<void> {
    const l = this.ports.get(portId);
    if (l === undefined) return;
    this.ports.delete(portId);
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
}
