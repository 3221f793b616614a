/**
 * Child processes of the interop run: every one is started here, recorded by
 * PID in the run directory (so the outer runner can still stop it if the inner
 * one dies) and stopped by PID — never by name.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or 128+signal) once the process is gone. */
  readonly exited: Promise<number>;
  exitCode(): number | null;
}

export class ProcessRegistry {
  constructor(private readonly pidDir: string) {
    mkdirSync(pidDir, { recursive: true });
  }

  /** Start `argv` with stdout+stderr appended to `logFile` (or piped when logFile is null). */
  start(name: string, argv: readonly string[], opts: { logFile: string | null; env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'ignore' | 'pipe' }): Started {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error(`${name}: empty command`);
    let fd: number | null = null;
    const stdio: SpawnOptions['stdio'] = opts.logFile === null
      ? [opts.stdin ?? 'ignore', 'pipe', 'pipe']
      : [opts.stdin ?? 'ignore', (fd = openSync(opts.logFile, 'a')), fd];
    const child = spawn(cmd, args, { stdio, env: opts.env ?? process.env, cwd: opts.cwd });
    if (fd !== null) closeSync(fd);
    if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
    const pid = child.pid;
    let code: number | null = null;
    const exited = new Promise<number>((resolve) => {
      child.on('exit', (c, sig) => {
        code = c ?? 128 + signalNumber(sig);
        rmSync(join(this.pidDir, `${pid}.pid`), { force: true });
        resolve(code);
      });
      child.on('error', () => { code = 127; resolve(127); });
    });
    writeFileSync(join(this.pidDir, `${pid}.pid`), `${name}\n${argv.join(' ')}\n`);
    return { name, child, pid, exited, exitCode: () => code };
  }
}

function signalNumber(sig: NodeJS.Signals | null): number {
  if (sig === null) return 0;
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11 };
  return table[sig] ?? 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A timer that does not keep the process alive (for races against a child's exit). */
export const deadline = (ms: number): Promise<'timeout'> => new Promise((r) => setTimeout(() => r('timeout'), ms).unref());

/** Send `signal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stop(p: Started, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<number> {
  if (p.exitCode() !== null) return p.exitCode() as number;
  try { process.kill(p.pid, signal); } catch { /* already gone */ }
  if ((await Promise.race([p.exited, deadline(graceMs)])) === 'timeout') {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  return p.exited;
}

/**
 * Stop whatever the inner run left behind: the PIDs recorded in `pidDir`
 * (each checked against its recorded command line, so a reused PID is spared).
 */
export function reapRecorded(pidDir: string): string[] {
  const killed: string[] = [];
  let files: string[] = [];
  try { files = readdirSync(pidDir).filter((f) => f.endsWith('.pid')); } catch { return killed; }
  for (const f of files) {
    const pid = Number.parseInt(f, 10);
    const [name = '?', cmdline = ''] = readFileSync(join(pidDir, f), 'utf8').split('\n');
    let live = '';
    try { live = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { /* gone */ }
    if (live !== '' && live === cmdline.trim()) {
      try { process.kill(pid, 'SIGKILL'); killed.push(`${name} (pid ${pid})`); } catch { /* gone */ }
    }
    rmSync(join(pidDir, f), { force: true });
  }
  return killed;
}

/** Run a short command to completion (bounded), returning status and output. */
export function runSync(argv: readonly string[], timeoutMs = 60_000, input?: string): { status: number; stdout: string; stderr: string } {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('empty command');
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, input, maxBuffer: 64 << 20 });
  return { status: r.status ?? (r.error ? 127 : 128), stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
