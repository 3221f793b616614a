import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/interop/**', 'node_modules/**', 'dist/**'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // The OpenSSL settings the target runs with (TLS 1.3 without session tickets; see the file).
    execArgv: [`--openssl-config=${fileURLToPath(new URL('./config/openssl-nvmet-ts.cnf', import.meta.url))}`],
  },
});
