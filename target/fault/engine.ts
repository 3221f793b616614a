/**
 * The fault and latency injection engine: a list of rules (./rule.ts), consulted
 * by the core once per command (`FaultHook.beforeExecute`, target/core/fault-hook.ts).
 * A firing rule either completes the command itself (a status, a controller
 * failure) or leaves a completion fault on the request (delay, hang, corrupt data),
 * acting when the command's handler completes. Transports see only what any
 * command would give them: a completion, later or never, or different data.
 *
 * Every injection is counted (per rule, and per action for /metrics) and logged.
 * Held commands (delay, hang) can be aborted by the Abort command (`abort`).
 */

import type { CompletionFault, FaultHook } from '../core/fault-hook.js';
import type { Request } from '../core/request.js';
import type { Controller } from '../core/controller.js';
import type { Logger } from '../core/log.js';
import { DataDir, WireFault } from '../core/fabrics-ops.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import { ACTION_TYPES, type FaultActionType, type FaultAction, type FaultRuleSpec, FaultRuleError } from './rule.js';
import { matchesCommand, type CommandOrigin } from './match.js';
import { logNormalMs, seededRng, type Rng } from './random.js';

/** What the API lists for a rule. */
export interface FaultRuleState extends FaultRuleSpec {
  readonly id: string;
  /** Commands that matched while the rule was live (not spent). */
  readonly hits: number;
  /** Times the action was injected. */
  readonly injected: number;
  /** true once `fire.count` injections happened: the rule no longer fires. */
  readonly spent: boolean;
  /** Where the rule came from. */
  readonly source: RuleSource;
}

export type RuleSource = 'api' | 'config' | 'cli' | 'env';

/** Log the first injections of a rule one by one, then every LOG_EVERY-th, so a delay rule on every read cannot flood the log. */
const LOG_FIRST = 16;
const LOG_EVERY = 1000;

class Rule implements CompletionFault {
  hits = 0;
  injected = 0;
  private readonly rng: Rng;

  constructor(
    readonly engine: FaultEngine,
    readonly id: string,
    readonly spec: FaultRuleSpec,
    readonly source: RuleSource,
  ) {
    this.rng = seededRng(spec.fire?.seed ?? 1);
  }

  get spent(): boolean {
    const count = this.spec.fire?.count;
    return count !== undefined && this.injected >= count;
  }

  /** A command matched: does this hit fire? */
  fires(): boolean {
    if (this.spent) return false;
    this.hits++;
    const f = this.spec.fire;
    if (f === undefined) return true;
    if (f.everyNth !== undefined && this.hits % f.everyNth !== 0) return false;
    // Draw only when a probability is set, so adding one to a rule is the only thing that changes its sequence.
    if (f.probability !== undefined && !(this.rng() < f.probability)) return false;
    return true;
  }

  delayMs(): number {
    const a = this.spec.action;
    if (a.type !== 'delay') return 0;
    if (a.ms !== undefined) return a.ms;
    return Math.min(logNormalMs(this.rng, a.p50!, a.p99!), 3_600_000);
  }

  // ------------------------------------------------------------ CompletionFault

  onComplete(req: Request, status: number): boolean {
    const a = this.spec.action;
    switch (a.type) {
      case 'corrupt-data':
        if (status === 0 && req.dataDir === DataDir.C2H && req.data !== null && req.data.length > 0) {
          const n = corrupt(req.data, a);
          this.engine.injectedOn(this, req, `${n} byte(s) of data corrupted`);
        }
        return false;
      case 'delay': {
        const ms = this.delayMs();
        this.engine.injectedOn(this, req, `completion delayed ${ms.toFixed(3)} ms`);
        this.engine.hold(req, status, ms, this);
        return true;
      }
      case 'hang':
        this.engine.injectedOn(this, req, 'completion withheld (never completes)');
        this.engine.hold(req, status, -1, this);
        return true;
      default:
        return false;
    }
  }

  cancel(req: Request): void {
    this.engine.unhold(req);
  }
}

