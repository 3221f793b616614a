/**
 * PCI bus/device/function addresses in the Linux `pci_name()` form "0000:03:00.0"
 * (domain:bus:device.function, lower-case hex).
 */

export interface Bdf {
  readonly domain: number;
  readonly bus: number;
  readonly device: number;
  readonly fn: number;
}

const BDF_RE = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/**
 * Parse "0000:03:00.0" or the short "03:00.0" (domain defaults to `defaultDomain`).
 * Returns a message instead of throwing so callers can attach a JSON path.
 */
export function parseBdf(text: string, defaultDomain = 0): Bdf | string {
  const m = BDF_RE.exec(text.trim());
  if (!m) return `invalid BDF "${text}" (expected "dddd:bb:dd.f", e.g. "0000:03:00.0")`;
  const domain = m[1] === undefined ? defaultDomain : parseInt(m[1], 16);
  const bus = parseInt(m[2]!, 16);
  const device = parseInt(m[3]!, 16);
  const fn = parseInt(m[4]!, 10);
  if (device > 31) return `invalid BDF "${text}": device number ${device} > 31`;
  return { domain, bus, device, fn };
}

const hex = (v: number, width: number): string => v.toString(16).padStart(width, '0');

export function formatBdf(b: Bdf): string {
  return `${hex(b.domain, 4)}:${hex(b.bus, 2)}:${hex(b.device, 2)}.${b.fn}`;
}

/** "0000:03:00" — the device part shared by every function of a multi-function device. */
export function formatSlot(b: Bdf): string {
  return `${hex(b.domain, 4)}:${hex(b.bus, 2)}:${hex(b.device, 2)}`;
}

/** Sort key matching Linux bus enumeration order (pci_get_device walks in this order). */
export function bdfOrder(b: Bdf): number {
  return ((b.domain * 256 + b.bus) * 32 + b.device) * 8 + b.fn;
}

/** Canonical form of a user-supplied BDF string, or null when it does not parse. */
export function normalizeBdf(text: string, defaultDomain = 0): string | null {
  const b = parseBdf(text, defaultDomain);
  return typeof b === 'string' ? null : formatBdf(b);
}
