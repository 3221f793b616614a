/**
 * The import graph of the TypeScript tree (relative imports only), read as text:
 * `import … from`, `export … from`, side-effect `import '…'` and `import('…')`.
 * An import is type-only when written `import type`/`export type` or when every
 * name in its braces is marked `type`: it vanishes at run time, but it still
 * ties the modules' designs together, so the layering rules count it too.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
  /** Set (true) on an `import('...')` expression: loaded when that code runs, not with the importer. */
  dynamic?: true;
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
}

/** Block comments and whole-line // comments out (imports never hide behind code on the same line). */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

const STATIC = /(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/g;
const BARE = /(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function typeOnlyClause(clause: string): boolean {
  const m = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (m === null) return false;
  const names = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

/** Every relative import between files below `roots` (paths relative to `repo`, with '/' separators). */
export function importGraph(repo: string, roots: readonly string[]): { files: string[]; edges: ImportEdge[] } {
  const abs: string[] = [];
  for (const r of roots) walk(join(repo, r), abs);
  const known = new Set(abs);
  const rel = (p: string): string => relative(repo, p).split(sep).join('/');
  const edges: ImportEdge[] = [];
  const target = (file: string, spec: string): string | null => {
    if (!spec.startsWith('.')) return null;
    const base = resolve(dirname(file), spec);
    for (const c of [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, join(base, 'index.ts')]) {
      if (known.has(c)) return c;
    }
    return null;
  };
  for (const file of abs) {
    const src = stripComments(readFileSync(file, 'utf8'));
    const add = (spec: string, typeOnly: boolean, dynamic = false): void => {
      const to = target(file, spec);
      if (to !== null) edges.push(dynamic ? { from: rel(file), to: rel(to), typeOnly, dynamic: true } : { from: rel(file), to: rel(to), typeOnly });
    };
    for (const m of src.matchAll(STATIC)) add(m[4]!, m[2] !== undefined || typeOnlyClause(m[3]!));
    for (const m of src.matchAll(BARE)) add(m[1]!, false);
    for (const m of src.matchAll(DYNAMIC)) add(m[1]!, false, true);
  }
  return { files: abs.map(rel), edges };
}

/** Strongly connected components with more than one member, or a self-import (Tarjan). */
export function cycles(nodes: readonly string[], edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, string[]>();
  for (const n of nodes) next.set(n, []);
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    if (!next.has(e.to)) next.set(e.to, []);
    next.get(e.from)!.push(e.to);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of next.get(v)!) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v)!.includes(v)) out.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!idx.has(v)) visit(v);
  return out;
}
