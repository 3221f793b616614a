/**
 * `nvmet-ts topology FILE`: render a PCIe topology (a topology file, or the one a
 * configuration uses) as an lspci -tv style tree, list its p2pmem providers, and
 * show every provider decision with the policy's reasoning: for a configuration,
 * each port's (NIC + namespaces); for a bare topology, each NIC with all NVMe SSDs
 * and each NIC with each SSD.
 */

import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { loadConfigFile, formatIssue, type NvmetConfig } from '../config/index.js';
import { parseTopology } from '../../src/pci/parse-topology.js';
import { loadBuiltinTopology } from '../../src/pci/load.js';
import { renderAcs, renderTree } from '../../src/pci/lspci.js';
import { describePlatform } from '../../src/p2pdma/explain.js';
import type { PciTopology } from '../../src/pci/topology.js';
import { isP2pPolicy, P2P_POLICY_NAMES, DEFAULT_POLICY, describePolicyNames, type P2pPolicy } from '../../src/p2pdma/policy.js';
import { decidePort, describeProvider, explainClients, formatExplanation, providersOf, type Explanation } from '../p2p/explain.js';

export const TOPOLOGY_USAGE = `Usage: nvmet-ts topology [--policy P] [--json] FILE

Render the PCIe topology of FILE (a topology file, or an nvmet-ts configuration)
and every p2pmem provider decision with its reasoning.

Options:
  --policy P   ${describePolicyNames()}
  --json       machine-readable output
`;

interface Out {
  out: (s: string) => void;
  err: (s: string) => void;
}

interface Decision {
  what: string;
  explanation: Explanation | null;
  note?: string;
}

function looksLikeTopology(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && ('rootComplex' in v || 'rootPorts' in v);
}

/** Decisions for a bare topology: every NIC with every SSD together, then pairwise. */
function topologyDecisions(topo: PciTopology, policy: P2pPolicy): Decision[] {
  const nics = topo.ofKind('rnic');
  const ssds = topo.ofKind('nvme');
  const out: Decision[] = [];
  for (const nic of nics) {
    if (ssds.length > 1) {
      out.push({ what: `NIC ${nic.bdf} + all NVMe SSDs`, explanation: explainClients(topo, policy, [nic.bdf, ...ssds.map((s) => s.bdf)]) });
    }
    for (const ssd of ssds) out.push({ what: `NIC ${nic.bdf} + ${ssd.bdf}`, explanation: explainClients(topo, policy, [nic.bdf, ssd.bdf]) });
  }
  if (nics.length === 0) {
    for (const ssd of ssds) out.push({ what: `${ssd.bdf} alone`, explanation: explainClients(topo, policy, [ssd.bdf]) });
  }
  return out;
}

function configDecisions(cfg: NvmetConfig, topo: PciTopology, policy: P2pPolicy): Decision[] {
  return cfg.ports.map((p) => {
    const d = decidePort(cfg, topo, policy, p.portid)!;
    return {
      what: `port ${p.portid} (allow_p2pmem=${d.allowP2pmem ? 1 : 0}; clients ${d.clients.join(', ') || 'none'})`,
      explanation: d.explanation,
      note: d.why,
    };
  });
}

export async function topologyCommand(argv: string[], io: Out): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { policy: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    io.err(`nvmet-ts topology: ${(e as Error).message}\n\n${TOPOLOGY_USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.out(TOPOLOGY_USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) {
    io.err(`nvmet-ts topology: expected exactly one FILE\n\n${TOPOLOGY_USAGE}`);
    return 2;
  }
  const policy = args.values.policy ?? DEFAULT_POLICY;
  if (!isP2pPolicy(policy)) {
    io.err(`nvmet-ts topology: --policy must be one of ${P2P_POLICY_NAMES.join(', ')}\n`);
    return 2;
  }
  const file = args.positionals[0]!;

  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    io.err(`${file}: ${(e as Error).message}\n`);
    return 1;
  }

  let topo: PciTopology;
  let source: string;
  let cfg: NvmetConfig | undefined;
  if (looksLikeTopology(raw)) {
    const r = parseTopology(raw, '');
    if (!r.ok) {
      for (const e of r.errors) io.err(`${file}: error: ${formatIssue({ path: e.path || '$', message: e.message })}\n`);
      return 1;
    }
    topo = r.topology;
    source = file;
  } else {
    const r = await loadConfigFile(file);
    if (!r.ok) {
      for (const e of r.errors) io.err(`${file}: error: ${formatIssue(e)}\n`);
      return 1;
    }
    cfg = r.config;
    if (r.topology) {
      const t = parseTopology(r.topology.document, 'topology');
      if (!t.ok) {
        for (const e of t.errors) io.err(`${file}: error: ${formatIssue(e)}\n`);
        return 1;
      }
      topo = t.topology;
      source = r.topology.source;
    } else {
      topo = loadBuiltinTopology('default');
      source = 'built-in default';
    }
  }

  const providers = providersOf(topo);
  const decisions = cfg ? configDecisions(cfg, topo, policy) : topologyDecisions(topo, policy);

  if (args.values.json) {
    io.out(JSON.stringify({ name: topo.name, source, policy, tree: renderTree(topo, { links: true }), platform: describePlatform(topo), acs: renderAcs(topo), providers, decisions }, null, 2) + '\n');
    return 0;
  }
  const lines: string[] = [];
  lines.push(`topology ${topo.name} (${source}): ${topo.functions.length} PCI functions, host bridge${topo.hostBridges.length > 1 ? 's' : ''} ${topo.hostBridges.map((h) => h.name).join(', ')}`);
  lines.push('');
  lines.push(renderTree(topo, { links: true }).trimEnd());
  lines.push('');
  // What the kernel policies look at besides the tree.
  lines.push(...describePlatform(topo));
  const acs = renderAcs(topo);
  if (acs.length > 0) lines.push('ACS:', ...acs.map((l) => `  ${l}`));
  lines.push('');
  lines.push(`p2pmem providers (${providers.length}):`);
  if (providers.length === 0) lines.push('  none');
  for (const p of providers) lines.push(`  ${describeProvider(p)}`);
  lines.push('');
  lines.push(`provider decisions (policy ${policy}):`);
  if (decisions.length === 0) lines.push('  none (no NICs or SSDs to decide for)');
  for (const d of decisions) {
    lines.push(`  ${d.what}`);
    if (d.explanation) lines.push(...formatExplanation(d.explanation, '    '));
    if (d.note && (!d.explanation || d.note !== d.explanation.summary)) lines.push(`    note: ${d.note}`);
  }
  io.out(lines.join('\n') + '\n');
  return 0;
}
