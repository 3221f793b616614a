/**
 * The config's root `nvmet_ts` section (nvmet-ts only; nvmetcli has no such key):
 *
 *   "nvmet_ts": { "faults": [ <fault rule>, ... ] }
 *
 * Fault rules (target/fault/rule.ts) are loaded with the config and replaced when
 * it changes; errors name the JSON path (`nvmet_ts.faults[1].action.sc`).
 */

import { parseFaultRule, FaultRuleError, TCP_ONLY_ACTIONS, type FaultRuleSpec } from '../fault/rule.js';
import type { JsonObject, JsonValue } from './json.js';
import type { PortConfig } from './types.js';

const KEYS = ['faults'];

/** Read the section; report each problem through `error(path, message)`. */
export function readNvmetTsRoot(raw: JsonValue | undefined, error: (path: string, message: string) => void): FaultRuleSpec[] | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    error('nvmet_ts', 'must be an object ({"faults": [...]})');
    return undefined;
  }
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) error(`nvmet_ts.${k}`, `unknown field (known: ${KEYS.join(', ')})`);
  const list = raw['faults'];
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) {
    error('nvmet_ts.faults', 'must be an array of fault rules');
    return undefined;
  }
  const out: FaultRuleSpec[] = [];
  const ids = new Set<string>();
  list.forEach((v, i) => {
    const path = `nvmet_ts.faults[${i}]`;
    try {
      const r = parseFaultRule(v, path);
      if (r.id !== undefined) {
        if (ids.has(r.id)) throw new FaultRuleError(`${path}.id`, `duplicate rule id "${r.id}"`);
        ids.add(r.id);
      }
      out.push(r);
    } catch (e) {
      if (!(e instanceof FaultRuleError)) throw e;
      error(e.path, e.reason);
    }
  });
  return out;
}

/**
 * A rule whose action only NVMe/TCP carries out (target/fault/rule.ts TCP_ONLY_ACTIONS)
 * must not name a port of another transport in match.port (the same check as /api/faults).
 * Rules are checked in their order in `nvmet_ts.faults`, ids aside.
 */
export function checkFaultPorts(faults: readonly FaultRuleSpec[], ports: readonly PortConfig[], error: (path: string, message: string) => void): void {
  faults.forEach((r, i) => {
    const id = r.match?.port;
    if (id === undefined || !TCP_ONLY_ACTIONS.has(r.action.type)) return;
    const port = ports.find((p) => p.portid === id);
    const tr = port?.addr.trtype;
    if (port === undefined || tr === undefined || tr === '' || tr === 'tcp') return;
    error(`nvmet_ts.faults[${i}].match.port`, `port ${id} is ${tr}: action "${r.action.type}" acts on NVMe/TCP PDUs and is for TCP ports only`);
  });
}

export function nvmetTsRootToJson(faults: readonly FaultRuleSpec[]): JsonObject {
  return { faults: JSON.parse(JSON.stringify(faults)) as JsonValue[] };
}
