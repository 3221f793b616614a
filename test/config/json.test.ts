import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloneJson, compareCodePoints, dumpsPythonJson, pythonJsonNumber, type JsonValue } from '../../target/config/json.js';
import { PYTHON_JSON_CASES } from './python-json.fixture.js';

describe('dumpsPythonJson reproduces CPython json.dumps(sort_keys=True, indent=2)', () => {
  it.each(PYTHON_JSON_CASES)('%s', (_name, input, expected) => {
    expect(dumpsPythonJson(JSON.parse(input) as JsonValue, 2)).toBe(expected);
  });

  it('uses the requested indent', () => {
    expect(dumpsPythonJson({ a: [1] }, 4)).toBe('{\n    "a": [\n        1\n    ]\n}');
  });

  it('is a fixed point through JSON.parse for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const once = dumpsPythonJson(v as JsonValue);
        const back = JSON.parse(once) as JsonValue;
        expect(dumpsPythonJson(back)).toBe(once);
        // Compare with v itself: JSON.stringify would turn -0 into 0, which Python
        // (and dumpsPythonJson) keep as the float -0.0.
        expect(back).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });

  it('writes only printable ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = dumpsPythonJson({ [s]: s });
        expect(/^[\x20-\x7e\n]*$/.test(out)).toBe(true);
        expect(JSON.parse(out)).toEqual({ [s]: s });
      }),
      { numRuns: 100 },
    );
  });

  it('refuses non-finite numbers', () => {
    expect(() => pythonJsonNumber(NaN)).toThrow(RangeError);
    expect(() => pythonJsonNumber(Infinity)).toThrow(RangeError);
  });
});

describe('compareCodePoints', () => {
  it('orders like code points, not UTF-16 units', () => {
    expect(compareCodePoints('\uffff', '😀')).toBeLessThan(0); // U+FFFF < U+1F600, though 0xFFFF > 0xD83D
    expect(compareCodePoints('😀', '\ue000')).toBeGreaterThan(0);
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    expect(compareCodePoints('x', 'x')).toBe(0);
  });

  it('agrees with comparing code point arrays', () => {
    const cp = (s: string): number[] => Array.from(s, (c) => c.codePointAt(0)!);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const x = cp(a);
        const y = cp(b);
        let want = 0;
        for (let i = 0; i < Math.min(x.length, y.length) && want === 0; i++) want = x[i]! - y[i]!;
        if (want === 0) want = x.length - y.length;
        expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(want));
      }),
      { numRuns: 500 },
    );
  });
});

describe('cloneJson', () => {
  it('keeps "__proto__" as an ordinary own key', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": 1}, "a": 2}') as unknown;
    const c = cloneJson(parsed, { maxDepth: 8 });
    expect('value' in c).toBe(true);
    if ('value' in c) {
      expect(Object.keys(c.value as object)).toEqual(['__proto__', 'a']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(dumpsPythonJson(c.value)).toBe('{\n  "__proto__": {\n    "polluted": 1\n  },\n  "a": 2\n}');
    }
  });

  it('refuses undefined, functions, class instances, non-finite numbers and deep nesting', () => {
    expect(cloneJson(undefined, { maxDepth: 4 })).toEqual({ error: 'undefined is not a JSON value' });
    expect(cloneJson({ a: () => 1 }, { maxDepth: 4 })).toEqual({ error: 'function is not a JSON value' });
    expect(cloneJson([new Map()], { maxDepth: 4 })).toEqual({ error: 'Map is not a JSON value' });
    expect(cloneJson(Infinity, { maxDepth: 4 })).toEqual({ error: 'numbers must be finite' });
    expect(cloneJson([[[[1]]]], { maxDepth: 3 })).toEqual({ error: 'nested deeper than 3 levels' });
    expect(cloneJson([[[1]]], { maxDepth: 3 })).toEqual({ value: [[[1]]] });
  });
});
