import { describe, expect, it } from 'vitest';
import {
  parseBackingSpec,
  parseBdf,
  parseBool,
  parseIntIn,
  parseNguid,
  parseNqn,
  parseSize,
  parseUuid,
  parseVersion,
  validateBackingPath,
  versionToVs,
  type Check,
} from '../../target/config/index.js';

function value<T>(c: Check<T>): T {
  if (!c.ok) throw new Error(c.message);
  return c.value;
}
function message<T>(c: Check<T>): string {
  if (c.ok) throw new Error(`expected failure, got ${JSON.stringify(c.value)}`);
  return c.message;
}

describe('parseSize / parseBackingSpec', () => {
  it.each([
    ['512', 512],
    ['4K', 4096],
    ['4k', 4096],
    ['512M', 512 * 2 ** 20],
    ['1G', 2 ** 30],
    ['2T', 2 * 2 ** 40],
  ])('%s = %d bytes', (s, n) => expect(value(parseSize(s))).toBe(n));

  it.each(['', 'G', '1GB', '1 G', '-1G', '1.5G', '0x100', '1P', '0'])('%j is refused', (s) => {
    expect(parseSize(s).ok).toBe(false);
  });

  it('distinguishes RAM from file backing', () => {
    expect(value(parseBackingSpec('ram:1G'))).toEqual({ kind: 'ram', bytes: 2 ** 30 });
    expect(value(parseBackingSpec('/dev/nullb0'))).toEqual({ kind: 'file', path: '/dev/nullb0' });
    expect(value(parseBackingSpec('images/a.img'))).toEqual({ kind: 'file', path: 'images/a.img' });
    expect(message(parseBackingSpec('ram:'))).toMatch(/RAM backing must be a size/);
    expect(message(parseBackingSpec(''))).toMatch(/must not be empty/);
    expect(message(parseBackingSpec(null))).toMatch(/must be a string/);
  });
});

describe('validateBackingPath (hostile input)', () => {
  it('refuses NUL, "..", empty, over-long paths', () => {
    expect(message(validateBackingPath('a\u0000b'))).toMatch(/NUL/);
    expect(message(validateBackingPath('a/../b'))).toMatch(/\.\./);
    expect(message(validateBackingPath('..'))).toMatch(/\.\./);
    expect(message(validateBackingPath('..\\windows'))).toMatch(/\.\./);
    expect(message(validateBackingPath(''))).toMatch(/empty/);
    expect(message(validateBackingPath('/' + 'x'.repeat(5000)))).toMatch(/at most 4095/);
    expect(message(validateBackingPath(7 as unknown as string))).toMatch(/must be a string/);
  });

  it('allows names that merely contain dots', () => {
    expect(value(validateBackingPath('/srv/a..b/..c/d..', { allowedDirs: ['/srv'] }))).toBe('/srv/a..b/..c/d..');
  });

  it('confines to allowed directories, resolving relative paths against the first', () => {
    const policy = { allowedDirs: ['/srv/nvmet', '/data/'] };
    expect(value(validateBackingPath('ns1.img', policy))).toBe('/srv/nvmet/ns1.img');
    expect(value(validateBackingPath('/data/x/y.img', policy))).toBe('/data/x/y.img');
    expect(value(validateBackingPath('/srv/nvmet//./ns1.img', policy))).toBe('/srv/nvmet/ns1.img');
    expect(message(validateBackingPath('/srv/nvmet', policy))).toMatch(/must be inside/);
    expect(message(validateBackingPath('/srv/nvmet-evil/ns.img', policy))).toMatch(/must be inside/);
    expect(message(validateBackingPath('/etc/shadow', policy))).toMatch(/must be inside "\/srv\/nvmet" or "\/data\/"/);
  });

  it('uses baseDir for relative paths when given', () => {
    expect(value(validateBackingPath('a.img', { baseDir: '/tmp/cfg' }))).toBe('/tmp/cfg/a.img');
  });
});

describe('parseBool (kstrtobool, strict)', () => {
  it.each([
    [true, true],
    [1, true],
    ['1', true],
    ['Y', true],
    ['yes', true],
    ['on', true],
    [' true ', true],
    [false, false],
    [0, false],
    ['0', false],
    ['n', false],
    ['OFF', false],
  ])('%j → %j', (v, b) => expect(value(parseBool(v))).toBe(b));
  it.each(['nonsense', 'yep', '', 2, null, [], {}])('%j is refused', (v) => expect(parseBool(v).ok).toBe(false));
});

