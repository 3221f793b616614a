/**
 * A fault rule: which commands it matches, when it fires, what it does. The JSON
 * shape is the same over the API (/api/faults), in the config (nvmet_ts.faults)
 * and from the CLI (--fault-rule); `parseFaultRule` is the one validator, and
 * its errors name the offending field by path (`faults[0].match.qid`).
 *
 *   { "match":  { "port": 1, "hostnqn": "...", "subsysnqn": "...", "qid": 1,
 *                 "set": "io", "opcode": 2, "nsid": 1, "lba": { "first": 0, "last": 99 },
 *                 "cdw10": { "value": 1, "mask": 255 } },
 *     "fire":   { "count": 3, "everyNth": 2, "probability": 0.1, "seed": 42 },
 *     "action": { "type": "status", "sct": 0, "sc": 6, "dnr": true, "more": false } }
 *
 * Every `match` field is optional (absent = any). `fire`: each matching command
 * is a "hit"; a hit fires when it is the everyNth-th (default 1 = every hit) and
 * the seeded draw is below `probability` (default 1); the rule is spent after
 * `count` firings (default unlimited). Controller-level actions may instead
 * carry a `schedule` ({ afterMs, everyMs, count }): they then fire on a timer,
 * and `match` only scopes them (port, hostnqn, subsysnqn).
 */

export type CommandSet = 'admin' | 'io' | 'fabrics';

export interface LbaRange {
  /** First and last LBA (inclusive); a command matches when its range overlaps. */
  readonly first: number;
  readonly last: number;
}

export interface DwordMatch {
  readonly value: number;
  readonly mask: number;
}

export interface FaultMatch {
  readonly port?: number;
  readonly hostnqn?: string;
  readonly subsysnqn?: string;
  readonly qid?: number;
  readonly set?: CommandSet;
  /** Opcode within `set` (the FCTYPE for fabrics commands). */
  readonly opcode?: number;
  readonly nsid?: number;
  readonly lba?: LbaRange;
  readonly cdw10?: DwordMatch;
}

export interface FaultFire {
  readonly count?: number;
  readonly everyNth?: number;
  readonly probability?: number;
  readonly seed?: number;
}

export type FaultAction =
  /** Complete with this status instead of running the command (the handler never runs). */
  | { readonly type: 'status'; readonly sct: number; readonly sc: number; readonly dnr?: boolean; readonly more?: boolean }
  /** Run the command, then hold its completion: `ms` fixed, or log-normal with p50/p99 (ms). */
  | { readonly type: 'delay'; readonly ms?: number; readonly p50?: number; readonly p99?: number }
  /** Run the command and never complete it (the host's timeout and Abort paths). */
  | { readonly type: 'hang' }
  /** Run the command, then change its data on the way to the host: XOR `xor` over `length` bytes at `offset`, or write `ascii` there. */
  | { readonly type: 'corrupt-data'; readonly offset?: number; readonly length?: number; readonly xor?: number; readonly ascii?: string }
  /** The controller fails (CSTS.CFS set, queues torn down) instead of running the command. */
  | { readonly type: 'controller-fatal' }
  /** The controller's keep-alive timer expires now (as if no Keep Alive had come in KATO). */
  | { readonly type: 'keep-alive-expire' }
  /** NVMe/TCP: run the command; the header digest of its response's last PDU is wrong (needs HDGST negotiated). */
  | { readonly type: 'corrupt-header-digest' }
  /** NVMe/TCP: run the command; the data digest of its first C2HData PDU is wrong (needs DDGST and C2H data). */
  | { readonly type: 'corrupt-data-digest' }
  /** NVMe/TCP: run the command; drop the connection where its response was due. */
  | { readonly type: 'drop-connection' }
  // ---- NVMe/TCP PDU level, decided when the command's capsule arrives (TCP ports only)
  /** NVMe/TCP: the capsule is answered with a C2HTermReq (FES, FEI, its header) and the connection closed; the command never runs. */
  | { readonly type: 'term-req'; readonly fes: number; readonly fei?: number }
  /** NVMe/TCP: the command's C2HData goes out in PDUs of `size` bytes (the last one shorter). */
  | { readonly type: 'split-c2h-data'; readonly size: number }
  /** NVMe/TCP: a Write's first R2T is sent `ms` late. */
  | { readonly type: 'delay-r2t'; readonly ms: number }
  /** NVMe/TCP: a Write's R2T is never sent: the command waits until the host aborts it or drops the connection. */
  | { readonly type: 'withhold-r2t' }
  /** NVMe/TCP: the connection closes where its (pdus+1)-th PDU after the capsule would be sent (c2h) or handled (h2c). */
  | { readonly type: 'drop-after-pdus'; readonly pdus: number; readonly direction?: 'c2h' | 'h2c' }
  /** NVMe/TCP: the connection stops reading from its socket for `ms` (what was read is still handled). */
  | { readonly type: 'pause-reading'; readonly ms: number }
  // ---- controller level: also on a schedule (rule.schedule)
  /** The namespace `nsid` is disabled (hidden; Namespace Attribute Changed AEN + Changed Namespace List, nvmet_ns_changed). */
  | { readonly type: 'namespace-remove'; readonly nsid: number }
  /** The namespace `nsid` (configured, disabled) is enabled again, with the same events. */
  | { readonly type: 'namespace-add'; readonly nsid: number }
  /** The namespace `nsid` reports `blocks` logical blocks (at most its backend's; absent = the backend's), with the same events. */
  | { readonly type: 'namespace-resize'; readonly nsid: number; readonly blocks?: number }
  /** ANA group `group` goes to the next of `states` on each firing (one state: always that one), on the matched port(s); ANA change AEN. */
  | { readonly type: 'ana-state'; readonly group: number; readonly states: readonly AnaStateName[] };

