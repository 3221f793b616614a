/**
 * The target under test when it runs on the runner's side (nvmet-ts, or any
 * command the user gives): started inside the run's netns on 127.0.0.1 with the
 * generated config, restarted by PID, asked to add namespaces over its
 * management API.
 */
import { writeFileSync } from 'node:fs';
import { listeningPorts } from './host.js';
import { nsConfig } from './plan.js';
import type { NamespacePlan, Plan } from './plan.js';
import type { P2pState } from './p2pmem.js';
import { sleep, stop } from './proc.js';
import type { ProcessRegistry, Started } from './proc.js';

export interface TargetOptions {
  /** command template; {config}, {api}, {apiPort}, {dataDir} are substituted */
  readonly cmd: string;
  readonly configFile: string;
  readonly apiPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly ports: readonly number[];
  readonly env: NodeJS.ProcessEnv;
  readonly restartSignal: NodeJS.Signals;
}

export function expandCmd(template: string, o: { configFile: string; apiPort: number; dataDir: string }): string {
  return template
    .replaceAll('{dataDir}', o.dataDir)
    .replaceAll('{config}', o.configFile)
    .replaceAll('{api}', `127.0.0.1:${o.apiPort}`)
    .replaceAll('{apiPort}', String(o.apiPort));
}

export class Target {
  private proc: Started | null = null;
  private starts = 0;

  constructor(private readonly reg: ProcessRegistry, readonly o: TargetOptions) {}

  get pid(): number | null { return this.proc?.pid ?? null; }

  /** Start and wait until every port listens; throws with the log tail otherwise. */
  async start(timeoutMs = 30_000): Promise<number> {
    this.starts++;
    writeFileSync(this.o.logFile, `\n===== start #${this.starts}: ${expandCmd(this.o.cmd, this.o)}\n`, { flag: 'a' });
    // exec: the PID we record is the target's own, not a shell's
    const p = this.reg.start('target', ['/bin/sh', '-c', `exec ${expandCmd(this.o.cmd, this.o)}`], { logFile: this.o.logFile, env: this.o.env });
    this.proc = p;
    const t0 = performance.now();
    while (performance.now() - t0 < timeoutMs) {
      if (p.exitCode() !== null) throw new Error(`target exited with status ${p.exitCode()} before listening`);
      const l = listeningPorts();
      if (this.o.ports.every((x) => l.has(x))) return performance.now() - t0;
      await sleep(100);
    }
    throw new Error(`target not listening on ${this.o.ports.join(', ')} after ${timeoutMs / 1000} s`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.proc) return null;
    const code = await stop(this.proc, signal, 10_000);
    this.proc = null;
    return code;
  }

  async restart(): Promise<string> {
    const old = this.pid;
    const code = await this.stop(this.o.restartSignal);
    const t = await this.start();
    return `restarted: pid ${old} stopped by ${this.o.restartSignal} (status ${code}), pid ${this.pid} listening after ${(t / 1000).toFixed(1)} s`;
  }

  /**
   * Add a namespace through the management API. Returns a "pending: ..."
   * reason when the target has no API to ask (not a failure of the host).
   */
  async addNamespace(plan: Plan, ns: NamespacePlan): Promise<string> {
    const base = `http://127.0.0.1:${this.o.apiPort}`;
    const body = JSON.stringify(nsConfig(ns, plan.p2pmem));
    const url = `${base}/api/subsystems/${encodeURIComponent(plan.subnqn)}/namespaces`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(15_000) });
    } catch (e) {
      return `pending: needs management API (POST ${url}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)})`;
    }
    const text = (await res.text()).slice(0, 300);
    if (res.status === 404 || res.status === 405) return `pending: needs management API (POST ${url} -> ${res.status} ${text})`;
    if (!res.ok) throw new Error(`POST ${url} -> ${res.status} ${text}`);
    return `ok: POST ${url} -> ${res.status}`;
  }
}

/** Set ANA group 1 of `portid` to `state` over the management API (PUT /api/ports/:portid/ana_groups/1). */
export async function setAnaState(apiPort: number, portid: number, state: string): Promise<string> {
  const url = `http://127.0.0.1:${apiPort}/api/ports/${portid}/ana_groups/1`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state }), signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    return `pending: needs management API (PUT ${url}: ${e instanceof Error ? e.message : String(e)})`;
  }
  const text = (await res.text()).slice(0, 300);
  if (res.status === 404 || res.status === 405) return `pending: needs the ANA API (PUT ${url} -> ${res.status} ${text})`;
  if (!res.ok) throw new Error(`PUT ${url} -> ${res.status} ${text}`);
  return `ok: port ${portid} group 1 ${state}`;
}

/** nvmet-ts's p2pmem data path state, or null when the target has none to give. */
export async function p2pState(apiPort: number): Promise<P2pState | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/p2p/state`, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? ((await res.json()) as P2pState) : null;
  } catch {
    return null;
  }
}
