/**
 * Numbers in topology files: sizes ("256M", "1GiB", 4096, "0x1000") and addresses
 * ("0xf000_0000"). All values are JS numbers and must stay exact (≤ 2^53 − 1);
 * addresses above that are rejected rather than silently rounded.
 */

const SUFFIX: Record<string, number> = {
  '': 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/** Parse a non-negative integer written as a number, decimal, hex ("0x…", "_" allowed) or with a K/M/G/T (binary) suffix. */
export function parseSize(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return `expected a non-negative integer, got ${value}`;
    return value;
  }
  if (typeof value !== 'string') return `expected a number or a size string like "256M", got ${describe(value)}`;
  const text = value.trim().replace(/_/g, '');
  if (/^0x[0-9a-f]+$/i.test(text)) return checkSafe(parseInt(text.slice(2), 16), value);
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(text);
  if (!m) return `invalid size "${value}" (examples: 4096, "0x1000", "256M", "1GiB")`;
  return checkSafe(parseInt(m[1]!, 10) * SUFFIX[m[2]!.toLowerCase()]!, value);
}

/** Parse an address: a non-negative integer (hex string recommended). */
export function parseAddress(value: unknown): number | string {
  if (typeof value === 'number' || (typeof value === 'string' && /^\s*(0x[0-9a-f_]+|\d+)\s*$/i.test(value))) {
    return parseSize(value);
  }
  return `expected an address (number or "0x…" string), got ${describe(value)}`;
}

/** A signed offset (CPU physical − bus address); "-0x1000" allowed. */
export function parseSignedAddress(value: unknown): number | string {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? value : `expected an integer, got ${value}`;
  }
  if (typeof value === 'string' && value.trim().startsWith('-')) {
    const v = parseAddress(value.trim().slice(1));
    return typeof v === 'string' ? v : -v;
  }
  return parseAddress(value);
}

/** Vendor/device ids: 0..0xffff as a number or hex string ("0x15b3" or "15b3"). */
export function parseId16(value: unknown): number | string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff) return value;
  if (typeof value === 'string' && /^(0x)?[0-9a-f]{1,4}$/i.test(value.trim())) {
    return parseInt(value.trim().replace(/^0x/i, ''), 16);
  }
  return `expected a 16-bit id like "0x15b3", got ${describe(value)}`;
}

function checkSafe(v: number, original: unknown): number | string {
  return Number.isSafeInteger(v) ? v : `value ${String(original)} exceeds 2^53 - 1`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function hexAddr(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

/** Human size for renderings: 256M, 1G, 16K, 512 (bytes). */
export function formatSize(bytes: number): string {
  for (const [unit, mul] of [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) {
    if (bytes >= mul && bytes % mul === 0) return `${bytes / mul}${unit}`;
  }
  return String(bytes);
}
