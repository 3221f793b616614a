/**
 * What a booting kernel decides about the fabric before any driver runs, as far as
 * p2pdma cares: the CPU (cpu_supports_p2pdma) and the ACS Control values that
 * enumeration leaves behind (pci_acs_init → pci_enable_acs → pci_std_enable_acs, then
 * pci_disable_acs_redir for `pci=disable_acs_redir=`). Source: drivers/pci/pci.c of
 * Linux 6.1 (Debian 12's 6.1.x); 4.20 has the same two steps.
 *
 * Not modelled: device-specific ACS quirks (pci_dev_specific_enable_acs, e.g. Intel PCH
 * root ports without a standard capability) and Translation Blocking for external-facing
 * ports / ATS disabled (pci_std_enable_acs sets TB only then; p2pdma never reads TB).
 */

import { ACS_FLAGS } from './acs.js';
import type { PciFunction } from './model.js';
import type { BootConfig, BootLogLine, CpuArch, CpuInfo, CpuVendor } from './topology.js';
import { describe } from './units.js';

interface ErrorSink {
  err(path: string, message: string): void;
}

const VENDORS: Readonly<Record<string, CpuVendor>> = {
  authenticamd: 'AuthenticAMD',
  amd: 'AuthenticAMD',
  genuineintel: 'GenuineIntel',
  intel: 'GenuineIntel',
  hygongenuine: 'HygonGenuine',
  hygon: 'HygonGenuine',
  centaurhauls: 'CentaurHauls',
  shanghai: 'Shanghai',
};
const ARCHES: readonly CpuArch[] = ['x86_64', 'aarch64', 'riscv64', 'ppc64le', 's390x'];

export const DEFAULT_CPU: CpuInfo = { arch: 'x86_64', vendor: 'unknown', family: 0, assumed: true };

/** "cpu": { "vendor": "AuthenticAMD" | "amd" | "GenuineIntel" | …, "family": 25 | "0x19", "arch": "x86_64" }. */
export function parseCpu(ctx: ErrorSink, v: unknown, path: string): CpuInfo {
  if (v === undefined) return DEFAULT_CPU;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.err(path, `expected an object like { "vendor": "AuthenticAMD", "family": 25 }, got ${describe(v)}`);
    return DEFAULT_CPU;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['vendor', 'family', 'arch'].includes(k) && !k.startsWith('_') && k !== 'comment' && k !== 'description') {
      ctx.err(`${path}.${k}`, `unknown field "${k}" (expected one of: vendor, family, arch)`);
    }
  }
  let arch: CpuArch = 'x86_64';
  if (o['arch'] !== undefined) {
    if (typeof o['arch'] === 'string' && (ARCHES as readonly string[]).includes(o['arch'])) arch = o['arch'] as CpuArch;
    else ctx.err(`${path}.arch`, `expected one of ${ARCHES.join(', ')}, got ${describe(o['arch'])}`);
  }
  let vendor: CpuVendor = 'unknown';
  if (o['vendor'] !== undefined) {
    const key = typeof o['vendor'] === 'string' ? o['vendor'].toLowerCase() : '';
    const found = VENDORS[key];
    if (found) vendor = found;
    else ctx.err(`${path}.vendor`, `expected a CPUID vendor (AuthenticAMD, GenuineIntel, HygonGenuine, CentaurHauls, Shanghai; or amd/intel/hygon), got ${describe(o['vendor'])}`);
    if (arch !== 'x86_64' && o['vendor'] !== undefined) ctx.err(`${path}.vendor`, `a CPUID vendor only exists on x86_64 (arch is ${arch})`);
  }
  let family = 0;
  const f = o['family'];
  if (f !== undefined) {
    const n = typeof f === 'number' ? f : typeof f === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(f.trim()) ? Number(f.trim()) : NaN;
    if (Number.isInteger(n) && n >= 0 && n <= 0xff + 0xf) family = n;
    else ctx.err(`${path}.family`, `expected the x86 family as an integer (e.g. 25 or "0x19"), got ${describe(f)}`);
  } else if (vendor !== 'unknown') {
    ctx.err(`${path}.family`, 'give the CPU family too (cpu_supports_p2pdma() compares it with 0x17)');
  }
  return { arch, vendor, family, assumed: false };
}

/**
 * cpu_supports_p2pdma() (drivers/pci/p2pdma.c, 6.1): "Any AMD CPU whose family ID is Zen
 * or newer supports p2pdma" — x86 only, vendor AMD (not Hygon), family >= 0x17.
 */
export function cpuSupportsP2pdma(cpu: CpuInfo): boolean {
  return cpu.arch === 'x86_64' && cpu.vendor === 'AuthenticAMD' && cpu.family >= 0x17;
}

export function describeCpu(cpu: CpuInfo): string {
  if (cpu.assumed) return 'CPU not declared (cpu_supports_p2pdma() = false)';
  const fam = cpu.arch === 'x86_64' && cpu.vendor !== 'unknown' ? ` family 0x${cpu.family.toString(16)}` : '';
  return `${cpu.arch}${cpu.vendor !== 'unknown' ? ` ${cpu.vendor}` : ''}${fam} (cpu_supports_p2pdma() = ${cpuSupportsP2pdma(cpu)})`;
}

