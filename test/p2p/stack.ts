/**
 * A whole target on an emulated PCIe fabric for p2p tests: Nvmet core, the NVMe/TCP
 * transport on 127.0.0.1 (ephemeral port) or the simulated RDMA transport on a
 * private fabric, and the p2pmem data path with a real copy engine (worker threads).
 */
import { afterEach } from 'vitest';
import { Controller } from '../../initiator/controller.js';
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import type { Subsystem } from '../../target/core/subsystem.js';
import type { Port } from '../../target/core/port.js';
import type { Namespace } from '../../target/core/namespace.js';
import type { Logger } from '../../target/core/log.js';
import { TcpTransport } from '../../target/tcp/index.js';
import { RdmaFabric } from '../../src/rdma/fabric.js';
import { RdmaTransport } from '../../target/rdma/transport.js';
import { P2pDataPath } from '../../target/p2p/data-path.js';
import type { P2pmemSetting } from '../../target/p2p/placement.js';
import { loadBuiltinTopology, type BuiltinTopology } from '../../src/pci/load.js';
import { parseTopologyOrThrow } from '../../src/pci/parse-topology.js';
import type { PciTopology } from '../../src/pci/topology.js';
import type { P2pPolicy } from '../../src/p2pdma/policy.js';

export const SUBNQN = 'nqn.2024-01.io.nvmet-ts:p2p-test';
export const NIC = '0000:03:00.0';
export const SSD1 = '0000:04:00.0';
export const SSD2 = '0000:05:00.0';
export const CARD = '0000:06:00.0';
/** Default topology: the root port's link to the switch. */
export const ROOT_PORT_LINK = '0000:00:01.0<->0000:01:00.0';

export interface StackNamespace {
  nsid: number;
  size?: number;
  /** SSD BDF; null = not behind a PCI device. */
  nvme?: string | null;
  p2pmem?: P2pmemSetting;
  /** Backing file instead of RAM. */
  file?: string;
  enable?: boolean;
}

export interface StackOptions {
  topology?: BuiltinTopology | PciTopology | object;
  trtype?: 'tcp' | 'rdma';
  allowP2pmem?: boolean;
  nic?: string | null;
  namespaces?: StackNamespace[];
  policy?: P2pPolicy;
  workers?: number;
  inlineThreshold?: number;
  random?: () => number;
  inlineDataSize?: number;
  /** Do not enable the port. */
  noEnable?: boolean;
}

export interface Stack {
  nvmet: Nvmet;
  dp: P2pDataPath;
  subsys: Subsystem;
  port: Port;
  fabric: RdmaFabric;
  tcp: TcpTransport;
  traddr: string;
  trsvcid: string;
  logs: string[];
  ns(nsid: number): Namespace;
  stop(): Promise<void>;
}

export function topologyOf(t: StackOptions['topology']): PciTopology {
  if (t === undefined) return loadBuiltinTopology('default');
  if (typeof t === 'string') return loadBuiltinTopology(t as BuiltinTopology);
  if ('functions' in (t as object)) return t as PciTopology;
  return parseTopologyOrThrow(t);
}

