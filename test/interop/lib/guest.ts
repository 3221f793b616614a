/**
 * The guest: Debian kernel + initramfs built by guest/build-guest.sh and
 * cached outside git (keyed by a hash of the build script and the guest-lib.sh it
 * sources), booted under QEMU
 * with user-mode networking (the guest's 10.0.2.2 is 127.0.0.1 of the netns
 * QEMU runs in) and two 9p shares (/in read-only, /out read-write).
 */
import { createHash } from 'node:crypto';
import { createConnection } from 'node:net';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { deadline, runSync } from './proc.js';
import type { ProcessRegistry, Started } from './proc.js';

export interface GuestImage { readonly kernel: string; readonly initrd: string; readonly dir: string }

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME && process.env.XDG_CACHE_HOME !== '' ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'nvmet-ts', 'guest');
}

/** Build the guest image unless a build of this exact script is cached. */
export function ensureGuestImage(buildScript: string, log: (s: string) => void, rebuild = false): GuestImage {
  const h = createHash('sha256').update(readFileSync(buildScript));
  // the release-independent half of the build (sourced by every builder)
  const lib = join(dirname(buildScript), 'guest-lib.sh');
  if (existsSync(lib)) h.update(readFileSync(lib));
  const key = h.digest('hex').slice(0, 16);
  const dir = join(cacheRoot(), key);
  const img = { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initramfs.cpio.gz'), dir };
  if (!rebuild && existsSync(img.kernel) && existsSync(img.initrd)) return img;
  log(`building guest image (Debian packages) into ${dir} ...`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const t0 = performance.now();
  const r = runSync(['bash', buildScript, tmp], 15 * 60_000);
  writeFileSync(join(tmp, 'build.log'), r.stdout + r.stderr);
  if (r.status !== 0) {
    throw new Error(`guest build failed (status ${r.status}):\n${(r.stdout + r.stderr).split('\n').slice(-15).join('\n')}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`guest image built in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return img;
}

/**
 * QEMU accelerator: KVM only when asked for, or (auto) when /dev/kvm is a real
 * KVM that QEMU can open; else TCG. The PVM hypervisor's /dev/kvm opens fine
 * but cannot run a stock kernel (-cpu host aborts on MSR 0x10a, other CPU
 * models hang in the decompressor), so it counts as unusable.
 */
export function pickAccel(want: string): { accel: 'kvm' | 'tcg'; cpu: string; why: string } {
  if (want === 'tcg') return { accel: 'tcg', cpu: 'max', why: 'requested' };
  if (want === 'kvm') return { accel: 'kvm', cpu: 'host', why: 'requested' };
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', cpu: 'max', why: 'no /dev/kvm' };
  if (existsSync('/sys/module/kvm_pvm')) return { accel: 'tcg', cpu: 'max', why: '/dev/kvm is PVM' };
  const probe = runSync(['qemu-system-x86_64', '-M', 'none', '-accel', 'kvm', '-nodefaults', '-display', 'none', '-monitor', 'stdio'], 20_000, 'quit\n');
  return probe.status === 0 ? { accel: 'kvm', cpu: 'host', why: 'KVM probe ok' } : { accel: 'tcg', cpu: 'max', why: 'KVM probe failed' };
}

export interface BootOptions {
  image: GuestImage;
  inDir: string;
  outDir: string;
  monitorSocket: string;
  consoleLog: string;
  append: string;
  mem: number;
  smp: number;
  accel: string;
  timeoutMs: number;
  onLine: (line: string) => void;
}

export interface Booted { proc: Started; result: Promise<{ code: number; timedOut: boolean }> }

export function bootGuest(reg: ProcessRegistry, o: BootOptions): Booted {
  const a = pickAccel(o.accel);
  const argv = ['qemu-system-x86_64', '-name', 'nvmet-ts-interop', '-machine', 'q35', '-accel', a.accel, '-cpu', a.cpu,
    '-smp', String(o.smp), '-m', String(o.mem), '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', o.image.kernel, '-initrd', o.image.initrd,
    '-append', `console=ttyS0,115200 panic=-1 oops=panic quiet ${o.append}`.trim(),
    '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0,romfile=',  // no option ROM: ipxe-qemu is only a recommends
    '-fsdev', `local,id=fsout,path=${o.outDir},security_model=none`, '-device', 'virtio-9p-pci,fsdev=fsout,mount_tag=out',
    '-fsdev', `local,id=fsin,path=${o.inDir},security_model=none,readonly=on`, '-device', 'virtio-9p-pci,fsdev=fsin,mount_tag=in',
    '-device', 'virtio-rng-pci',
    '-monitor', `unix:${o.monitorSocket},server=on,wait=off`,
    '-serial', 'stdio'];
  appendFileSync(o.consoleLog, `# accel=${a.accel} (${a.why}) cpu=${a.cpu} smp=${o.smp} mem=${o.mem}M\n# ${argv.join(' ')}\n`);
  const proc = reg.start('qemu', argv, { logFile: null });
  let buf = '';
  const onData = (d: Buffer) => {
    appendFileSync(o.consoleLog, d);
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) { o.onLine(buf.slice(0, nl).replace(/\r$/, '')); buf = buf.slice(nl + 1); }
  };
  proc.child.stdout?.on('data', onData);
  proc.child.stderr?.on('data', onData);
  const result = (async () => {
    const r = await Promise.race([proc.exited, deadline(o.timeoutMs)]);
    if (r === 'timeout') {
      try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
      return { code: await proc.exited, timedOut: true };
    }
    return { code: r, timedOut: false };
  })();
  return { proc, result };
}

/** One HMP command over the monitor socket (e.g. "set_link n0 off"). */
export function monitor(socket: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let out = '';
    let sent = false;
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`monitor: no answer to "${command}"`)); }, timeoutMs);
    s.on('data', (d) => {
      out += d.toString('utf8');
      if (!sent && out.includes('(qemu)')) { sent = true; out = ''; s.write(`${command}\n`); return; }
      if (sent && out.includes('(qemu)')) { clearTimeout(timer); s.end(); resolve(out); }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}