export type AnaStateName = 'optimized' | 'non-optimized' | 'inaccessible' | 'persistent-loss' | 'change';
export const ANA_STATE_NAMES: readonly AnaStateName[] = ['optimized', 'non-optimized', 'inaccessible', 'persistent-loss', 'change'];

export type FaultActionType = FaultAction['type'];
export const ACTION_TYPES: readonly FaultActionType[] = [
  'status',
  'delay',
  'hang',
  'corrupt-data',
  'controller-fatal',
  'keep-alive-expire',
  'corrupt-header-digest',
  'corrupt-data-digest',
  'drop-connection',
  'term-req',
  'split-c2h-data',
  'delay-r2t',
  'withhold-r2t',
  'drop-after-pdus',
  'pause-reading',
  'namespace-remove',
  'namespace-add',
  'namespace-resize',
  'ana-state',
];

/** Actions only NVMe/TCP can carry out (PDUs): refused on a rule whose match.port is an RDMA or loop port, skipped for commands on one. */
export const TCP_ONLY_ACTIONS: ReadonlySet<FaultActionType> = new Set([
  'corrupt-header-digest',
  'corrupt-data-digest',
  'drop-connection',
  'term-req',
  'split-c2h-data',
  'delay-r2t',
  'withhold-r2t',
  'drop-after-pdus',
  'pause-reading',
]);

/** Actions decided when the capsule arrives (before data moves), not when the command runs. */
export const ARRIVAL_ACTIONS: ReadonlySet<FaultActionType> = new Set(['term-req', 'split-c2h-data', 'delay-r2t', 'withhold-r2t', 'drop-after-pdus', 'pause-reading']);

/** Actions that act on controllers, namespaces or ports rather than the command: the only ones a `schedule` may fire. */
export const CONTROLLER_ACTIONS: ReadonlySet<FaultActionType> = new Set(['controller-fatal', 'keep-alive-expire', 'namespace-remove', 'namespace-add', 'namespace-resize', 'ana-state']);

/**
 * Fire on a timer instead of on commands: first `afterMs` after the rule is
 * added (default 0), then every `everyMs` (absent: once), at most `count` times.
 */
export interface FaultSchedule {
  readonly afterMs?: number;
  readonly everyMs?: number;
  readonly count?: number;
}

export interface FaultRuleSpec {
  /** Optional name; the engine assigns one (`rule-N`) when absent. */
  readonly id?: string;
  readonly match?: FaultMatch;
  readonly fire?: FaultFire;
  /** Controller-level actions only: fire on a timer (match then scopes the action: port, subsysnqn, hostnqn). */
  readonly schedule?: FaultSchedule;
  readonly action: FaultAction;
}

/** A rule that does not validate; `path` names the field (JSON path from the caller's root). */
export class FaultRuleError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'FaultRuleError';
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FaultRuleError(path, 'must be an object');
  return v as Obj;
}

