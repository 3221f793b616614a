// Unit tests of the interop runner's pure parts (the root config excludes
// test/interop/** because the suite itself needs root, QEMU and minutes):
//   npx vitest run -c test/interop/vitest.config.ts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['unit/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
