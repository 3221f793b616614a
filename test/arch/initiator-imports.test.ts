/**
 * The host library stands on its own: nothing under initiator/ imports the target
 * (target/), so the initiator can be shipped and reasoned about without it, and the
 * shared lower floor (src/) imports neither side. Both sides meet only in src/
 * (codecs, the simulated RDMA fabric). Walks the real files; no cached graph.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative module specifiers of static imports/exports and dynamic import() calls. */
function specifiers(src: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (let m = re.exec(src); m !== null; m = re.exec(src)) out.push(m[1]!);
  return out;
}

/** Top-level folder of the repository a specifier of `file` lands in. */
function topOf(file: string, spec: string): string {
  return relative(ROOT, resolve(dirname(file), spec)).split(sep)[0]!;
}

function violations(from: string, forbidden: readonly string[]): string[] {
  const bad: string[] = [];
  for (const f of tsFiles(join(ROOT, from))) {
    for (const s of specifiers(readFileSync(f, 'utf8'))) {
      if (forbidden.includes(topOf(f, s))) bad.push(`${relative(ROOT, f)} -> ${s}`);
    }
  }
  return bad;
}

describe('layering between host, target and the shared floor', () => {
  it('finds the imports it is meant to police (the walker is not blind)', () => {
    expect(specifiers(`import { a } from '../x.js';\nexport { b } from './y.js';\nconst m = await import('../../z.js');`)).toEqual([
      '../x.js',
      './y.js',
      '../../z.js',
    ]);
    expect(violations('initiator', ['src']).length).toBeGreaterThan(0);
  });

  it('initiator/ imports nothing from target/', () => {
    expect(violations('initiator', ['target'])).toEqual([]);
  });

  it('src/ imports neither target/ nor initiator/', () => {
    expect(violations('src', ['target', 'initiator'])).toEqual([]);
  });
});
