/**
 * Where a worker thread's JS file is.
 *
 * piscina starts every worker from a file it imports itself, and Node 20 cannot
 * import TypeScript. Compiled (dist/) code finds the worker next to itself. Under
 * vitest the caller is a .ts source, so the worker comes from the tsc output in
 * dist/ (`npm run build`; `npm test` builds first). A stale or missing build is an
 * error naming the command, rather than a silent run of old worker code.
 *
 * Considered and rejected: a data: URL of the stringified handler (piscina resolves
 * its filename with require/pathToFileURL, which mangles data: URLs), and writing the
 * handler to a temp file (the handler's source text under vitest is the transform's
 * output, not something to ship).
 */

import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

/**
 * Absolute path of the compiled worker `name` (without extension) that sits in the
 * same source directory as the module whose `import.meta.url` is `callerUrl`.
 */
export function workerFile(callerUrl: string, name: string): string {
  const callerPath = fileURLToPath(callerUrl);
  const dir = dirname(callerPath);
  if (callerPath.endsWith('.js')) return join(dir, `${name}.js`);

  // Source run (vitest): <root>/<rel>/caller.ts → <root>/dist/<rel>/<name>.js
  const root = findProjectRoot(dir);
  const rel = relative(root, dir);
  const compiled = join(root, 'dist', rel, `${name}.js`);
  const source = join(dir, `${name}.ts`);
  if (!existsSync(compiled)) {
    throw new Error(`worker ${compiled} is not built: run \`npm run build\` first`);
  }
  if (existsSync(source) && statSync(source).mtimeMs > statSync(compiled).mtimeMs) {
    throw new Error(`worker ${compiled} is older than ${source}: run \`npm run build\``);
  }
  return compiled;
}

function findProjectRoot(from: string): string {
  let d = from;
  for (;;) {
    if (existsSync(join(d, 'package.json'))) return d;
    const up = dirname(d);
    if (up === d) throw new Error(`no package.json above ${from}`);
    d = up;
  }
}
