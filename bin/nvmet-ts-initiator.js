#!/usr/bin/env node
// Thin launcher for the TypeScript initiator CLI (compiled to dist/ by `npm install`).
import { main } from '../dist/initiator/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
);
