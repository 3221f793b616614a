/**
 * nvmet-ts kernel-host interop suite: `npm run test:interop [-- options]`.
 *
 * A real Linux host (Debian's 6.1 kernel with nvme-tcp, nvme-cli, fio, under
 * QEMU) runs the checks against the target, and the table says which pass.
 *
 * Two processes: this one (the "outer" run) installs what is missing, builds
 * or reuses the cached guest image, creates a network namespace and starts
 * itself again inside it (the "inner" run, --inner). The inner run starts the
 * target, the capture, the control server and QEMU — all inside the namespace,
 * so the target listens on the namespace's own 127.0.0.1 and the guest reaches
 * it at the slirp gateway 10.0.2.2; nothing else is addressed. The outer run
 * bounds the whole thing in time, stops leftovers by PID, deletes the namespace
 * and prints the table.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCtlServer } from './lib/ctl.js';
import { discAenActions } from './lib/discovery-aen.js';
import { bootGuest, ensureGuestImage, monitor, pickAccel } from './lib/guest.js';
import { ensureHostPackages, establishedOn, isRoot, netnsAdd, netnsDel } from './lib/host.js';
import { makePlan, nvmetcliConfig, paramsSh, targetPorts } from './lib/plan.js';
import type { Plan, TargetMode } from './lib/plan.js';
import { ProcessRegistry, deadline, reapRecorded, runSync, sleep, stop } from './lib/proc.js';
import type { Started } from './lib/proc.js';
import { collectRows, counts, table } from './lib/report.js';
import { GUEST_CHECKS, ROWS } from './lib/rows.js';
import type { RowResult } from './lib/rows.js';
import { Target, p2pState, setAnaState } from './lib/target.js';
import { p2pSummary, p2pVerdict } from './lib/p2pmem.js';
import type { P2pState } from './lib/p2pmem.js';
import { analyze, dropsFromLog, startCapture, wireSummary, wireVerdict } from './lib/wire.js';
import type { WireStats } from './lib/wire.js';
import { VALIDATED, validateRow } from './lib/validate.js';
import { MP_ROWS, makeMultipathPlan, multipathActions, setUpMultipath, withMultipath } from './lib/multipath.js';
import type { Multipath, MultipathPlan } from './lib/multipath.js';
import { RX_ROW, makeReactorsPlan, reactorsActions, reactorsVerdict, setUpReactors } from './lib/reactors.js';
import type { Reactors, SnapshotFile } from './lib/reactors.js';

// ------------------------------------------------------------------ options --
export interface Options {
  target: TargetMode;
  targetCmd: string;
  targetArgs: string;
  fault: string;
  only: string[];
  out: string;
  json: string | null;
  timeoutSec: number;
  accel: string;
  smp: number;
  mem: number;
  restartSignal: NodeJS.Signals;
  install: boolean;
  rebuildGuest: boolean;
  capture: boolean;
  p2pmem: boolean;
}

const USAGE = `usage: npm run test:interop -- [options]
  --target nvmet-ts|kernel-local   target under test (default nvmet-ts; kernel-local = the
                                   guest's own kernel nvmet on 127.0.0.1, to prove the harness)
  --target-cmd "CMD"               how to start the target; {config} {api} {apiPort}
                                   {dataDir} substituted (default: node <repo>/bin/nvmet-ts.js
                                   --config {config} [--api {api}] [--data-dir {dataDir}])
  --target-args "ARGS"             extra arguments for the target (e.g. --allow-p2pmem)
  --fault NAME                     export NVMET_TS_FAULT=NAME to the target (fault injection)
  --only ID,ID,...                 run only these rows (see the table for ids)
  --out DIR                        keep logs, artifacts and the capture here
  --json FILE                      write the result table as JSON to FILE too
  --timeout SEC                    bound for the whole run (default 720)
  --accel auto|kvm|tcg             QEMU accelerator (default auto: TCG unless KVM works)
  --smp N --mem MiB                guest size (default 4 vCPUs, 2048 MiB)
  --restart-signal TERM|KILL       how target-restart stops the target (default TERM)
  --no-install                     never apt-get install missing host tools
  --no-capture                     skip the capture and the wire check
  --p2pmem                         place namespaces behind the default topology's SSDs and the
                                   ports on its NIC with allow_p2pmem; adds the p2pmem-staging row
  --rebuild-guest                  rebuild the cached guest image
Environment: NVMET_TS_INTEROP_TARGET, NVMET_TS_INTEROP_TARGET_CMD, NVMET_TS_FAULT.`;

export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'test', 'interop', 'guest', 'checks.sh'))) return d;
    d = dirname(d);
  }
  throw new Error('cannot find the nvmet-ts checkout (package.json + test/interop/guest)');
}

export function parseArgs(argv: readonly string[], root: string): Options {
  const env = process.env;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const o: Options = {
    target: (env.NVMET_TS_INTEROP_TARGET as TargetMode | undefined) ?? 'nvmet-ts',
    targetCmd: env.NVMET_TS_INTEROP_TARGET_CMD ?? '',
    targetArgs: '',
    fault: env.NVMET_TS_FAULT ?? '',
    only: [],
    out: join(tmpdir(), 'nvmet-ts-interop', `${stamp}-${process.pid}`),
    json: null,
    timeoutSec: 720,
    accel: 'auto',
    smp: 4,
    mem: 2048,
    restartSignal: 'SIGTERM',
    install: true,
    rebuildGuest: false,
    capture: true,
    p2pmem: false,
  };
  const args = [...argv];
  const val = (flag: string): string => {
    const v = args.shift();
    if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  while (args.length > 0) {
    const a = args.shift() as string;
    switch (a) {
      case '--target': o.target = val(a) as TargetMode; break;
      case '--target-cmd': o.targetCmd = val(a); break;
      case '--target-args': o.targetArgs = val(a); break;
      case '--fault': o.fault = val(a); break;
      case '--only': o.only = val(a).split(',').map((s) => s.trim()).filter((s) => s !== ''); break;
      case '--out': o.out = resolve(val(a)); break;
      case '--json': o.json = resolve(val(a)); break;
      case '--timeout': o.timeoutSec = Number(val(a)); break;
      case '--accel': o.accel = val(a); break;
      case '--smp': o.smp = Number(val(a)); break;
      case '--mem': o.mem = Number(val(a)); break;
      case '--restart-signal': o.restartSignal = `SIG${val(a).replace(/^SIG/, '')}` as NodeJS.Signals; break;
      case '--no-install': o.install = false; break;
      case '--no-capture': o.capture = false; break;
      case '--p2pmem': o.p2pmem = true; break;
      case '--rebuild-guest': o.rebuildGuest = true; break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (o.target !== 'nvmet-ts' && o.target !== 'kernel-local') throw new Error(`--target must be nvmet-ts or kernel-local\n${USAGE}`);
  if (o.p2pmem && o.target !== 'nvmet-ts') throw new Error('--p2pmem needs --target nvmet-ts');
  const known = new Set(ROWS.map((r) => r.id));
  const bad = o.only.filter((id) => !known.has(id));
  if (bad.length > 0) throw new Error(`unknown row(s): ${bad.join(', ')}; rows: ${[...known].join(' ')}`);
  if (!(o.timeoutSec > 60)) throw new Error('--timeout must be > 60');
  if (!(o.smp >= 1 && o.mem >= 512)) throw new Error('bad --smp/--mem');
  return o;
}

/** Rows of this run: --only, else all (p2pmem-staging and p2pmem-removal only with --p2pmem). */
export function wantedRows(o: Options): string[] {
  if (o.only.length > 0) return o.only;
  return ROWS.map((r) => r.id).filter((id) => (id !== 'p2pmem-staging' && id !== 'p2pmem-removal') || o.p2pmem)
    // the second and third instances' subsystems carry no p2pmem placement (and reactors leave
    // p2pmem ports' connections on the main thread): not part of the --p2pmem run
    .filter((id) => !((MP_ROWS as readonly string[]).includes(id) || id === RX_ROW) || !o.p2pmem);
}

