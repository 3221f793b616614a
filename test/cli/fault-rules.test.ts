/** --fault-rule / --fault-rules: rules the target starts with; errors name the option and JSON path. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cliFaultRules } from '../../target/cli/fault-rules.js';
import { main } from '../../target/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'nvmet-ts-fault-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CLI fault rules', () => {
  it('reads inline rules and a rules file, in that order', () => {
    const file = join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify([{ id: 'slow', action: { type: 'delay', p50: 5, p99: 50 } }]));
    const r = cliFaultRules(['{"match":{"qid":1},"action":{"type":"hang"}}'], file);
    expect(r).toEqual({ ok: true, rules: [{ match: { qid: 1 }, action: { type: 'hang' } }, { id: 'slow', action: { type: 'delay', p50: 5, p99: 50 } }] });
  });

  it.each([
    [['{"action":{"type":"status"}}'], undefined, /^--fault-rule\[0\]\.action\.sc: is required/],
    [['{"action":{"type":"hang"}}', 'nope'], undefined, /^--fault-rule\[1\]: invalid JSON/],
    [[], 'missing.json', /^--fault-rules missing\.json: ENOENT/],
  ])('rejects %j %s', (inline, file, re) => {
    const r = cliFaultRules(inline, file);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(re);
  });

  it('a rules file entry names the file and index', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify([{ action: { type: 'hang' } }, { match: { set: 'nvm' }, action: { type: 'hang' } }]));
    const r = cliFaultRules([], file);
    expect(r.ok === false && r.error).toBe(`${file}[1].match.set: must be "admin", "io" or "fabrics"`);
  });

  it('nvmet-ts exits 2 with the message before starting anything', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['--no-api', '--fault-rule', '{"action":{"type":"delay","ms":-1}}'])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(/--fault-rule\[0\]\.action\.ms: must be a number/);
    } finally {
      err.mockRestore();
    }
  });
});
