import { loadBuiltinTopology, parseTopology, type BuiltinTopology, type PciFunction, type PciTopology } from '../../src/pci/index.js';
import { P2pdma, type P2pdmaOptions, type P2pPolicy } from '../../src/p2pdma/index.js';

export function sys(name: BuiltinTopology | PciTopology, opts: P2pdmaOptions = {}): P2pdma {
  const t = typeof name === 'string' ? loadBuiltinTopology(name) : name;
  return new P2pdma(t, opts);
}

export function withPolicy(name: BuiltinTopology, policy: P2pPolicy, random?: () => number): P2pdma {
  return sys(name, random ? { policy, random } : { policy });
}

export function dev(p: P2pdma, bdf: string): PciFunction {
  const f = p.topology.get(bdf);
  if (!f) throw new Error(`no ${bdf}`);
  return f;
}

export function parsed(json: unknown): PciTopology {
  const r = parseTopology(json);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return r.topology;
}

/** A fixed sequence of "random" numbers, cycling. */
export function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
