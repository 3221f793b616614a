/** A private build of the CLI for tests that run it as a real process. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `npm run build` into a private package tree (bin/ + dist/ + package.json, config/
 * and node_modules linked), so other engineers rebuilding dist/ at the same time
 * cannot hand this test a half-written tree. The launcher is the real bin/nvmet-ts.js.
 */
export function buildPrivate(): string {
  const b = mkdtempSync(join(tmpdir(), 'nvmet-ts-cli-build-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(b, 'dist')], {
      cwd: ROOT,
      stdio: 'pipe',
      timeout: 120_000,
    });
  } catch {
    // Type errors elsewhere in the tree do not stop emit; the entry point must exist.
  }
  if (!existsSync(join(b, 'dist', 'target', 'cli', 'main.js'))) throw new Error('build failed: dist/target/cli/main.js missing');
  mkdirSync(join(b, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'nvmet-ts.js'), join(b, 'bin', 'nvmet-ts.js'));
  copyFileSync(join(ROOT, 'package.json'), join(b, 'package.json'));
  symlinkSync(join(ROOT, 'config'), join(b, 'config'));
  symlinkSync(join(ROOT, 'node_modules'), join(b, 'node_modules'));
  return b;
}


/** What a test file gets from {@link privateCliPerFile}: valid inside its tests. */
export interface PrivateCli {
  /** The private build's bin/nvmet-ts.js. */
  readonly bin: string;
  /** A scratch directory of the test file's own. */
  readonly dir: string;
}

/** One private build and one scratch directory per test file, removed after its tests. */
export function privateCliPerFile(prefix: string): PrivateCli {
  const st = { bin: '', dir: '', build: '' };
  beforeAll(() => {
    st.build = buildPrivate();
    st.bin = join(st.build, 'bin', 'nvmet-ts.js');
    st.dir = mkdtempSync(join(tmpdir(), prefix));
  }, 180_000);
  afterAll(() => {
    if (st.dir !== '') rmSync(st.dir, { recursive: true, force: true });
    if (st.build !== '') rmSync(st.build, { recursive: true, force: true });
  });
  return {
    get bin() {
      return st.bin;
    },
    get dir() {
      return st.dir;
    },
  };
}
