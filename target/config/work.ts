/**
 * How many configuration entities (hosts, subsystems, namespaces, ports) each step
 * of the configuration pipeline touched: parsed, cross-checked, resolved, turned
 * into JSON, put into a whole document, or reconciled against the live target.
 *
 * Not a timing: a count that tests read to prove a management-API change costs
 * O(change), not O(configuration) (issue 10 part 3). Incrementing a number is the
 * whole cost, so the counters stay on in production.
 */

export interface ConfigWork {
  /** Objects read by the parser (parse.ts read* functions). */
  parsed: number;
  /** Entities whose references were checked (duplicates, dangling NQNs, listen addresses, placement). */
  checked: number;
  /** Entities given their defaults (resolve.ts), cache misses only. */
  resolved: number;
  /** Entities written as nvmetcli JSON (serialize.ts). */
  serialized: number;
  /** Entities copied into a whole NvmetConfig document (store.ts). */
  materialized: number;
  /** Entities compared with (or applied to) the live target (service reconcile). */
  reconciled: number;
}

export const configWork: ConfigWork = { parsed: 0, checked: 0, resolved: 0, serialized: 0, materialized: 0, reconciled: 0 };

/** A copy of the counters. */
export function workSnapshot(): ConfigWork {
  return { ...configWork };
}

/** Counters since `before`, and their sum. */
export function workSince(before: ConfigWork): ConfigWork & { total: number } {
  const d = {
    parsed: configWork.parsed - before.parsed,
    checked: configWork.checked - before.checked,
    resolved: configWork.resolved - before.resolved,
    serialized: configWork.serialized - before.serialized,
    materialized: configWork.materialized - before.materialized,
    reconciled: configWork.reconciled - before.reconciled,
  };
  return { ...d, total: d.parsed + d.checked + d.resolved + d.serialized + d.materialized + d.reconciled };
}
