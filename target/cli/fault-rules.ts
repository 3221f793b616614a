/**
 * `--fault-rule JSON` (repeatable) and `--fault-rules FILE` (a JSON array of rules):
 * fault rules (target/fault/rule.ts) the target starts with. Errors name the
 * option and the JSON path (`--fault-rule[1].action.sc: is required`).
 */

import { readFileSync } from 'node:fs';
import { parseFaultRule, FaultRuleError, type FaultRuleSpec } from '../fault/index.js';

/** Largest rules file read (rules are small; this is not a place for data). */
const MAX_FILE = 1 << 20;

export function cliFaultRules(inline: readonly string[], file: string | undefined): { ok: true; rules: FaultRuleSpec[] } | { ok: false; error: string } {
  const rules: FaultRuleSpec[] = [];
  try {
    inline.forEach((text, i) => {
      const where = `--fault-rule[${i}]`;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        throw new FaultRuleError(where, `invalid JSON (${(e as Error).message})`);
      }
      rules.push(parseFaultRule(v, where));
    });
    if (file !== undefined) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new FaultRuleError(`--fault-rules ${file}`, (e as Error).message);
      }
      if (text.length > MAX_FILE) throw new FaultRuleError(`--fault-rules ${file}`, `larger than ${MAX_FILE} bytes`);
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        throw new FaultRuleError(`--fault-rules ${file}`, `invalid JSON (${(e as Error).message})`);
      }
      if (!Array.isArray(v)) throw new FaultRuleError(`--fault-rules ${file}`, 'must hold a JSON array of fault rules');
      v.forEach((r, i) => rules.push(parseFaultRule(r, `${file}[${i}]`)));
    }
  } catch (e) {
    if (e instanceof FaultRuleError) return { ok: false, error: e.message };
    throw e;
  }
  return { ok: true, rules };
}
