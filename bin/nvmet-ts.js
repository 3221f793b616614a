#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
//
// NVMe/TCP TLS ports need config/openssl-nvmet-ts.cnf (OpenSSL NumTickets = 0: no TLS 1.3
// session tickets, which a Linux host's kTLS cannot read). OpenSSL reads its configuration
// only at process start, so when the configuration file has a "tls1.3" port and node was
// started without it, the launcher re-runs itself with --openssl-config; the child exits
// when this process goes (IPC channel). Otherwise it runs in place (a TLS port added later
// over the API is then refused with an error saying how to start).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cnf = fileURLToPath(new URL('../config/openssl-nvmet-ts.cnf', import.meta.url));
const configured =
  process.env.NVMET_TS_OPENSSL_CONFIG === cnf ||
  process.execArgv.some((a) => a.startsWith('--openssl-config')) ||
  /--openssl-config/.test(process.env.NODE_OPTIONS ?? '');

/** Does the --config FILE ask for a TLS port? (Unreadable: let the CLI report it.) */
function wantsTls(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let file;
    if (a === '-c' || a === '--config') file = argv[i + 1];
    else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    if (file === undefined) continue;
    try {
      return readFileSync(file, 'utf8').includes('"tls1.3"');
    } catch {
      return false;
    }
  }
  return false;
}

if (!configured && wantsTls(process.argv.slice(2))) {
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
