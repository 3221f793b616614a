/** What the suite needs from the machine it runs on: root, Debian tools, a network namespace. */
import { runSync } from './proc.js';

/** command -> Debian package that provides it */
export const HOST_TOOLS: Readonly<Record<string, string>> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  tshark: 'tshark',
  dumpcap: 'tshark',
  ip: 'iproute2',
  ss: 'iproute2',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  gzip: 'gzip',
};

export function missingTools(): string[] {
  return Object.keys(HOST_TOOLS).filter((t) => runSync(['sh', '-c', `command -v ${t}`]).status !== 0);
}

/**
 * apt-get install whatever is missing, non-interactively; tshark's
 * "should non-superusers be able to capture" debconf question is pre-answered.
 */
export function ensureHostPackages(log: (s: string) => void, install: boolean): void {
  const missing = missingTools();
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((t) => HOST_TOOLS[t] as string))];
  if (!install) throw new Error(`missing host tools: ${missing.join(', ')} (apt-get install ${pkgs.join(' ')})`);
  log(`installing ${pkgs.join(' ')} ...`);
  const env = 'DEBIAN_FRONTEND=noninteractive';
  runSync(['sh', '-c', 'echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections'], 30_000);
  const upd = runSync(['sh', '-c', `${env} apt-get update -qq`], 300_000);
  if (upd.status !== 0) log(`apt-get update: ${upd.stderr.trim().slice(0, 300)}`);
  const r = runSync(['sh', '-c', `${env} apt-get install -y -q --no-install-recommends ${pkgs.join(' ')} cpio`], 900_000);
  if (r.status !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed: ${r.stderr.trim().slice(-600)}`);
  const still = missingTools();
  if (still.length > 0) throw new Error(`still missing after install: ${still.join(', ')}`);
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