describe('parseIntIn', () => {
  it('reads numbers and decimal strings, hex only when asked', () => {
    expect(value(parseIntIn('42', 0, 100))).toBe(42);
    expect(value(parseIntIn(42, 0, 100))).toBe(42);
    expect(value(parseIntIn('-1', -1, 100))).toBe(-1);
    expect(parseIntIn('0x10', 0, 100).ok).toBe(false);
    expect(value(parseIntIn('0x10', 0, 100, { hex: true }))).toBe(16);
    expect(message(parseIntIn('101', 0, 100))).toBe('must be an integer 0..100, got "101"');
    expect(message(parseIntIn(1e300, 0, 100))).toMatch(/0\.\.100/);
    expect(message(parseIntIn('9'.repeat(30), 0, 100))).toMatch(/0\.\.100/);
  });
});

describe('identifiers', () => {
  it('canonicalizes NGUIDs to the kernel show format', () => {
    expect(value(parseNguid('00112233445566778899AABBCCDDEEFF'))).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(value(parseNguid('00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff'))).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(value(parseNguid('00112233-4455-6677-8899-aabbccddeeff'))).toBe('00112233-4455-6677-8899-aabbccddeeff');
    expect(parseNguid('0011223344556677-8899aabbccddeef').ok).toBe(false);
    expect(parseNguid('0011223344556677889gaabbccddeeff').ok).toBe(false);
  });

  it('lowercases UUIDs and refuses other shapes', () => {
    expect(value(parseUuid('C2C140E4-AFF2-4DF4-8926-1686A485E99D'))).toBe('c2c140e4-aff2-4df4-8926-1686a485e99d');
    expect(parseUuid('c2c140e4aff24df489261686a485e99d').ok).toBe(false);
    expect(parseUuid('{c2c140e4-aff2-4df4-8926-1686a485e99d}').ok).toBe(false);
  });

  it('canonicalizes BDFs like pci_name()', () => {
    expect(value(parseBdf('0000:03:00.0'))).toBe('0000:03:00.0');
    expect(value(parseBdf('03:00.0'))).toBe('0000:03:00.0');
    expect(value(parseBdf('0000:0A:1F.7'))).toBe('0000:0a:1f.7');
    expect(parseBdf('0000:03:20.0').ok).toBe(false); // device > 0x1f
    expect(parseBdf('0000:03:00.8').ok).toBe(false);
    expect(parseBdf('3:0.0').ok).toBe(false);
  });

  it('normalizes versions to the kernel show format', () => {
    expect(value(parseVersion('1.3'))).toBe('1.3');
    expect(value(parseVersion('1.3.0'))).toBe('1.3');
    expect(value(parseVersion('2.0.1'))).toBe('2.0.1');
    expect(value(parseVersion('01.04'))).toBe('1.4');
    expect(versionToVs('1.3')).toBe(0x10300);
    expect(versionToVs('2.0.1')).toBe(0x20001);
    expect(parseVersion('0.9').ok).toBe(false);
    expect(parseVersion('1').ok).toBe(false);
  });

  it('accepts any Linux-usable NQN, warning when it is not in NVMe format', () => {
    expect(value(parseNqn('nqn.2014-08.org.nvmexpress:nvmet-ts'))).toEqual({ nqn: 'nqn.2014-08.org.nvmexpress:nvmet-ts' });
    expect(value(parseNqn('nqn.2014-08.org.nvmexpress:uuid:c2c140e4-aff2-4df4-8926-1686a485e99d')).warning).toBeUndefined();
    expect(value(parseNqn('nqn.2014-08.org.nvmexpress:uuid:nope')).warning).toMatch(/UUID/);
    expect(value(parseNqn('testnqn')).warning).toMatch(/not in NVMe NQN format/);
    expect(value(parseNqn('nqn.2014-13.org.example:x')).warning).toMatch(/not in NVMe NQN format/);
    expect(parseNqn('n'.repeat(223)).ok).toBe(true);
    expect(parseNqn('n'.repeat(224)).ok).toBe(false);
  });
});
