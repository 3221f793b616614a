/**
 * The seam between the config loader and the PCIe topology model (src/pci).
 *
 * The config file carries the topology opaquely (inline object or file path);
 * its meaning belongs to src/pci's parseTopology. A `TopologyValidator` wraps
 * that parser: it returns the parsed topology plus the few facts the loader needs
 * to check placements (is 0000:03:00.0 a NIC? does 0000:05:00.0 publish p2pmem?).
 * Without a validator the topology passes through unchecked.
 */
import { pathIndex, pathKey, type ConfigIssue, type IssueSink } from './issues.js';
import type { JsonValue } from './json.js';
import type { NvmetConfig, PortConfig, SubsystemConfig } from './types.js';

/** What a PCI function is, as far as placement is concerned. */
export type PciFunctionKind = 'nic' | 'nvme' | 'p2pmem' | 'other';

export interface TopologyFacts {
  /** The kind of the function at `bdf` (canonical "0000:03:00.0"), or undefined when there is none. */
  functionKind(bdf: string): PciFunctionKind | undefined;
  /** Whether the function at `bdf` publishes p2pmem (a CMB, a p2pmem card's BAR). */
  publishesP2pmem(bdf: string): boolean;
}

export type TopologyCheck =
  | { ok: true; facts: TopologyFacts; /** the parsed topology, for the runtime */ topology: unknown }
  /** Paths relative to the topology document's root ("$" for the root). */
  | { ok: false; errors: ConfigIssue[] };

export type TopologyValidator = (doc: JsonValue) => TopologyCheck;

/** A topology document read from a file a config references. */
export interface TopologyDocument {
  /** The path as written in the config ("topologies/default.json"), used in error paths. */
  readonly file: string;
  readonly value: JsonValue;
}

/** Join a topology-relative path onto the path the topology sits at. */
export function joinPath(base: string, sub: string): string {
  if (sub === '$' || sub === '') return base;
  if (sub.startsWith('$')) sub = sub.slice(1);
  return sub.startsWith('[') ? base + sub : `${base}.${sub}`;
}

/**
 * Validate the topology (inline, or the referenced document) and check every
 * placement in the config against it. Returns the validator's result when it ran.
 */
export function checkTopologyPlacement(
  config: NvmetConfig,
  validator: TopologyValidator | undefined,
  document: TopologyDocument | undefined,
  sink: IssueSink,
): TopologyCheck | undefined {
  if (!validator || !config.topology) return undefined;
  let doc: JsonValue;
  let base: string;
  if (config.topology.kind === 'inline') {
    doc = config.topology.value;
    base = 'topology';
  } else {
    if (!document) return undefined;
    doc = document.value;
    base = `${document.file}:`;
  }
  const check = validator(doc);
  if (!check.ok) {
    for (const e of check.errors) {
      sink.error(base.endsWith(':') ? base + (e.path === '$' ? '$' : e.path.replace(/^\$\.?/, '')) : joinPath(base, e.path), e.message);
    }
    return check;
  }
  config.ports.forEach((p, i) => checkPortPlacement(check.facts, p, pathIndex('ports', i), sink));
  config.subsystems.forEach((s, i) => checkSubsystemPlacement(check.facts, s, pathIndex('subsystems', i), sink));
  return check;
}

/** The topology's facts for placement checks, or undefined when there is nothing to check against. */
export function topologyFacts(
  config: Pick<NvmetConfig, 'topology'>,
  validator: TopologyValidator | undefined,
  document: TopologyDocument | undefined,
): TopologyFacts | undefined {
  if (!validator || !config.topology) return undefined;
  const doc = config.topology.kind === 'inline' ? config.topology.value : document?.value;
  if (doc === undefined) return undefined;
  const check = validator(doc);
  return check.ok ? check.facts : undefined;
}

function expectKind(facts: TopologyFacts, bdf: string | undefined, kind: PciFunctionKind, path: string, what: string, sink: IssueSink): void {
  if (bdf === undefined) return;
  const k = facts.functionKind(bdf);
  if (k === undefined) sink.error(path, `no PCI function ${bdf} in the topology`);
  else if (k !== kind) sink.error(path, `${bdf} is a ${k} function, not ${what}`);
}

/** A port's NIC placement (`path`: where the port sits in the document). */
export function checkPortPlacement(facts: TopologyFacts, p: PortConfig, path: string, sink: IssueSink): void {
  expectKind(facts, p.nvmetTs?.nic, 'nic', pathKey(pathKey(path, 'nvmet_ts'), 'nic'), 'a NIC', sink);
}

/** A subsystem's namespaces: SSD placement and p2pmem providers. */
export function checkSubsystemPlacement(facts: TopologyFacts, s: SubsystemConfig, path: string, sink: IssueSink): void {
  s.namespaces.forEach((ns, k) => {
    const nsPath = pathIndex(pathKey(path, 'namespaces'), k);
    expectKind(facts, ns.nvmetTs?.nvme, 'nvme', pathKey(pathKey(nsPath, 'nvmet_ts'), 'nvme'), 'an NVMe SSD', sink);
    if (typeof ns.p2pmem === 'string') {
      if (facts.functionKind(ns.p2pmem) === undefined) {
        sink.error(pathKey(nsPath, 'p2pmem'), `no PCI function ${ns.p2pmem} in the topology`);
      } else if (!facts.publishesP2pmem(ns.p2pmem)) {
        sink.error(pathKey(nsPath, 'p2pmem'), `${ns.p2pmem} does not publish p2pmem (Linux: ENODEV)`);
      }
    }
  });
}