export function captureLogger(lines: string[]): Logger {
  const push = (level: string) => (m: string): void => {
    lines.push(`${level}: ${m}`);
  };
  return { debug: () => {}, info: push('info'), warn: push('warn'), error: push('error') };
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const logs: string[] = [];
  const logger = captureLogger(logs);
  const dp = new P2pDataPath({
    topology: topologyOf(o.topology),
    logger,
    workers: o.workers ?? 2,
    inlineThreshold: o.inlineThreshold ?? 16 * 1024,
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.random !== undefined ? { random: o.random } : {}),
  });
  const nvmet = createNvmet({ logger, ...dp.coreOptions() });
  const tcp = new TcpTransport({ logger });
  nvmet.registerTransport(tcp);
  const fabric = new RdmaFabric();
  nvmet.registerTransport(new RdmaTransport({ logger, fabric, mover: dp }));
  const subsys = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true, serial: 'P2PTEST0001' });
  for (const n of o.namespaces ?? [{ nsid: 1, nvme: SSD1 }, { nsid: 2, nvme: SSD2 }]) {
    const spec = n.file !== undefined ? { kind: 'file' as const, path: n.file, size: n.size ?? 8 << 20 } : { kind: 'ram' as const, size: n.size ?? 64 << 20 };
    const ns = subsys.addNamespace({
      nsid: n.nsid,
      backend: dp.backendFor(spec, { nvme: n.nvme === undefined ? SSD1 : n.nvme, ...(n.p2pmem !== undefined ? { p2pmem: n.p2pmem } : {}) }),
    });
    if (n.enable !== false) await ns.enable();
  }
  const trtype = o.trtype ?? 'tcp';
  const port = nvmet.addPort({
    portId: 1,
    trtype: trtype === 'tcp' ? TrType.TCP : TrType.RDMA,
    traddr: trtype === 'tcp' ? '127.0.0.1' : '192.0.2.1',
    trsvcid: '0',
    ...(o.inlineDataSize !== undefined ? { inlineDataSize: o.inlineDataSize } : {}),
  });
  port.addSubsystem(subsys);
  dp.configurePort(1, { ...(o.nic !== undefined ? { nic: o.nic } : { nic: NIC }), allowP2pmem: o.allowP2pmem ?? false });
  if (o.noEnable !== true) await port.enable();
  return {
    nvmet,
    dp,
    subsys,
    port,
    fabric,
    tcp,
    logs,
    get traddr() {
      return port.addr.traddr;
    },
    get trsvcid() {
      return port.addr.trsvcid;
    },
    ns: (nsid) => subsys.getNamespace(nsid)!,
    stop: async () => {
      await nvmet.shutdown();
      await dp.close();
      assertNoLeaks(dp);
    },
  };
}

/**
 * The stack and host one test runs against. `perTest()` (called once, at module level)
 * closes them after every test: the host first, then the stack (whose stop checks for
 * leaks), then `after` for whatever else the file set up.
 */
export interface PerTest<H extends { close(): Promise<void> }> {
  stack: Stack | null;
  host: H | null;
}

export function perTest<H extends { close(): Promise<void> } = Controller>(o: { after?: () => Promise<void> } = {}): PerTest<H> {
  const t: PerTest<H> = { stack: null, host: null };
  afterEach(async () => {
    await t.host?.close().catch(() => {});
    t.host = null;
    await t.stack?.stop();
    t.stack = null;
    await o.after?.();
  });
  return t;
}

/** A TCP host on the stack's port (kato 0: no keep-alive traffic during the test). */
export function connectTcp(s: Stack, queues = 1): Promise<Controller> {
  return Controller.connect({ host: '127.0.0.1', port: Number(s.trsvcid), subnqn: SUBNQN, queues, kato: 0 });
}

/** Every provider back to its full size, no system-memory staging outstanding: call after shutdown. */
export function assertNoLeaks(dp: P2pDataPath): void {
  for (const p of dp.state().providers) {
    if (p.available !== p.size || p.outstanding !== 0) throw new Error(`p2pmem leak on ${p.bdf}: ${p.available} of ${p.size} available, ${p.outstanding} allocations outstanding`);
  }
  if (dp.dram.outstandingBuffers !== 0) throw new Error(`system-memory staging leak: ${dp.dram.outstandingBuffers} buffers`);
  if (dp.staging.outstandingP2p !== 0 || dp.staging.outstandingSystem !== 0) throw new Error('staging buffers outstanding after shutdown');
}

export { pattern } from '../integration/harness.js';

/** Bytes through each direction of a link between two counter snapshots. */
export function linkDelta(before: { links: Record<string, { up: number; down: number }> }, after: { links: Record<string, { up: number; down: number }> }, id: string): { up: number; down: number } {
  const a = before.links[id] ?? { up: 0, down: 0 };
  const b = after.links[id] ?? { up: 0, down: 0 };
  return { up: b.up - a.up, down: b.down - a.down };
}

/** Poll `cond` every 5 ms for at most `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