/** "boot": { "iommu": true, "disableAcsRedir": "0000:02:01.0;pci:10b5:8747" }. */
export function parseBootConfig(ctx: ErrorSink, v: unknown, path: string): BootConfig {
  if (v === undefined) return { iommu: false, disableAcsRedir: null };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.err(path, `expected an object like { "iommu": true, "disableAcsRedir": "0000:02:01.0" }, got ${describe(v)}`);
    return { iommu: false, disableAcsRedir: null };
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['iommu', 'disableAcsRedir'].includes(k) && !k.startsWith('_') && k !== 'comment' && k !== 'description') {
      ctx.err(`${path}.${k}`, `unknown field "${k}" (expected one of: iommu, disableAcsRedir)`);
    }
  }
  let iommu = false;
  if (o['iommu'] !== undefined) {
    if (typeof o['iommu'] === 'boolean') iommu = o['iommu'];
    else ctx.err(`${path}.iommu`, `expected true or false, got ${describe(o['iommu'])}`);
  }
  let disableAcsRedir: string | null = null;
  const d = o['disableAcsRedir'];
  if (d !== undefined) {
    if (typeof d !== 'string' || d.length === 0) ctx.err(`${path}.disableAcsRedir`, `expected the pci=disable_acs_redir= value (e.g. "0000:02:01.0;0000:02:02.0"), got ${describe(d)}`);
    else {
      const bad = parseDevList(d).find((e) => e === null);
      if (bad === null) ctx.err(`${path}.disableAcsRedir`, `cannot parse "${d}": entries are [<domain>:]<bus>:<dev>.<fn>[/<dev>.<fn>]* or pci:<vendor>:<device>[:<subvendor>:<subdevice>], separated by ";"`);
      else disableAcsRedir = d;
    }
  }
  return { iommu, disableAcsRedir };
}

type DevMatch =
  | { readonly type: 'ids'; readonly vendor: number; readonly device: number }
  | { readonly type: 'path'; readonly domain: number; readonly bus: number; readonly devfns: readonly number[] };

const HEX = '([0-9a-fA-F]+)';

/** The entries of a pci_dev_str_match() list; null marks an entry that does not parse. */
function parseDevList(s: string): (DevMatch | null)[] {
  return s.split(/[;,]/).filter((e) => e.length > 0).map((e) => {
    const ids = new RegExp(`^pci:${HEX}:${HEX}(?::${HEX}:${HEX})?$`).exec(e);
    if (ids) return { type: 'ids', vendor: parseInt(ids[1]!, 16) & 0xffff, device: parseInt(ids[2]!, 16) & 0xffff };
    const parts = e.split('/');
    const head = new RegExp(`^(?:${HEX}:)?${HEX}:${HEX}\\.${HEX}$`).exec(parts[0]!);
    if (!head) return null;
    const devfns = [parseInt(head[3]!, 16) * 8 + parseInt(head[4]!, 16)];
    for (const p of parts.slice(1)) {
      const m = new RegExp(`^${HEX}\\.${HEX}$`).exec(p);
      if (!m) return null;
      devfns.push(parseInt(m[1]!, 16) * 8 + parseInt(m[2]!, 16));
    }
    return { type: 'path', domain: head[1] === undefined ? 0 : parseInt(head[1], 16), bus: parseInt(head[2]!, 16), devfns };
  });
}

const devfn = (f: PciFunction): number => f.address.device * 8 + f.address.fn;

/**
 * pci_dev_str_match(): "pci:vendor:device" (0 = any), or a path whose last element must
 * be `f` and each earlier element its upstream bridge, the first naming domain and bus.
 */
function matches(f: PciFunction, m: DevMatch): boolean {
  if (m.type === 'ids') return (!m.vendor || m.vendor === f.vendorId) && (!m.device || m.device === f.deviceId);
  let d: PciFunction | null = f;
  for (let i = m.devfns.length - 1; i > 0; i--) {
    if (!d || devfn(d) !== m.devfns[i]) return false;
    d = d.upstream;
  }
  return d !== null && d.address.domain === m.domain && d.address.bus === m.bus && devfn(d) === m.devfns[0];
}

const SV_RR_CR_UF = ACS_FLAGS.SV | ACS_FLAGS.RR | ACS_FLAGS.CR | ACS_FLAGS.UF;
const REDIRECT = ACS_FLAGS.RR | ACS_FLAGS.CR | ACS_FLAGS.EC;

/**
 * Set every function's ACS Control as the kernel leaves it after enumeration and return
 * the log lines it prints. Starting from the firmware value:
 *  - pci_std_enable_acs(), only when an IOMMU driver called pci_request_acs(): ctrl |=
 *    cap & (SV | RR | CR | UF);
 *  - pci_disable_acs_redir(), always: for a function matched by `pci=disable_acs_redir=`,
 *    ctrl &= ~(RR | CR | EC) and "disabled ACS redirect"; without the capability the kernel
 *    warns instead.
 * This runs during enumeration, before any driver binds: the log prefix is the bus name "pci".
 */
export function applyBootAcs(functions: readonly PciFunction[], boot: BootConfig): BootLogLine[] {
  const log: BootLogLine[] = [];
  const list = boot.disableAcsRedir === null ? [] : parseDevList(boot.disableAcsRedir).filter((m): m is DevMatch => m !== null);
  for (const f of functions) {
    const cap = f.acsCap;
    let ctrl = cap === null ? f.firmwareAcs : f.firmwareAcs & cap;
    if (boot.iommu && cap !== null) ctrl |= cap & SV_RR_CR_UF;
    if (list.some((m) => matches(f, m))) {
      if (cap === null) {
        log.push({ level: 'warn', device: f.bdf, text: `pci ${f.bdf}: cannot disable ACS redirect for this hardware as it does not have ACS capabilities` });
      } else {
        ctrl &= ~REDIRECT;
        log.push({ level: 'info', device: f.bdf, text: `pci ${f.bdf}: disabled ACS redirect` });
      }
    }
    f._setAcs(cap, ctrl);
  }
  return log;
}