function onlyKeys(o: Obj, keys: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new FaultRuleError(`${path}.${k}`, `unknown field (known: ${keys.join(', ')})`);
  }
}

function int(o: Obj, k: string, path: string, min: number, max: number): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new FaultRuleError(`${path}.${k}`, `must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function num(o: Obj, k: string, path: string, min: number, max: number, exclusiveMin = false): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (exclusiveMin && v === min)) {
    throw new FaultRuleError(`${path}.${k}`, `must be a number in ${exclusiveMin ? '(' : '['}${min}, ${max}]`);
  }
  return v;
}

function str(o: Obj, k: string, path: string, maxLen: number): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLen) throw new FaultRuleError(`${path}.${k}`, `must be a string of 1..${maxLen} characters`);
  return v;
}

function bool(o: Obj, k: string, path: string): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new FaultRuleError(`${path}.${k}`, 'must be a boolean');
  return v;
}

/** Drop undefined fields so listed rules show what was given. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const U32 = 0xffff_ffff;
/** Delays beyond this are almost surely a unit mistake; "hang" says never. */
const MAX_DELAY_MS = 3_600_000;

function parseMatch(v: unknown, path: string): FaultMatch {
  const o = obj(v, path);
  onlyKeys(o, ['port', 'hostnqn', 'subsysnqn', 'qid', 'set', 'opcode', 'nsid', 'lba', 'cdw10'], path);
  const set = o['set'];
  if (set !== undefined && set !== 'admin' && set !== 'io' && set !== 'fabrics') {
    throw new FaultRuleError(`${path}.set`, 'must be "admin", "io" or "fabrics"');
  }
  let lba: LbaRange | undefined;
  if (o['lba'] !== undefined) {
    const l = obj(o['lba'], `${path}.lba`);
    onlyKeys(l, ['first', 'last'], `${path}.lba`);
    const first = int(l, 'first', `${path}.lba`, 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const last = int(l, 'last', `${path}.lba`, 0, Number.MAX_SAFE_INTEGER) ?? Number.MAX_SAFE_INTEGER;
    if (last < first) throw new FaultRuleError(`${path}.lba.last`, 'must be >= first');
    lba = { first, last };
  }
  let cdw10: DwordMatch | undefined;
  if (o['cdw10'] !== undefined) {
    const d = obj(o['cdw10'], `${path}.cdw10`);
    onlyKeys(d, ['value', 'mask'], `${path}.cdw10`);
    const value = int(d, 'value', `${path}.cdw10`, 0, U32);
    if (value === undefined) throw new FaultRuleError(`${path}.cdw10.value`, 'is required');
    cdw10 = { value, mask: int(d, 'mask', `${path}.cdw10`, 0, U32) ?? U32 };
  }
  return defined({
    port: int(o, 'port', path, 0, 0xffff),
    hostnqn: str(o, 'hostnqn', path, 223),
    subsysnqn: str(o, 'subsysnqn', path, 223),
    qid: int(o, 'qid', path, 0, 0xffff),
    set: set as CommandSet | undefined,
    opcode: int(o, 'opcode', path, 0, 0xff),
    nsid: int(o, 'nsid', path, 0, U32),
    lba,
    cdw10,
  });
}

function parseFire(v: unknown, path: string): FaultFire {
  const o = obj(v, path);
  onlyKeys(o, ['count', 'everyNth', 'probability', 'seed'], path);
  return defined({
    count: int(o, 'count', path, 1, Number.MAX_SAFE_INTEGER),
    everyNth: int(o, 'everyNth', path, 1, Number.MAX_SAFE_INTEGER),
    probability: num(o, 'probability', path, 0, 1),
    seed: int(o, 'seed', path, 0, U32),
  });
}

function parseAction(v: unknown, path: string): FaultAction {
  const o = obj(v, path);
  const type = o['type'];
  if (typeof type !== 'string' || !(ACTION_TYPES as readonly string[]).includes(type)) {
    throw new FaultRuleError(`${path}.type`, `must be one of ${ACTION_TYPES.join(', ')}`);
  }
  switch (type as FaultActionType) {
    case 'status': {
      onlyKeys(o, ['type', 'sct', 'sc', 'dnr', 'more'], path);
      const sct = int(o, 'sct', path, 0, 7);
      const sc = int(o, 'sc', path, 0, 0xff);
      if (sc === undefined) throw new FaultRuleError(`${path}.sc`, 'is required');
      if ((sct ?? 0) === 0 && sc === 0) throw new FaultRuleError(`${path}.sc`, 'must not be 0 with sct 0 (that is success; use "delay" to only slow a command)');
      return defined({ type: 'status' as const, sct: sct ?? 0, sc, dnr: bool(o, 'dnr', path), more: bool(o, 'more', path) });
    }
    case 'delay': {
      onlyKeys(o, ['type', 'ms', 'p50', 'p99'], path);
      const ms = num(o, 'ms', path, 0, MAX_DELAY_MS);
      const p50 = num(o, 'p50', path, 0, MAX_DELAY_MS, true);
      const p99 = num(o, 'p99', path, 0, MAX_DELAY_MS, true);
      if (ms !== undefined) {
        if (p50 !== undefined || p99 !== undefined) throw new FaultRuleError(`${path}.ms`, 'give either ms or p50 and p99, not both');
        return { type: 'delay', ms };
      }
      if (p50 === undefined) throw new FaultRuleError(`${path}.p50`, 'is required (or give ms)');
      if (p99 === undefined) throw new FaultRuleError(`${path}.p99`, 'is required with p50');
      if (p99 < p50) throw new FaultRuleError(`${path}.p99`, 'must be >= p50');
      return { type: 'delay', p50, p99 };
    }
    case 'corrupt-data': {
      onlyKeys(o, ['type', 'offset', 'length', 'xor', 'ascii'], path);
      const ascii = str(o, 'ascii', path, 4096);
      if (ascii !== undefined && !/^[\x20-\x7e]*$/.test(ascii)) throw new FaultRuleError(`${path}.ascii`, 'must be printable ASCII');
      const xor = int(o, 'xor', path, 1, 0xff);
      const length = int(o, 'length', path, 1, 1 << 24);
      if (ascii !== undefined && (xor !== undefined || length !== undefined)) throw new FaultRuleError(`${path}.ascii`, 'give either ascii or xor/length, not both');
      return defined({ type: 'corrupt-data' as const, offset: int(o, 'offset', path, 0, 1 << 30), length, xor, ascii });
    }
    case 'term-req': {
      onlyKeys(o, ['type', 'fes', 'fei'], path);
      // Reserved FES values are allowed on purpose: how a host takes an unknown one is worth testing.
      const fes = int(o, 'fes', path, 0, 0xff);
      if (fes === undefined) throw new FaultRuleError(`${path}.fes`, 'is required (01h invalid header field .. 06h unsupported parameter)');
      return defined({ type: 'term-req' as const, fes, fei: int(o, 'fei', path, 0, U32) });
    }
    case 'split-c2h-data': {
      onlyKeys(o, ['type', 'size'], path);
      const size = int(o, 'size', path, 1, 1 << 20);
      if (size === undefined) throw new FaultRuleError(`${path}.size`, 'is required (bytes of data per C2HData PDU)');
      return { type: 'split-c2h-data', size };
    }
    case 'delay-r2t':
    case 'pause-reading': {
      onlyKeys(o, ['type', 'ms'], path);
      const ms = num(o, 'ms', path, 0, MAX_DELAY_MS);
      if (ms === undefined) throw new FaultRuleError(`${path}.ms`, 'is required');
      return { type, ms } as FaultAction;
    }
    case 'drop-after-pdus': {
      onlyKeys(o, ['type', 'pdus', 'direction'], path);
      const pdus = int(o, 'pdus', path, 0, 1 << 30);
      if (pdus === undefined) throw new FaultRuleError(`${path}.pdus`, 'is required');
      const direction = o['direction'];
      if (direction !== undefined && direction !== 'c2h' && direction !== 'h2c') throw new FaultRuleError(`${path}.direction`, 'must be "c2h" (PDUs the target sends) or "h2c" (PDUs it receives)');
      return defined({ type: 'drop-after-pdus' as const, pdus, direction: direction as 'c2h' | 'h2c' | undefined });
    }
    case 'namespace-remove':
    case 'namespace-add': {
      onlyKeys(o, ['type', 'nsid'], path);
      const nsid = int(o, 'nsid', path, 1, 0xffff_fffe);
      if (nsid === undefined) throw new FaultRuleError(`${path}.nsid`, 'is required');
      return { type, nsid } as FaultAction;
    }
    case 'namespace-resize': {
      onlyKeys(o, ['type', 'nsid', 'blocks'], path);
      const nsid = int(o, 'nsid', path, 1, 0xffff_fffe);
      if (nsid === undefined) throw new FaultRuleError(`${path}.nsid`, 'is required');
      return defined({ type: 'namespace-resize' as const, nsid, blocks: int(o, 'blocks', path, 1, Number.MAX_SAFE_INTEGER) });
    }
    case 'ana-state': {
      onlyKeys(o, ['type', 'group', 'state', 'states'], path);
      const group = int(o, 'group', path, 1, 128);
      if (group === undefined) throw new FaultRuleError(`${path}.group`, 'is required (ANA group id 1..128)');
      const one = o['state'];
      const many = o['states'];
      if ((one === undefined) === (many === undefined)) throw new FaultRuleError(`${path}.states`, 'give either state or states');
      const list = one !== undefined ? [one] : many;
      const where = one !== undefined ? `${path}.state` : `${path}.states`;
      if (!Array.isArray(list) || list.length === 0 || list.length > 16) throw new FaultRuleError(where, 'must be an array of 1..16 ANA state names');
      list.forEach((st, i) => {
        if (!(ANA_STATE_NAMES as readonly unknown[]).includes(st)) throw new FaultRuleError(one !== undefined ? where : `${where}[${i}]`, `must be one of ${ANA_STATE_NAMES.join(', ')}`);
      });
      return { type: 'ana-state', group, states: list as AnaStateName[] };
    }
    case 'hang':
    case 'controller-fatal':
    case 'keep-alive-expire':
    case 'corrupt-header-digest':
    case 'corrupt-data-digest':
    case 'drop-connection':
    case 'withhold-r2t':
      onlyKeys(o, ['type'], path);
      return { type } as FaultAction;
  }
}

/** Validate one rule given as JSON; `path` prefixes error paths (e.g. `nvmet_ts.faults[2]`). */
export function parseFaultRule(v: unknown, path = 'rule'): FaultRuleSpec {
  const o = obj(v, path);
  onlyKeys(o, ['id', 'match', 'fire', 'schedule', 'action'], path);
  if (o['action'] === undefined) throw new FaultRuleError(`${path}.action`, 'is required');
  const id = str(o, 'id', path, 64);
  if (id !== undefined && !/^[A-Za-z0-9_.:-]+$/.test(id)) throw new FaultRuleError(`${path}.id`, 'may hold only letters, digits and _.:-');
  const action = parseAction(o['action'], `${path}.action`);
  const schedule = o['schedule'] === undefined ? undefined : parseSchedule(o['schedule'], `${path}.schedule`);
  if (schedule !== undefined) {
    if (!CONTROLLER_ACTIONS.has(action.type)) throw new FaultRuleError(`${path}.schedule`, `only controller-level actions (${[...CONTROLLER_ACTIONS].join(', ')}) fire on a schedule; "${action.type}" acts on a command`);
    if (o['fire'] !== undefined) throw new FaultRuleError(`${path}.fire`, 'a scheduled rule fires on its schedule (schedule.count), not on commands');
  }
  const match = o['match'] === undefined ? undefined : parseMatch(o['match'], `${path}.match`);
  if (schedule !== undefined && match !== undefined) {
    for (const k of ['qid', 'set', 'opcode', 'nsid', 'lba', 'cdw10'] as const) {
      if (match[k] !== undefined) throw new FaultRuleError(`${path}.match.${k}`, 'a scheduled rule matches no command: only port, hostnqn and subsysnqn scope it');
    }
  }
  return defined({
    id,
    match,
    fire: o['fire'] === undefined ? undefined : parseFire(o['fire'], `${path}.fire`),
    schedule,
    action,
  });
}

function parseSchedule(v: unknown, path: string): FaultSchedule {
  const o = obj(v, path);
  onlyKeys(o, ['afterMs', 'everyMs', 'count'], path);
  const everyMs = num(o, 'everyMs', path, 1, MAX_DELAY_MS);
  const count = int(o, 'count', path, 1, Number.MAX_SAFE_INTEGER);
  return defined({ afterMs: num(o, 'afterMs', path, 0, MAX_DELAY_MS), everyMs, count });
}
