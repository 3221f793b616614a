#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
//
// The target runs with config/openssl-nvmet-ts.cnf (OpenSSL NumTickets = 0: NVMe/TCP TLS
// must not send TLS 1.3 session tickets, which a Linux host's kTLS cannot read). OpenSSL
// reads its configuration only at process start, so without it the launcher re-runs
// itself with --openssl-config; the child exits when this process goes (IPC channel).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cnf = fileURLToPath(new URL('../config/openssl-nvmet-ts.cnf', import.meta.url));
const configured =
  process.env.NVMET_TS_OPENSSL_CONFIG === cnf ||
  process.execArgv.some((a) => a.startsWith('--openssl-config')) ||
  /--openssl-config/.test(process.env.NODE_OPTIONS ?? '');

if (!configured) {
  const child = spawn(process.execPath, [...process.execArgv, `--openssl-config=${cnf}`, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NVMET_TS_OPENSSL_CONFIG: cnf },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    console.error(`nvmet-ts: cannot start: ${e.message}`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === 'SIGINT' ? 130 : 143);
  });
} else {
  if (process.channel) {
    // Started by the launcher above: go when it goes, without keeping the loop alive.
    process.channel.unref();
    process.on('disconnect', () => process.exit(1));
  }
  const { main } = await import('../dist/target/cli/main.js');
  main(process.argv.slice(2)).then(
    (code) => { if (typeof code === 'number') process.exitCode = code; },
    (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
  );
}
