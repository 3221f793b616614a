/**
 * JSON values and a serializer that writes exactly what nvmetcli writes.
 *
 * `nvmetcli save` (nvmet/nvme.py, Root.save_to_file) does
 *     f.write(json.dumps(self.dump(), sort_keys=True, indent=2)); f.write("\n")
 * under Python 3, i.e. separators (",", ": "), keys sorted by code point, and
 * ensure_ascii=True (everything outside printable ASCII escaped as \uXXXX, lowercase
 * hex, astral characters as surrogate pairs). `dumpsPythonJson` reproduces that byte
 * for byte, so a canonical nvmetcli file survives load → save unchanged.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A plain JSON object: not null, not an array, not a Date/Map/class instance. */
export function isJsonObject(v: unknown): v is JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Define an own data property. Plain assignment would treat a key named
 * "__proto__" (which JSON.parse happily produces) as a prototype change.
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Own enumerable keys present in `obj` (hasOwnProperty-safe for "__proto__"). */
export function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

export interface CloneLimits {
  /** Maximum nesting depth below the value itself. */
  maxDepth: number;
}

/**
 * Deep-copy a JSON value coming from JSON.parse (or any caller), refusing
 * non-JSON values and nesting deeper than `maxDepth` so a hostile document cannot
 * overflow the serializer's stack. Returns a message on failure.
 */
export function cloneJson(v: unknown, limits: CloneLimits, depth = 0): { value: JsonValue } | { error: string } {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return { value: v };
  if (typeof v === 'number') {
    return Number.isFinite(v) ? { value: v } : { error: 'numbers must be finite' };
  }
  if (depth >= limits.maxDepth) return { error: `nested deeper than ${limits.maxDepth} levels` };
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const item of v) {
      const c = cloneJson(item, limits, depth + 1);
      if ('error' in c) return c;
      out.push(c.value);
    }
    return { value: out };
  }
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) {
      const c = cloneJson(v[k], limits, depth + 1);
      if ('error' in c) return c;
      setOwn(out, k, c.value);
    }
    return { value: out };
  }
  return { error: `${typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v} is not a JSON value` };
}

/** Compare strings by Unicode code point, as Python's sorted() does for str. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order differs from code point order only when one side is a
    // surrogate (an astral code point) and the other is in U+E000..U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (xs ? y >= 0xe000 : x >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x08: '\\b',
  0x0c: '\\f',
};

/** Python json's ensure_ascii string encoding (py_encode_basestring_ascii). */
export function pythonJsonString(s: string): string {
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i);
    out += SHORT_ESCAPES[c] ?? '\\u' + c.toString(16).padStart(4, '0');
    runStart = i + 1;
  }
  return out + s.slice(runStart) + '"';
}

/**
 * Python's repr() of a number as json.dumps writes it. JSON.parse cannot tell an
 * int from an integral float, so integers that a double holds exactly (all ids,
 * counts and flags nvmetcli writes) are written as ints; anything else as Python
 * writes a float (shortest round-trip digits, exponent outside 1e-4..1e16).
 */
export function pythonJsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`cannot serialize ${n} as JSON`);
  // Python writes an int zero as "0"; only a float can be negative zero.
  if (Object.is(n, -0)) return '-0.0';
  if (Number.isSafeInteger(n)) return String(n);
  const [mant, expStr] = n.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let body: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      body = '0.' + '0'.repeat(-exp - 1) + digits;
    } else if (digits.length > exp + 1) {
      body = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
    } else {
      body = digits + '0'.repeat(exp + 1 - digits.length) + '.0';
    }
  } else {
    const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    body = m + 'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
  }
  return (neg ? '-' : '') + body;
}

/**
 * json.dumps(value, sort_keys=True, indent=indent) from Python 3, without the
 * trailing newline nvmetcli adds after it.
 */
export function dumpsPythonJson(value: JsonValue, indent = 2): string {
  const parts: string[] = [];
  write(value, 0);
  return parts.join('');

  function write(v: JsonValue, level: number): void {
    if (v === null) parts.push('null');
    else if (v === true) parts.push('true');
    else if (v === false) parts.push('false');
    else if (typeof v === 'number') parts.push(pythonJsonNumber(v));
    else if (typeof v === 'string') parts.push(pythonJsonString(v));
    else if (Array.isArray(v)) {
      if (v.length === 0) {
        parts.push('[]');
        return;
      }
      const inner = '\n' + ' '.repeat(indent * (level + 1));
      parts.push('[');
      v.forEach((item, i) => {
        parts.push(i === 0 ? inner : ',' + inner);
        write(item, level + 1);
      });
      parts.push('\n' + ' '.repeat(indent * level) + ']');
    } else {
      const keys = Object.keys(v).sort(compareCodePoints);
      if (keys.length === 0) {
        parts.push('{}');
        return;
      }
      const inner = '\n' + ' '.repeat(indent * (level + 1));
      parts.push('{');
      keys.forEach((k, i) => {
        parts.push(i === 0 ? inner : ',' + inner);
        parts.push(pythonJsonString(k), ': ');
        write(v[k]!, level + 1);
      });
      parts.push('\n' + ' '.repeat(indent * level) + '}');
    }
  }
}
