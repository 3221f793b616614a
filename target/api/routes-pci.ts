/**
 * /api/pci and /api/p2p: the emulated PCIe topology (with lspci -tv style text),
 * p2pmem providers (sysfs p2pmem/size, available, published) and the p2pdma
 * policy's reasoning for a client list.
 */

import type { FastifyInstance } from 'fastify';
import type { PciFunction } from '../../src/pci/model.js';
import type { Link } from '../../src/pci/link.js';
import { describeLink } from '../../src/pci/link.js';
import { renderTree } from '../../src/pci/lspci.js';
import { hexAddr } from '../../src/pci/units.js';
import { acsNames } from '../../src/pci/acs.js';
import type { P2pPolicy } from '../../src/p2pdma/policy.js';
import { ServiceError } from '../service-error.js';
import { explainClients } from '../p2p/explain.js';
import * as S from './schemas.js';
import { apiContextOf } from './context.js';

const hex4 = (n: number): string => '0x' + n.toString(16).padStart(4, '0');

function linkView(l: Link | null): Record<string, unknown> | null {
  if (l === null) return null;
  return { id: l.id, kind: l.kind, gen: l.gen, width: l.width, bandwidth: l.bandwidth, text: describeLink(l) };
}

function functionView(f: PciFunction): Record<string, unknown> {
  return {
    bdf: f.bdf,
    role: f.role,
    kind: f.kind,
    /** NIC kind (rdma | tcp-ddp | tcp) of a NIC, null otherwise. */
    nic: f.nicKind,
    label: f.label,
    vendor: hex4(f.vendorId),
    device: hex4(f.deviceId),
    upstream: f.upstream?.bdf ?? null,
    children: f.children.map((c) => c.bdf),
    link: linkView(f.link ?? f.rcLink),
    acs: f.acsFlags,
    acs_cap: f.acsCap === null ? null : acsNames(f.acsCap),
    acs_redirect: f.acsRedirect,
    driver: f.driver,
    dma_virt_ops: f.virtDmaOps,
    bars: f.bars.map((b) => ({
      index: b.index,
      type: b.type,
      size: b.size,
      prefetchable: b.prefetchable,
      bits: b.bits,
      cpu_addr: hexAddr(b.cpuAddr),
      bus_addr: hexAddr(b.busAddr),
    })),
    cmb: f.cmb,
    p2pmem: f.p2pmem,
  };
}

/** A fastify plugin: its routes read the service from the instance's `nvmetApi` decorator (target/api/context.ts). */
export async function pciRoutes(app: FastifyInstance): Promise<void> {
  const ctx = apiContextOf(app);
  const { svc } = ctx;

  app.get('/api/pci/tree', { schema: { summary: 'The PCIe topology: functions, links and lspci -tv style text' } }, async () => {
    const t = svc.topology;
    const hb = t.hostBridge;
    return {
      name: t.name,
      source: svc.topologySource,
      text: renderTree(t, { links: true }),
      host_bridge: {
        name: hb.name,
        label: hb.label,
        domain: hb.domain,
        root_bus: hb.rootBus,
        bus_offset: hexAddr(hb.busOffset),
        host_bridge_dev: hb.hostBridgeDev ? { bdf: hb.hostBridgeDev.bdf, vendor: hex4(hb.hostBridgeDev.vendorId), device: hex4(hb.hostBridgeDev.deviceId) } : null,
        dram: linkView(hb.dramLink),
      },
      host_bridges: t.hostBridges.map((h) => ({
        name: h.name,
        domain: h.domain,
        root_bus: h.rootBus,
        bus_offset: hexAddr(h.busOffset),
        host_bridge_dev: h.hostBridgeDev ? { bdf: h.hostBridgeDev.bdf, vendor: hex4(h.hostBridgeDev.vendorId), device: hex4(h.hostBridgeDev.deviceId) } : null,
        root_bus_devices: h.rootBusDevices.map((f) => f.bdf),
      })),
      cpu: t.cpu,
      boot: { iommu: t.boot.iommu, disable_acs_redir: t.boot.disableAcsRedir, log: t.bootLog.map((l) => l.text) },
      functions: t.functions.map(functionView),
      switches: t.switches.map((s) => ({ name: s.name, upstream: s.upstreamPort.bdf, downstream: s.downstreamPorts.map((d) => d.bdf) })),
      links: t.links.map(linkView),
    };
  });

  const device = (bdf: string): PciFunction => {
    const f = svc.topology.get(bdf);
    if (f === undefined) throw new ServiceError('not-found', 'ENODEV', `no PCI function ${bdf} in the topology`);
    return f;
  };

  app.get<{ Params: { bdf: string } }>('/api/pci/devices/:bdf', { schema: { summary: 'One PCI function', params: S.bdfParams } }, async (req) =>
    functionView(device(req.params.bdf)),
  );

  app.get<{ Params: { bdf: string } }>(
    '/api/pci/devices/:bdf/p2pmem',
    { schema: { summary: 'sysfs p2pmem of a provider: size, available, published', params: S.bdfParams } },
    async (req) => {
      const f = device(req.params.bdf);
      const p = svc.providers().find((x) => x.bdf === f.bdf);
      if (p === undefined) throw new ServiceError('not-found', 'ENODEV', `${f.bdf} registers no p2pmem (no p2pmem/ directory in sysfs)`);
      return p;
    },
  );

  app.get('/api/p2p/state', { schema: { summary: 'The p2pmem data path: per-port binding and staging counters, provider pools, DMA bytes per link, root complex and DRAM' } }, async () => {
    const st = svc.dataPathState();
    if (st === null) throw new ServiceError('not-found', 'ENODEV', 'the p2pmem data path is off in this target');
    return st;
  });

  app.get('/api/p2p/providers', { schema: { summary: 'Every p2pmem provider with size, available and published' } }, async () => svc.providers());

  app.get<{ Querystring: { clients: string; policy?: P2pPolicy } }>(
    '/api/p2p/explain',
    { schema: { summary: 'What pci_p2pmem_find would choose for a client list (comma-separated BDFs), and why', querystring: S.explainQuery } },
    async (req) => {
      const clients = req.query.clients.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (clients.length === 0) throw new ServiceError('invalid', 'EINVAL', 'querystring.clients: give at least one PCI address');
      if (clients.length > 64) throw new ServiceError('invalid', 'EINVAL', 'querystring.clients: at most 64 clients');
      return explainClients(svc.topology, req.query.policy ?? svc.policy, clients, svc.dp?.p2pdma);
    },
  );
}
