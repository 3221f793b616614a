/**
 * The service's lifecycle: what a running nvmet-ts is built from (the options), the
 * objects it is built of — the target core, the p2pmem data path, the transports
 * registered with the core — the PCIe topology a document names, and the shutdown.
 */

import type { Nvmet } from '../core/nvmet.js';
import { createNvmet } from '../create-nvmet.js';
import type { Logger } from '../core/log.js';
import { TcpTransport } from '../tcp/index.js';
import { RdmaTransport } from '../rdma/transport.js';
import { ServiceError } from '../service-error.js';
import type { NvmetConfig } from '../config/index.js';
import type { TopologyDocument } from '../config/topology.js';
import type { BackingPathPolicy } from '../backend/path-policy.js';
import { parseTopology } from '../../src/pci/parse-topology.js';
import { loadBuiltinTopology } from '../../src/pci/load.js';
import type { PciTopology } from '../../src/pci/topology.js';
import type { P2pPolicy } from '../../src/p2pdma/policy.js';
import { P2pDataPath } from '../p2p/data-path.js';
import type { DataPathHooks } from './views.js';
import { ReactorPool } from '../reactor/pool.js';
import { MAX_REACTORS } from '../reactor/protocol.js';

export interface ServiceOptions {
  /** The configuration document (as loaded by loadConfigFile or parsed from JSON). */
  config: NvmetConfig;
  /** Directory relative backing paths resolve against (the config file's directory). Default: cwd. */
  baseDir?: string;
  /**
   * Which files namespaces may be backed by (data directory, --allow-path). The
   * start-up configuration's own files are trusted on top of it. Default: the
   * data directory ./nvmet-ts-data, nothing else.
   */
  paths?: BackingPathPolicy;
  /**
   * Addresses ports may be created on after start-up (API changes), besides
   * loopback and the start-up configuration's own addresses (--allow-listen).
   * "*" allows any address.
   */
  allowListen?: readonly string[];
  /** The document a `"topology": "file.json"` reference points to (LoadResult.topology). */
  topologyDocument?: TopologyDocument;
  logger: Logger;
  /** Override the address of every TCP port of the start-up configuration (CLI --listen). */
  listen?: { traddr: string; trsvcid: string };
  /** CLI --allow-p2pmem: turn the port option on for every port. */
  allowP2pmem?: boolean;
  /** p2pdma distance policy (CLI --policy). */
  policy?: P2pPolicy;
  /** Where `save()` writes by default (CLI --save, else --config). */
  savePath?: string;
  /**
   * The p2pmem data path (target/p2p): staging in p2pmem or system memory, SSD models,
   * DMA accounting, the simulated RDMA transport. Default on; `false` runs the plain
   * core (staging in pooled system memory, no PCIe accounting).
   */
  dataPath?: boolean | { workers?: number };
  /** Unique discovery NQN (CLI --discovery-nqn; Linux configfs discovery_nqn). */
  discoveryNqn?: string;
  /**
   * Event loops serving NVMe/TCP connections (CLI --reactors; default 1): the main
   * thread's and N-1 reactor threads' (target/reactor/pool.ts). Needs the data path.
   */
  reactors?: number;
}

/** The objects a running service is made of. */
export interface Runtime {
  readonly nvmet: Nvmet;
  readonly tcp: TcpTransport;
  /** The p2pmem data path, when on. */
  readonly dp: P2pDataPath | null;
  /** What the data path reports to the views (empty without it). */
  readonly hooks: DataPathHooks;
  /** The reactor threads, once started (startReactors). */
  reactors: ReactorPool | null;
}

/**
 * Build the core, the data path and the transports. The data path plugs into the
 * core through its seams (staging, enable hooks); the transports are registered here.
 */
export function createRuntime(opts: ServiceOptions, topology: PciTopology, policy: P2pPolicy): Runtime {
  let dp: P2pDataPath | null = null;
  const reactors = opts.reactors ?? 1;
  if (!Number.isInteger(reactors) || reactors < 1 || reactors > MAX_REACTORS) {
    throw new ServiceError('invalid', 'EINVAL', `reactors: ${reactors}: must be an integer 1..${MAX_REACTORS}`);
  }
  if (reactors > 1 && opts.dataPath === false) {
    throw new ServiceError('invalid', 'EINVAL', 'reactors: more than one event loop needs the data path (its shared RAM media is what reactors run I/O on)');
  }
  if (opts.dataPath !== false) {
    const workers = typeof opts.dataPath === 'object' ? opts.dataPath.workers : undefined;
    dp = new P2pDataPath({ topology, policy, logger: opts.logger, sharedMedia: reactors > 1, ...(workers !== undefined ? { workers } : {}) });
  }
  const nvmet = createNvmet({
    logger: opts.logger,
    ...(dp !== null ? dp.coreOptions() : {}),
    ...(opts.discoveryNqn !== undefined ? { discoveryNqn: opts.discoveryNqn } : {}),
  });
  const tcp = new TcpTransport({ logger: opts.logger });
  nvmet.registerTransport(tcp);
  if (dp !== null) nvmet.registerTransport(new RdmaTransport({ logger: opts.logger, mover: dp }));
  return { nvmet, tcp, dp, hooks: dp !== null ? dp.serviceHooks() : {}, reactors: null };
}

/** Start the reactor threads (reactors > 1) and let the TCP transport hand them connections. */
export async function startReactors(rt: Runtime, opts: ServiceOptions): Promise<void> {
  const loops = opts.reactors ?? 1;
  if (loops <= 1 || rt.dp === null) return;
  const dp = rt.dp;
  const o = rt.tcp.opts;
  rt.reactors = await ReactorPool.start({
    loops,
    nvmet: rt.nvmet,
    logger: opts.logger,
    accounting: dp.accounting,
    portModel: (portId) => dp.portModel(portId),
    maxTransfer: o.maxDataTransferSize,
    stagingBudget: o.stagingBudget,
    stagingReserve: o.stagingReserve,
    r2tBudget: o.r2tBudget,
  });
  rt.tcp.setHandover(rt.reactors);
  const pool = rt.reactors;
  rt.nvmet.statsSync = () => pool.flush();
}

/** Stop every port and controller, then the data path (its workers and pools). */
export async function stopRuntime(rt: Runtime): Promise<void> {
  await rt.nvmet.shutdown();
  rt.tcp.setHandover(null);
  rt.nvmet.statsSync = null;
  await rt.reactors?.close();
  await rt.dp?.close();
}

/**
 * The PCIe topology a document names: the built-in default, an inline one, or the
 * file loaded at start-up (`topologyDoc`; other files cannot be read after start-up).
 */
export function topologyFor(doc: NvmetConfig, topologyDoc: TopologyDocument | undefined): { topology: PciTopology; source: string } {
  const ref = doc.topology;
  if (ref === undefined) return { topology: loadBuiltinTopology('default'), source: 'built-in default' };
  if (ref.kind === 'inline') {
    const r = parseTopology(ref.value, 'topology');
    if (!r.ok) throw new ServiceError('invalid', 'EINVAL', `topology: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    return { topology: r.topology, source: 'inline' };
  }
  if (topologyDoc === undefined || topologyDoc.file !== ref.path) {
    throw new ServiceError('invalid', 'EINVAL', `topology: the file reference "${ref.path}" is not the one loaded at start-up; send the topology inline instead`);
  }
  const r = parseTopology(topologyDoc.value, 'topology');
  if (!r.ok) throw new ServiceError('invalid', 'EINVAL', `topology: ${r.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return { topology: r.topology, source: ref.path };
}
