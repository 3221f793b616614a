/** What the suite needs from the machine it runs on: root, Debian tools, a network namespace. */
import { join } from 'node:path';
import { runSync } from './proc.js';

/**
 * The host tools this runner needs, as sets of lib/host-tools.sh (the one place that
 * maps a tool to its Debian package and installs what is missing, for the shell
 * runners too): build and boot the Debian 12 guest, and the wire check's tshark.
 */
export const HOST_TOOL_SETS: readonly string[] = ['@guest', '@wire'];

/**
 * Install whatever of HOST_TOOL_SETS is missing, through lib/host-tools.sh
 * (non-interactive apt-get, tshark's debconf question pre-answered); apt's output
 * goes to `aptLog`. Throws with the helper's message when a tool is still missing
 * (or, with install=false, when one is missing at all).
 */
export function ensureHostPackages(root: string, log: (s: string) => void, install: boolean, aptLog: string): void {
  const argv = ['bash', join(root, 'test', 'interop', 'lib', 'host-tools.sh'), ...(install ? [] : ['--no-install']), '--log', aptLog, ...HOST_TOOL_SETS];
  // apt-get update + install on a clean machine: minutes, bounded
  const r = runSync(argv, 1_200_000);
  for (const line of r.stdout.split('\n')) if (line.trim() !== '') log(line.trim());
  if (r.status !== 0) throw new Error(r.stderr.trim().slice(-600) || `host-tools.sh exited ${r.status}`);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function netnsAdd(name: string): void {
  const r = runSync(['ip', 'netns', 'add', name]);
  if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
  const lo = runSync(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  if (lo.status !== 0) throw new Error(`bringing up lo in ${name}: ${lo.stderr.trim()}`);
}

export function netnsDel(name: string): void {
  runSync(['ip', 'netns', 'del', name]);
}

/** TCP ports in LISTEN state (in the caller's namespace). */
export function listeningPorts(): Set<number> {
  const r = runSync(['ss', '-Hltn'], 10_000);
  const ports = new Set<number>();
  for (const line of r.stdout.split('\n')) {
    // State Recv-Q Send-Q Local:Port Peer:Port
    const local = line.trim().split(/\s+/)[3] ?? '';
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    if (local !== '' && Number.isInteger(port)) ports.add(port);
  }
  return ports;
}

/** Established TCP connections whose local port is `port` (in the caller's namespace). */
export function establishedOn(port: number): number {
  const r = runSync(['ss', '-Htn', 'state', 'established', `( sport = :${port} )`], 10_000);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}
