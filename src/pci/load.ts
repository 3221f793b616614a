/**
 * Reading topology files from disk (kept apart from the pure parser).
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseTopology, TopologyError, type TopologyParseResult } from './parse-topology.js';
import type { PciTopology } from './topology.js';

/** Parse a topology JSON file; JSON syntax errors are reported against the file path. */
export function parseTopologyFile(path: string, pathPrefix = 'topology'): TopologyParseResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { ok: false, errors: [{ path, message: `cannot read topology file: ${(e as Error).message}` }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [{ path, message: `invalid JSON: ${(e as Error).message}` }] };
  }
  return parseTopology(json, pathPrefix);
}

/** Like `parseTopologyFile` but throws a `TopologyError`. */
export function loadTopologyFile(path: string, pathPrefix = 'topology'): PciTopology {
  const r = parseTopologyFile(path, pathPrefix);
  if (!r.ok) throw new TopologyError(r.errors);
  return r.topology;
}

/** Names of the topologies shipped in config/topologies/. */
export const BUILTIN_TOPOLOGIES = [
  'default',
  'different-switches',
  'root-ports',
  'two-level-switch',
  'acs-redirect',
  'host-bridge-offset',
  'qemu-q35-pxb',
  'jbof-plain-tcp',
] as const;
export type BuiltinTopology = (typeof BUILTIN_TOPOLOGIES)[number];

/** Absolute path of a shipped topology file (works from src/ and from dist/src/). */
export function builtinTopologyPath(name: BuiltinTopology): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fromSrc = new URL(`../../config/topologies/${name}.json`, import.meta.url);
  const fromDist = new URL(`../../../config/topologies/${name}.json`, import.meta.url);
  return here.includes('/dist/') ? fileURLToPath(fromDist) : fileURLToPath(fromSrc);
}

export function loadBuiltinTopology(name: BuiltinTopology): PciTopology {
  return loadTopologyFile(builtinTopologyPath(name));
}