const log = (s: string): void => { console.log(`[interop] ${s}`); };
/** the target's management API, inside the run's own netns */
const API_PORT = 8420;

/**
 * The built nvmet-ts CLI with the flags this build has: --config always, the
 * management API (ns-add needs it) and its data directory when --help lists them.
 */
export function defaultTargetCmd(root: string): string {
  const bin = join(root, 'bin', 'nvmet-ts.js');
  const help = runSync([process.execPath, bin, '--help'], 20_000);
  if (help.status !== 0) throw new Error(`${bin} --help failed (status ${help.status}; run npm run build first): ${(help.stderr || help.stdout).trim().slice(0, 300)}`);
  let cmd = `${process.execPath} ${bin} --config {config}`;
  if (help.stdout.includes('--api ')) cmd += ' --api {api}';
  if (help.stdout.includes('--data-dir')) cmd += ' --data-dir {dataDir}';
  return cmd;
}

interface InnerSpec { opts: Options; root: string; image: { kernel: string; initrd: string; dir: string } }

// -------------------------------------------------------------------- outer --
async function outer(argv: readonly string[]): Promise<number> {
  const root = repoRoot();
  const opts = parseArgs(argv, root);
  if (!isRoot()) { console.error('the interop suite needs root (network namespaces, QEMU, capture)'); return 2; }
  const t0 = performance.now();
  const endAt = t0 + opts.timeoutSec * 1000;
  mkdirSync(opts.out, { recursive: true });
  ensureHostPackages(root, log, opts.install, join(opts.out, 'apt.log'));
  if (opts.target === 'nvmet-ts' && opts.targetCmd === '') opts.targetCmd = defaultTargetCmd(root);
  if (opts.targetArgs !== '') opts.targetCmd += ` ${opts.targetArgs}`;
  const image = ensureGuestImage(join(root, 'test', 'interop', 'guest', 'build-guest.sh'), log, opts.rebuildGuest);
  const pidDir = join(opts.out, 'pids');
  const spec: InnerSpec = { opts, root, image };
  writeFileSync(join(opts.out, 'spec.json'), JSON.stringify(spec, null, 2));
  rmSync(join(opts.out, 'results.json'), { force: true });

  const ns = `nvmet-ts-interop-${process.pid}`;
  netnsAdd(ns);
  log(`netns ${ns}, target ${opts.target}${opts.fault ? ` (fault ${opts.fault})` : ''}, logs in ${opts.out}`);
  if (opts.target === 'nvmet-ts') log(`target command: ${opts.targetCmd}`);
  const reg = new ProcessRegistry(join(opts.out, 'pids-outer'));
  let innerProc: Started | null = null;
  const cleanup = async (why: string) => {
    if (innerProc && innerProc.exitCode() === null) { log(`${why}: stopping the inner run (pid ${innerProc.pid})`); await stop(innerProc, 'SIGTERM', 15_000); }
    for (const k of reapRecorded(pidDir)) log(`stopped leftover ${k}`);
    netnsDel(ns);
  };
  const onSignal = (sig: NodeJS.Signals) => { void cleanup(sig).then(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    innerProc = reg.start('inner', ['ip', 'netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--inner', join(opts.out, 'spec.json')], { logFile: null });
    innerProc.child.stdout?.pipe(process.stdout);
    innerProc.child.stderr?.pipe(process.stderr);
    const left = Math.max(10_000, endAt - performance.now());
    const r = await Promise.race([innerProc.exited, deadline(left)]);
    if (r === 'timeout') log(`overall timeout (${opts.timeoutSec} s) reached`);
    else if (r !== 0) log(`inner run exited with status ${r}`);
  } finally {
    await cleanup('cleanup');
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const resFile = join(opts.out, 'results.json');
  let rows: RowResult[];
  if (existsSync(resFile)) rows = (JSON.parse(readFileSync(resFile, 'utf8')) as { rows: RowResult[] }).rows;
  else {
    const wanted = wantedRows(opts);
    rows = collectRows(join(opts.out, 'out'), wanted, 'the run was stopped');
    for (const r of rows) if (r.id === 'wire-check') r.reason = 'the run was stopped before the capture was decoded';
    writeFileSync(resFile, JSON.stringify({ target: opts.target, rows }, null, 2));
  }
  if (opts.json) copyFileSync(resFile, opts.json);
  const c = counts(rows);
  console.log(`\nnvmet-ts interop: ${opts.target}${opts.fault ? ` with fault ${opts.fault}` : ''} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  console.log(table(rows));
  console.log(`\nlogs: ${opts.out}/out/checks/<row>.log   results: ${resFile}`);
  if (opts.fault && c.fail === 0) console.log(`warning: fault ${opts.fault} failed no row: does this target install the fault engine (target/fault/env.ts)?`);
  console.log(`interop: ${c.pass} passed, ${c.fail} failed, ${c.skip + c.pending} skipped${c.pending > 0 ? ` (${c.pending} pending)` : ''}`);
  return c.fail > 0 ? 1 : 0;
}

// -------------------------------------------------------------------- inner --
async function inner(specFile: string): Promise<number> {
  const { opts, root, image } = JSON.parse(readFileSync(specFile, 'utf8')) as InnerSpec;
  const dir = opts.out;
  const inDir = join(dir, 'in');
  const outDir = join(dir, 'out');
  const dataDir = join(dir, 'data');
  for (const d of [inDir, outDir, dataDir]) { rmSync(d, { recursive: true, force: true }); mkdirSync(d, { recursive: true }); }
  const reg = new ProcessRegistry(join(dir, 'pids'));
  const running: Started[] = [];
  let target: Target | null = null;
  const qemuMon = join(dir, 'qemu-mon.sock');
  rmSync(qemuMon, { force: true });

  const wanted = wantedRows(opts);
  const checks = GUEST_CHECKS.filter((c) => wanted.includes(c));
  const kernelLocal = opts.target === 'kernel-local';

  // control channel first: its port goes into the guest's params
  const p2pLives: (P2pState | null)[] = [];
  let p2pRemoved: string | null = null;
  let planRef: Plan | null = null;
  let mpRef: Multipath | null = null;
  let rxRef: Reactors | null = null;
  const ctl = await startCtlServer({
    restart: async () => {
      if (!target) throw new Error('no target process to restart');
      // counters live and die with the process: keep this life's
      if (opts.p2pmem) p2pLives.push(await p2pState(API_PORT));
      return `ok: ${await target.restart()}`;
    },
    'ns-add': async () => {
      if (!target || !planRef) throw new Error('no target process');
      return target.addNamespace(planRef, planRef.added);
    },
    // p2pmem-removal: hot-remove the provider the I/O port stages in (dmabuf: move_notify,
    // the port re-chooses, in-flight staged I/O fails retryably), then add it back.
    'p2p-remove': async () => {
      if (!opts.p2pmem) return 'pending: not a --p2pmem run';
      const api = `http://127.0.0.1:${API_PORT}`;
      const st = (await (await fetch(`${api}/api/p2p/state`, { signal: AbortSignal.timeout(10_000) })).json()) as {
        ports: { portId: number; provider: string | null; namespaces: { nsid: number; provider: string | null }[] }[];
      };
      // The provider nsid 1's I/O is staged in (its own p2pmem attribute, or the port's).
      const from = st.ports.flatMap((p) => p.namespaces).find((n) => n.nsid === 1 && n.provider !== null)?.provider ?? st.ports.find((p) => p.provider !== null)?.provider;
      if (!from) throw new Error('no port stages in p2pmem');
      const res = await fetch(`${api}/api/p2p/providers/${from}/remove`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"mode":"dmabuf"}', signal: AbortSignal.timeout(60_000) });
      const text = await res.text();
      if (!res.ok) throw new Error(`remove ${from} -> ${res.status} ${text}`);
      const r = JSON.parse(text) as { ms: number; outstandingAtStart: number; ports: { portid: number; provider: string | null }[] };
      p2pRemoved = from;
      return `ok: ${from} removed (dmabuf) in ${r.ms.toFixed(1)} ms with ${r.outstandingAtStart} staging buffer(s) mapped; ${r.ports.map((p) => `port ${p.portid} -> ${p.provider ?? 'system memory'}`).join(', ')}`;
    },
    'p2p-add': async () => {
      if (p2pRemoved === null) return 'pending: nothing removed';
      const res = await fetch(`http://127.0.0.1:${API_PORT}/api/p2p/providers/${p2pRemoved}/add`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`add ${p2pRemoved} -> ${res.status} ${await res.text()}`);
      const added = p2pRemoved;
      p2pRemoved = null;
      return `ok: ${added} added back`;
    },
    ana: async (q) => {
      const port = Number(q.get('port') ?? '2');
      const state = q.get('state') ?? 'optimized';
      return setAnaState(API_PORT, port, state);
    },
    ...multipathActions(() => mpRef),
    ...reactorsActions(() => rxRef),
    ...discAenActions(API_PORT),
    'keepalive-drop': async (q) => {
      const kato = Number(q.get('kato') ?? '5');
      void keepAliveDrop(kato);
      return `ok: cutting the guest's link in 0.5 s, verdict in /out/ctl/keepalive.result`;
    },
  }, join(dir, 'ctl.log'));

  const plan = makePlan({ mode: opts.target, dataDir, ctlPort: ctl.port, checks, p2pmem: opts.p2pmem });
  planRef = plan;
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan, null, 2));
  // the multipath/reservation rows' subsystems (lib/multipath.ts), served by this target and a second process
  const mpPlan: MultipathPlan | null = kernelLocal || opts.p2pmem ? null : makeMultipathPlan(dataDir);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(mpPlan ? withMultipath(nvmetcliConfig(plan), plan, mpPlan) : nvmetcliConfig(plan), null, 2)}\n`);
  writeFileSync(join(inDir, 'params.sh'), paramsSh(plan));
  copyFileSync(join(root, 'test', 'interop', 'guest', 'checks.sh'), join(inDir, 'checks.sh'));
  copyFileSync(join(root, 'test', 'interop', 'guest', 'checks-multipath.sh'), join(inDir, 'checks-multipath.sh'));
  for (const n of [...plan.namespaces, plan.added]) {
    const fd = openSync(n.path, 'w'); ftruncateSync(fd, n.bytes); closeSync(fd);
  }

  // what the target said about keep-alive, for a failing verdict to explain itself
  function keepAliveLines(): string {
    let text = '';
    try { text = readFileSync(join(dir, 'target.log'), 'utf8'); } catch { return '(no target log)'; }
    const lines = text.split('\n').filter((l) => /keep-alive|deleted/.test(l)).slice(-3);
    return lines.length === 0 ? 'no keep-alive expiry logged' : lines.join(' | ');
  }

  // keep-alive: cut the guest's NIC, then watch the target drop the silent host
  async function keepAliveDrop(kato: number): Promise<void> {
    const result = join(outDir, 'ctl', 'keepalive.result');
    const say = (s: string) => { writeFileSync(result, `${s}\n`); writeFileSync(join(dir, 'ctl.log'), `keepalive: ${s}\n`, { flag: 'a' }); };
    try {
      await sleep(500);
      const before = establishedOn(plan.port);
      if (before === 0) { say('fail: no established connection to the target before the link was cut'); return; }
      // QEMU answers an unknown device with an error line, not a failure: check that the link really went down
      const cut = await monitor(qemuMon, 'set_link n0 off');
      if (/not found|error/i.test(cut)) { say(`fail: QEMU refused to cut the link: ${cut.replace(/\s+/g, ' ').trim()}`); return; }
      // monotonic: a wall-clock step (NTP on a fresh CI machine) must not decide the verdict
      const t0 = performance.now();
      const limit = (2 * kato + 15) * 1000;
      let now = before;
      while (performance.now() - t0 < limit && (now = establishedOn(plan.port)) > 0) await sleep(200);
      const dt = (performance.now() - t0) / 1000;
      await sleep(1000);
      await monitor(qemuMon, 'set_link n0 on');
      if (now > 0) say(`fail: ${now} of ${before} connections still established ${dt.toFixed(1)} s after the host went silent (KATO ${kato} s); target log: ${keepAliveLines()}`);
      // the host sends a keep-alive every KATO/2, so silence shorter than that proves nothing
      else if (dt < kato / 2 - 1) say(`fail: connections dropped after ${dt.toFixed(1)} s, before a keep-alive could have been missed (KATO ${kato} s)`);
      else say(`pass: target dropped ${before} connection(s) ${dt.toFixed(1)} s after the host went silent (KATO ${kato} s)`);
    } catch (e) {
      say(`fail: ${e instanceof Error ? e.message : String(e)}`);
      await monitor(qemuMon, 'set_link n0 on').catch(() => undefined);
    }
  }

  const shutdown = async () => {
    for (const p of running.reverse()) await stop(p, 'SIGTERM', 5000);
    if (target) await target.stop();
    if (mpRef) await mpRef.stop();
    if (rxRef) await rxRef.stop();
    await ctl.close();
  };
  process.once('SIGTERM', () => { void shutdown().then(() => process.exit(143)); });

  const ports = targetPorts(plan);
  // the reactors row's instance (lib/reactors.ts), only when that row runs; its port is captured too
  const rxPlan = kernelLocal || opts.p2pmem || !wanted.includes(RX_ROW) ? null : makeReactorsPlan();
  const wirePorts = rxPlan ? [...ports, rxPlan.port] : ports;
  const pcap = kernelLocal ? join(outDir, 'guest.pcap') : join(dir, 'target.pcap');
  let capture: Started | null = null;
  let setupError: string | null = null;
  try {
    if (!kernelLocal) {
      if (opts.capture) { capture = await startCapture(reg, pcap, wirePorts, join(dir, 'dumpcap.log')); running.push(capture); }
      const env: NodeJS.ProcessEnv = { ...process.env };
      if (opts.fault) env.NVMET_TS_FAULT = opts.fault; else delete env.NVMET_TS_FAULT;
      target = new Target(reg, {
        cmd: opts.targetCmd, configFile: join(dir, 'config.json'), apiPort: API_PORT, dataDir, logFile: join(dir, 'target.log'),
        ports, env, restartSignal: opts.restartSignal,
      });
      // the shared files exist before either instance enables its namespaces
      if (mpPlan) mpRef = setUpMultipath({ reg, plan, mp: mpPlan, dir, inDir, cmd: opts.targetCmd, env, apiPortA: API_PORT });
      if (rxPlan) rxRef = setUpReactors({ reg, plan, rx: rxPlan, dir, inDir, cmd: opts.targetCmd, env });
      const ms = await target.start();
      log(`target pid ${target.pid} listening on ${ports.join(', ')} after ${(ms / 1000).toFixed(1)} s`);
      if (mpRef && mpPlan) {
        const msB = await mpRef.start();
        log(`second instance pid ${mpRef.b.pid} listening on ${mpPlan.portB} after ${(msB / 1000).toFixed(1)} s`);
      }
      if (rxRef) {
        // its failure fails the reactors row only
        try {
          const msR = await rxRef.start();
          log(`reactors instance pid ${rxRef.target.pid} (--reactors ${rxRef.rx.loops}) listening on ${rxRef.rx.port} after ${(msR / 1000).toFixed(1)} s`);
        } catch { log(`reactors instance did not start: ${rxRef.startError}`); }
      }
    }
  } catch (e) {
    setupError = e instanceof Error ? e.message : String(e);
    log(`target setup failed: ${setupError}`);
  }

  let guestNote = 'guest did not run';
  if (setupError === null) {
    const accel = pickAccel(opts.accel);
    log(`booting the guest (${accel.accel}, ${accel.why}; ${opts.smp} vCPUs, ${opts.mem} MiB)`);
    const append = [`nvh.script=checks.sh`, `nvh.hostid=${plan.host.id}`,
      // Debian 6.1's own nvmet-tcp trips hardened usercopy on loopback; only the kernel-local target needs this
      ...(kernelLocal ? ['hardened_usercopy=off'] : [])].join(' ');
    const guestTimeout = Math.max(60, opts.timeoutSec - 60) * 1000;
    const booted = bootGuest(reg, {
      image, inDir, outDir, monitorSocket: qemuMon, consoleLog: join(dir, 'console.log'), append,
      mem: opts.mem, smp: opts.smp, accel: accel.accel, timeoutMs: guestTimeout,
      onLine: (l) => { if (/^\[checks\] .*: (pass|fail|skip|pending)/.test(l) || /NVMEHARNESS|Kernel panic|BUG:/.test(l)) console.log(`  ${l}`); },
    });
    running.push(booted.proc);
    const r = await booted.result;
    guestNote = r.timedOut ? `guest stopped at the ${guestTimeout / 1000} s limit` : `guest exited (qemu status ${r.code}); see console.log`;
    running.splice(running.indexOf(booted.proc), 1);
  }

  let p2pEnd: P2pState | null = null;
  if (target && opts.p2pmem) { p2pEnd = await p2pState(API_PORT); p2pLives.push(p2pEnd); }
  if (target) { await target.stop(); }
  if (mpRef) await mpRef.stop();
  if (rxRef) await rxRef.stop();
  if (capture) { await stop(capture, 'SIGTERM', 10_000); running.splice(running.indexOf(capture), 1); }
  await ctl.close();

  // ---- results
  const rows = collectRows(outDir, wanted, guestNote);
  if (setupError !== null) for (const r of rows) { r.status = 'fail'; r.reason = `target did not start: ${setupError}`; r.log = join(dir, 'target.log'); }

  let wire: WireStats | null = null;
  let wireErr: string | null = null;
  if (opts.capture && setupError === null && existsSync(pcap)) {
    try {
      log(`decoding ${pcap} with tshark ...`);
      wire = analyze(pcap, wirePorts);
      const capLog = kernelLocal ? join(outDir, 'checks', 'tcpdump.log') : join(dir, 'dumpcap.log');
      wire.captureDrops = existsSync(capLog) ? dropsFromLog(readFileSync(capLog, 'utf8')) : 0;
      writeFileSync(join(dir, 'wire.json'), JSON.stringify(wire, null, 2));
    } catch (e) { wireErr = e instanceof Error ? e.message : String(e); }
  } else if (opts.capture && setupError === null) wireErr = `no capture file ${pcap}`;

  for (const r of rows) {
    if (r.id !== RX_ROW || rxRef === null || setupError !== null) continue;
    if (rxRef.startError !== null) { r.status = 'fail'; r.reason = `reactors instance did not start: ${rxRef.startError}`; r.log = join(dir, 'target-rx.log'); continue; }
    if (r.status !== 'pass') continue;
    const snapshot = existsSync(rxRef.snapshotFile) ? JSON.parse(readFileSync(rxRef.snapshotFile, 'utf8')) as SnapshotFile : null;
    const v = reactorsVerdict({ rx: rxRef.rx, snapshot, artifacts: join(outDir, 'artifacts') });
    if (v.fail !== null) { r.status = 'fail'; r.reason = v.fail; } else r.reason = v.summary;
  }
  for (const r of rows) {
    if (r.id !== 'p2pmem-staging') continue;
    writeFileSync(join(dir, 'p2p-state.json'), JSON.stringify(p2pLives, null, 2));
    r.log = join(dir, 'p2p-state.json');
    if (!opts.p2pmem) { r.status = 'skip'; r.reason = 'not a --p2pmem run'; continue; }
    if (setupError !== null) continue;
    const v = p2pVerdict(p2pLives, p2pEnd);
    r.status = v === null ? 'pass' : 'fail';
    r.reason = v ?? p2pSummary(p2pLives, p2pEnd as P2pState);
  }
  for (const r of rows) {
    if (r.id === 'wire-check') {
      r.log = existsSync(join(dir, 'wire.json')) ? join(dir, 'wire.json') : null;
      if (!opts.capture) { r.status = 'skip'; r.reason = '--no-capture'; }
      else if (setupError !== null) { r.status = 'fail'; }
      else if (wire === null) { r.status = 'fail'; r.reason = wireErr ?? 'no capture'; }
      else {
        const v = wireVerdict(wire);
        r.status = v === null ? 'pass' : 'fail';
        r.reason = v === null ? wireSummary(wire) : `${v}; ${wire.examples.slice(0, 3).join('; ')}`;
      }
      continue;
    }
    if (r.status !== 'pass' || r.id === 'p2pmem-staging') continue;
    if (r.id === 'connect-digests' && !opts.capture) continue;
    const v = validateRow(r.id, join(outDir, 'artifacts'), plan, wire);
    if (v !== null) { r.status = 'fail'; r.reason = v; }
    else if (VALIDATED[r.id] !== undefined) r.reason = VALIDATED[r.id] as string;
  }
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ target: opts.target, targetCmd: opts.targetCmd || null, fault: opts.fault || null, plan, wire, rows }, null, 2));
  await shutdown();
  return 0;
}

// --------------------------------------------------------------------- main --
const argv = process.argv.slice(2);
const run = argv[0] === '--inner' ? inner(argv[1] ?? '') : outer(argv);
run.then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { console.error(`[interop] ${e instanceof Error ? e.message : String(e)}`); process.exitCode = 2; },
);