function corrupt(data: Uint8Array, a: Extract<FaultAction, { type: 'corrupt-data' }>): number {
  const off = Math.min(a.offset ?? 0, data.length);
  if (a.ascii !== undefined) {
    const n = Math.min(a.ascii.length, data.length - off);
    for (let i = 0; i < n; i++) data[off + i] = a.ascii.charCodeAt(i);
    return n;
  }
  const n = Math.min(a.length ?? 1, data.length - off);
  const x = a.xor ?? 0xff;
  for (let i = 0; i < n; i++) data[off + i]! ^= x;
  return n;
}

interface Held {
  readonly status: number;
  readonly timer: NodeJS.Timeout | null;
}

export class FaultEngine implements FaultHook {
  private readonly rules: Rule[] = [];
  private nextId = 1;
  private readonly held = new Map<Request, Held>();
  /** Injections per action type, kept when rules are removed (a Prometheus counter never goes down). */
  private readonly totals = new Map<FaultActionType, number>(ACTION_TYPES.map((t) => [t, 0]));
  /** Extra rules not owned by the list (NVMET_TS_FAULT, ./env.ts), consulted after it. */
  private extra: () => readonly FaultRuleSpec[] = () => [];
  private extraRules: Rule[] = [];
  private extraSpecs: readonly FaultRuleSpec[] = [];

  constructor(private readonly log: Logger) {}

  // ------------------------------------------------------------ rule list

  add(spec: FaultRuleSpec, source: RuleSource = 'api'): FaultRuleState {
    const id = spec.id ?? this.freshId();
    if (this.rules.some((r) => r.id === id)) throw new FaultRuleError('id', `a rule "${id}" exists already`);
    const rule = new Rule(this, id, { ...spec, id }, source);
    this.rules.push(rule);
    this.log.info(`fault rule ${id} added (${source}): ${JSON.stringify(spec)}`);
    return stateOf(rule);
  }

  remove(id: string): boolean {
    const i = this.rules.findIndex((r) => r.id === id);
    if (i < 0) return false;
    this.rules.splice(i, 1);
    this.log.info(`fault rule ${id} removed`);
    return true;
  }

  /** Remove every rule (of one source, or all); held commands stay held until aborted or their delay ends. */
  clear(source?: RuleSource): void {
    for (let i = this.rules.length - 1; i >= 0; i--) if (source === undefined || this.rules[i]!.source === source) this.rules.splice(i, 1);
  }

  list(): FaultRuleState[] {
    this.refreshExtra();
    return [...this.rules, ...this.extraRules].map(stateOf);
  }

  get(id: string): FaultRuleState | undefined {
    return this.list().find((r) => r.id === id);
  }

  /** Injections so far, per action type. */
  injectedTotals(): ReadonlyMap<FaultActionType, number> {
    return this.totals;
  }

  /** Commands whose completion is held right now. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Rules from elsewhere (NVMET_TS_FAULT), re-read when the function returns a different array. */
  setExtraRules(source: () => readonly FaultRuleSpec[]): void {
    this.extra = source;
    this.refreshExtra();
  }

  private refreshExtra(): void {
    const specs = this.extra();
    if (specs === this.extraSpecs) return;
    this.extraSpecs = specs;
    this.extraRules = specs.map((s, i) => new Rule(this, s.id ?? `env-${i + 1}`, s, 'env'));
  }

  private freshId(): string {
    for (;;) {
      const id = `rule-${this.nextId++}`;
      if (!this.rules.some((r) => r.id === id)) return id;
    }
  }

  // ------------------------------------------------------------ FaultHook

  beforeExecute(req: Request): boolean {
    this.refreshExtra();
    if (this.rules.length === 0 && this.extraRules.length === 0) return false;
    const ctrl = req.queue.ctrl;
    const origin: CommandOrigin = {
      sqe: req.sqe,
      qid: req.qid,
      port: req.portId,
      hostnqn: ctrl?.hostnqn ?? null,
      subsysnqn: ctrl?.subsys.nqn ?? null,
    };
    // The first rule that matches and fires acts; the rest do not see the command (one fault per command, predictable).
    for (const list of [this.rules, this.extraRules]) {
      for (const rule of list) {
        const m = rule.spec.match;
        if (m !== undefined && !matchesCommand(m, origin)) continue;
        if (!rule.fires()) continue;
        return this.act(rule, req, ctrl);
      }
    }
    return false;
  }

