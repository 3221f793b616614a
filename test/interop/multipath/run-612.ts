/**
 * The multipath and reservation rows on the Debian 13 host (kernel 6.12, nvme-cli
 * 2.13): `bash test/interop/multipath/run-612.sh OUTDIR` (hooked into
 * test/interop/secure/run-612.sh). The bash wrapper makes a network namespace and
 * runs this inside it: instance A (the nvmet-ts under test) and instance B (a
 * second process) with the configs of lib/multipath.ts, the guest control
 * channel (lib/ctl.ts), then the trixie guest (secure/run-guest.sh) running the
 * 6.1 suite's own checks.sh + checks-multipath.sh limited to the multipath rows.
 * Prints one "ID<TAB>pass|fail|skip<TAB>reason" line per row on stdout (the
 * secure run's results format); logs go to OUTDIR.
 */
import { appendFileSync, closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCtlServer } from '../lib/ctl.js';
import { makePlan, nvmetcliConfig, paramsSh } from '../lib/plan.js';
import { ProcessRegistry, deadline, reapRecorded } from '../lib/proc.js';
import { Target } from '../lib/target.js';
import { DISC_AEN_ROW, discAenActions } from '../lib/discovery-aen.js';
import { MP_ROWS, makeMultipathPlan, multipathActions, setUpMultipath, withMultipath } from '../lib/multipath.js';
import type { Multipath } from '../lib/multipath.js';

/**
 * Rows on 6.12: all of the 6.1 suite's multipath rows (both paths listed, fio across a
 * SIGKILL of B and its restart, fio across B's ANA flip, reservations from two hosts),
 * from the one list lib/multipath.ts keeps; run-612.sh reads the same rows from
 * checks-multipath.sh's mp_run_checks (test/interop/unit/multipath.test.ts ties the two);
 * then the persistent discovery controller's discovery-log-change AEN (disc-aen, as on 6.1).
 * Before them, the suite's own connect (connect-default) and the two log-page rows issue 12
 * names for both hosts (effects-log with LPA bit 1 set, supported-log-pages).
 */
const LOG_ROWS_612 = ['connect-default', 'effects-log', 'supported-log-pages'] as const;
const ROWS_612: readonly string[] = [...LOG_ROWS_612, ...MP_ROWS, DISC_AEN_ROW];
const API_PORT = 8420;

function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'test', 'interop', 'guest', 'checks.sh'))) return d;
    d = dirname(d);
  }
  throw new Error('cannot find the nvmet-ts checkout');
}

async function main(): Promise<number> {
  const [out, buildDir, netns] = process.argv.slice(2);
  if (!out || !buildDir || !netns) throw new Error('usage: run-612.js OUTDIR BUILD_DIR NETNS (run by run-612.sh inside NETNS)');
  const root = repoRoot();
  const inDir = join(out, 'in');
  const dataDir = join(out, 'data');
  for (const d of [inDir, dataDir, join(out, 'guest')]) mkdirSync(d, { recursive: true });
  const log = (s: string) => appendFileSync(join(out, 'runner.log'), `${new Date().toISOString()} ${s}\n`);
  const reg = new ProcessRegistry(join(out, 'pids'));
  let mpRef: Multipath | null = null;
  const ctl = await startCtlServer({ ...multipathActions(() => mpRef), ...discAenActions(API_PORT) }, join(out, 'ctl.log'));

  const plan = makePlan({ mode: 'nvmet-ts', dataDir, ctlPort: ctl.port, checks: ROWS_612 });
  const mp = makeMultipathPlan(dataDir);
  // A serves the suite's own subsystem (connect-default and the log-page rows) and the multipath rows' subsystems
  for (const n of plan.namespaces) {
    const fd = openSync(n.path, 'w');
    ftruncateSync(fd, n.bytes);
    closeSync(fd);
  }
  writeFileSync(join(out, 'config.json'), `${JSON.stringify(withMultipath(nvmetcliConfig(plan), plan, mp), null, 2)}\n`);
  writeFileSync(join(inDir, 'params.sh'), paramsSh(plan));
  const guestDir = join(root, 'test', 'interop', 'guest');
  for (const f of ['checks.sh', 'checks-multipath.sh']) copyFileSync(join(guestDir, f), join(inDir, f));
  copyFileSync(join(root, 'test', 'interop', 'multipath', 'guest-612.sh'), join(inDir, 'guest-612.sh'));

  const cmd = `${process.execPath} ${join(root, 'bin', 'nvmet-ts.js')} --config {config} --api {api} --data-dir {dataDir}`;
  const env = { ...process.env };
  delete env.NVMET_TS_FAULT;
  mpRef = setUpMultipath({ reg, plan, mp, dir: out, inDir, cmd, env, apiPortA: API_PORT });
  const a = new Target(reg, { cmd, configFile: join(out, 'config.json'), apiPort: API_PORT, dataDir: join(out, 'data-a'), logFile: join(out, 'target.log'), ports: [plan.port, plan.discPort ?? 8009], env, restartSignal: 'SIGTERM' });
  let rows: string[];
  try {
    log(`instance A listening after ${await a.start()} ms; instance B after ${await mpRef.start()} ms`);
    const guest = reg.start('guest', ['bash', join(root, 'test', 'interop', 'secure', 'run-guest.sh'), join(inDir, 'guest-612.sh'), join(out, 'guest')], {
      logFile: join(out, 'guest.log'),
      env: { ...process.env, NETNS: netns, BUILD_DIR: buildDir, SMP: process.env.SMP ?? '2', TIMEOUT: process.env.TIMEOUT ?? '600' },
    });
    // the guest's own bound (run-guest.sh TIMEOUT) first: the rows' timeouts add up to 420 s, plus the boot
    const r = await Promise.race([guest.exited, deadline(660_000)]);
    log(`guest: ${r === 'timeout' ? 'runner timeout' : `exit ${r}`}`);
    rows = results(join(out, 'guest', 'results.txt'), r === 'timeout' ? 'runner timeout' : `guest exited ${r}`);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    rows = ROWS_612.map((id) => `${id}\tfail\tsetup: ${why}`);
  } finally {
    await a.stop();
    await mpRef.stop();
    await ctl.close();
    for (const k of reapRecorded(join(out, 'pids'))) log(`stopped leftover ${k}`);
  }
  process.stdout.write(rows.map((l) => `${l}\n`).join(''));
  return rows.some((l) => l.split('\t')[1] === 'fail') ? 1 : 0;
}

/** checks.sh's "ID status seconds reason" lines as "ID status reason"; a row that never ran fails. */
function results(file: string, note: string): string[] {
  const got = new Map<string, string>();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [id, st, secs, ...why] = line.split('\t');
      if (id && st) got.set(id, `${id}\t${st === 'pending' ? 'fail' : st}\t${why.join(' ')} (${secs ?? '?'} s, 6.12)`);
    }
  }
  return ROWS_612.map((id) => got.get(id) ?? `${id}\tfail\tdid not run (${note})`);
}

main().then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    for (const id of ROWS_612) process.stdout.write(`${id}\tfail\t${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
