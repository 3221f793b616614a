/**
 * The simulated NVMe/RDMA transport (Linux nvmet-rdma) as a FabricsOps for
 * TrType.RDMA: one listener on the in-process RDMA fabric per enabled port, one
 * RdmaQueue per connected queue pair. Hosts in the same process connect with
 * initiator/rdma. The data path is measured without TCP's framing and socket copies:
 * the only copies are the RNIC's RDMA READ/WRITE and the SSD's DMA.
 */

import { TrType } from '../core/fabrics-ops.js';
import type { CoreQueueFactory, FabricsOps, PortInfo } from '../core/fabrics-ops.js';
import { defaultLogger, type Logger } from '../core/log.js';
import { defaultRdmaFabric, ProtectionDomain, type RdmaFabric, type RdmaListener } from '../../src/rdma/fabric.js';
import { plainMover, RdmaQueue, type RdmaDataMover } from './queue.js';

/** nvmet-rdma's default inline data size (NVMET_RDMA_DEFAULT_INLINE_DATA_SIZE). */
export const RDMA_DEFAULT_INLINE_DATA_SIZE = 4096;
/** Largest transfer per command (nvmet-rdma's MDTS of 1 MiB); a keyed SGL could carry 16 MiB − 1. */
export const RDMA_MAX_TRANSFER = 1 << 20;

export interface RdmaTransportOptions {
  /** The fabric to listen on (default: the process-wide one hosts use by default). */
  fabric?: RdmaFabric;
  logger?: Logger;
  /** The PCIe model moving RDMA data (default: plain copies, nothing accounted). */
  mover?: RdmaDataMover;
}

interface Listening {
  readonly listener: RdmaListener;
  readonly queues: Set<RdmaQueue>;
}

export class RdmaTransport implements FabricsOps {
  readonly trtype = TrType.RDMA;
  readonly fabric: RdmaFabric;
  private readonly log: Logger;
  private readonly mover: RdmaDataMover;
  /** The target never exposes memory to hosts; its queue pairs share one empty domain. */
  private readonly pd = new ProtectionDomain();
  private readonly ports = new Map<number, Listening>();

  constructor(opts: RdmaTransportOptions = {}) {
    this.fabric = opts.fabric ?? defaultRdmaFabric;
    this.log = opts.logger ?? defaultLogger();
    this.mover = opts.mover ?? plainMover;
  }

  async addPort(port: PortInfo, core: CoreQueueFactory): Promise<{ trsvcid: string }> {
    if (this.ports.has(port.portId)) throw new Error(`rdma: port ${port.portId} is already enabled`);
    const ref = { portId: port.portId, inlineDataSize: port.inlineDataSize >= 0 ? port.inlineDataSize : RDMA_DEFAULT_INLINE_DATA_SIZE };
    const queues = new Set<RdmaQueue>();
    const listener = this.fabric.listen(port.traddr, port.trsvcid, this.pd, (ep) => {
      const q = new RdmaQueue(ep, ref, core, this.mover, this.log, (gone) => queues.delete(gone));
      queues.add(q);
    });
    this.ports.set(port.portId, { listener, queues });
    return { trsvcid: listener.trsvcid };
  }

  async removePort(portId: number): Promise<void> {
    const l = this.ports.get(portId);
    if (l === undefined) return;
    this.ports.delete(portId);
    l.listener.close();
    for (const q of [...l.queues]) q.disconnect('port removed');
  }

  maxTransferSize(): number {
    return RDMA_MAX_TRANSFER;
  }

  /** Queue pairs currently connected on a port (tests, stats). */
  connections(portId: number): number {
    return this.ports.get(portId)?.queues.size ?? 0;
  }
}