  private act(rule: Rule, req: Request, ctrl: Controller | null): boolean {
    const a = rule.spec.action;
    switch (a.type) {
      case 'status': {
        const status = ((a.sct & 7) << 8) | (a.sc & 0xff) | (a.dnr === true ? STATUS_DNR : 0) | (a.more === true ? STATUS_MORE : 0);
        this.injectedOn(rule, req, `completed with status 0x${status.toString(16)}`);
        req.complete(status);
        return true;
      }
      case 'controller-fatal':
      case 'keep-alive-expire': {
        if (ctrl === null) return false; // no controller yet (Connect): nothing to fail
        const why = a.type === 'controller-fatal' ? 'controller fatal status' : `keep-alive timer (${ctrl.kato} ms) expired`;
        this.injectedOn(rule, req, why);
        // nvmet_ctrl_fatal_error (also what nvmet_keep_alive_timer calls): CSTS.CFS, queues torn down;
        // the command that triggered it is lost with its queue, as on a failing controller.
        ctrl.fatalError(`${why} (fault rule ${rule.id})`);
        req.abandon();
        return true;
      }
      case 'corrupt-header-digest':
      case 'corrupt-data-digest':
      case 'drop-connection': {
        // The transport applies it to the response's PDUs (core/fabrics-ops.ts WireFault); the command runs.
        const bit = a.type === 'drop-connection' ? WireFault.DropConnection : a.type === 'corrupt-data-digest' ? WireFault.DataDigest : WireFault.HeaderDigest;
        req.wireFault |= bit;
        this.injectedOn(rule, req, `${a.type} asked of the transport`);
        return false;
      }
      default:
        // delay, hang, corrupt-data act when the handler completes.
        req.completionFault = rule;
        return false;
    }
  }

  // ------------------------------------------------------------ held completions

  /** @internal Hold `req`'s completion `ms` (< 0: forever). */
  hold(req: Request, status: number, ms: number, rule: Rule): void {
    let timer: NodeJS.Timeout | null = null;
    if (ms >= 0) {
      timer = setTimeout(() => {
        if (this.held.delete(req)) req.complete(status);
      }, ms);
      timer.unref();
    }
    this.held.set(req, { status, timer });
    void rule;
  }

  /** @internal The transport dropped a held request. */
  unhold(req: Request): void {
    const h = this.held.get(req);
    if (h === undefined) return;
    if (h.timer !== null) clearTimeout(h.timer);
    this.held.delete(req);
  }

  /**
   * Abort command: if the command `cid` on queue `sqid` of `ctrl` is held by a
   * fault, complete it with Command Abort Requested and return true.
   */
  abort(ctrl: Controller, sqid: number, cid: number): boolean {
    for (const req of this.held.keys()) {
      if (req.queue.ctrl !== ctrl || req.qid !== sqid || req.cid !== cid) continue;
      this.unhold(req);
      this.log.info(`ctrl ${ctrl.cntlid}: Abort of sqid ${sqid} cid ${cid}: held command aborted`);
      req.complete(NvmeStatus.AbortedByRequest);
      return true;
    }
    return false;
  }

  /** @internal Count and log one injection. */
  injectedOn(rule: Rule, req: Request, what: string): void {
    rule.injected++;
    const t = rule.spec.action.type;
    this.totals.set(t, (this.totals.get(t) ?? 0) + 1);
    const n = rule.injected;
    if (n <= LOG_FIRST || n % LOG_EVERY === 0) {
      this.log.warn(`fault rule ${rule.id} #${n}: port ${req.portId} ctrl ${req.cntlid} qid ${req.qid} cid ${req.cid} opcode 0x${req.opcode.toString(16)}: ${what}`);
    }
  }
}

function stateOf(r: Rule): FaultRuleState {
  return { ...r.spec, id: r.id, hits: r.hits, injected: r.injected, spent: r.spent, source: r.source };
}
