import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cycles, importGraph } from './imports.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const { files, edges } = importGraph(repo, ['src', 'target', 'initiator']);
/** The layer a file belongs to: its top folder and the next one (target/cmd, src/nvme, initiator/rdma), or the top folder for files directly in it. */
const layerOf = (f: string): string => {
  const parts = f.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
};

/** Layer cycles that exist and have an owner removing them; each entry must go as soon as its cycle does (the test fails on any cycle not listed here). None today. */
const KNOWN_LAYER_CYCLES: readonly (readonly string[])[] = [];

// initiator/ -> target/ and src/ -> target/|initiator/ are test/arch/initiator-imports.test.ts's rules.
describe('import graph of src/, target/, initiator/', () => {
  it('sees the tree (the walker found the files and their imports)', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(edges.length).toBeGreaterThan(500);
    // A known edge of each kind, so a broken parser cannot pass the rules below by finding nothing.
    expect(edges).toContainEqual({ from: 'target/cmd/dispatch.ts', to: 'target/cmd/admin/commands.ts', typeOnly: false });
    expect(edges).toContainEqual({ from: 'target/cmd/command.ts', to: 'target/core/request.ts', typeOnly: true });
  });

  it('the CLI loads the service and the HTTP server only to run them: usage errors and the offline subcommands start without fastify', () => {
    const next = new Map<string, string[]>();
    for (const e of edges) if (!e.typeOnly && e.dynamic !== true) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const seen = new Set<string>(['target/cli/main.ts']);
    const todo = ['target/cli/main.ts'];
    while (todo.length > 0) for (const t of next.get(todo.pop()!) ?? []) if (!seen.has(t)) (seen.add(t), todo.push(t));
    expect(seen.size).toBeGreaterThan(20);
    expect([...seen].filter((f) => f === 'target/api/server.ts' || f === 'target/service/index.ts')).toEqual([]);
    // and it does load them when it runs
    expect(edges).toContainEqual({ from: 'target/cli/main.ts', to: 'target/service/index.ts', typeOnly: false, dynamic: true });
    expect(edges).toContainEqual({ from: 'target/cli/main.ts', to: 'target/api/server.ts', typeOnly: false, dynamic: true });
  });

  it('has no import cycle between files (imports that exist at run time)', () => {
    expect(cycles(files, edges.filter((e) => !e.typeOnly))).toEqual([]);
  });

  it('has no cycle between layers, type-only imports included (target/core, target/cmd, target/backend, src/nvme, ...)', () => {
    const layers = [...new Set(files.map(layerOf))];
    const layerEdges = edges.map((e) => ({ from: layerOf(e.from), to: layerOf(e.to) })).filter((e) => e.from !== e.to);
    const known = new Set(KNOWN_LAYER_CYCLES.map((c) => c.join(' ')));
    expect(cycles(layers, layerEdges).filter((c) => !known.has(c.join(' ')))).toEqual([]);
  });

  it('layers sit in order: handlers above the core, backends below it, transports beside the handlers', () => {
    const importsOf = (a: string, b: string): string[] =>
      edges.filter((e) => e.from.startsWith(`${a}/`) && e.to.startsWith(`${b}/`)).map((e) => `${e.from} -> ${e.to}`);
    expect(importsOf('target/core', 'target/cmd')).toEqual([]);
    expect(importsOf('target/backend', 'target/cmd')).toEqual([]);
    expect(importsOf('target/backend', 'target/core')).toEqual([]);
    for (const t of ['target/tcp', 'target/rdma', 'target/loop']) {
      expect(importsOf(t, 'target/cmd')).toEqual([]);
      expect(importsOf('target/cmd', t)).toEqual([]);
    }
  });

});
