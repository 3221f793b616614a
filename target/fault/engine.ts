/**
 * The fault and latency injection engine: a list of rules (./rule.ts), consulted
 * by the core per command (target/core/fault-hook.ts): when the capsule arrives
 * (`onArrival`, the NVMe/TCP PDU actions of ARRIVAL_ACTIONS) and when it is about
 * to run (`beforeExecute`, the rest). A firing rule either completes the command
 * itself (a status, a controller failure), leaves a completion fault on the
 * request (delay, hang, corrupt data), sets WireFault bits the transport applies
 * to its PDUs, or acts on the controller (namespace and ANA events). Rules with a
 * `schedule` fire on a timer instead of on commands.
 *
 * Every injection is counted (per rule, and per action for /metrics) and logged.
 * Held commands (delay, hang) can be aborted by the Abort command (`abort`).
 */

import { bumpStateEpoch } from '../core/state-epoch.js';
import type { CompletionFault, FaultHook } from '../core/fault-hook.js';
import type { Request } from '../core/request.js';
import type { Controller } from '../core/controller.js';
import type { Logger } from '../core/log.js';
import type { Nvmet } from '../core/nvmet.js';
import type { Subsystem } from '../core/subsystem.js';
import { DataDir, TrType, WireFault, type WireFaultParams } from '../core/fabrics-ops.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import { anaStateFromName } from '../../src/nvme/ana.js';
import { sglId, SglId } from '../../src/nvme/sgl.js';
import { SqeOff } from '../../src/nvme/sqe.js';
import {
  ACTION_TYPES,
  ARRIVAL_ACTIONS,
  TCP_ONLY_ACTIONS,
  type FaultActionType,
  type FaultAction,
  type FaultRuleSpec,
  FaultRuleError,
} from './rule.js';
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

const enum Phase {
  /** When the capsule arrives (onArrival). */
  Arrival,
  /** When the command is about to run (beforeExecute). */
  Execute,
  /** On the rule's own timer: never on a command. */
  Scheduled,
}

class Rule implements CompletionFault {
  hits = 0;
  injected = 0;
  private readonly rng: Rng;
  readonly phase: Phase;
  readonly tcpOnly: boolean;
  /** WireFault bit and parameters of an arrival action (0 / null otherwise). */
  readonly wireBit: number;
  readonly wireParams: WireFaultParams | null;
  /** ana-state: index of the next state of `states`. */
  anaNext = 0;
  /** Scheduled rule: its pending timer. */
  timer: NodeJS.Timeout | null = null;
  /** Scheduled rule: firings so far. */
  firings = 0;

  constructor(
    readonly engine: FaultEngine,
    readonly id: string,
    readonly spec: FaultRuleSpec,
    readonly source: RuleSource,
  ) {
    this.rng = seededRng(spec.fire?.seed ?? 1);
    const a = spec.action;
    this.phase = spec.schedule !== undefined ? Phase.Scheduled : ARRIVAL_ACTIONS.has(a.type) ? Phase.Arrival : Phase.Execute;
    this.tcpOnly = TCP_ONLY_ACTIONS.has(a.type);
    const p = { fes: 0, fei: 0, c2hPduSize: 0, ms: 0, pdus: 0 };
    let bit = 0;
    switch (a.type) {
      case 'term-req':
        bit = WireFault.TermReq;
        p.fes = a.fes;
        p.fei = a.fei ?? 0;
        break;
      case 'split-c2h-data':
        bit = WireFault.SplitC2HData;
        p.c2hPduSize = a.size;
        break;
      case 'delay-r2t':
        bit = WireFault.DelayR2T;
        p.ms = a.ms;
        break;
      case 'withhold-r2t':
        bit = WireFault.WithholdR2T;
        break;
      case 'drop-after-pdus':
        bit = a.direction === 'h2c' ? WireFault.DropAfterH2C : WireFault.DropAfterC2H;
        p.pdus = a.pdus;
        break;
      case 'pause-reading':
        bit = WireFault.PauseReading;
        p.ms = a.ms;
        break;
      default:
        break;
    }
    this.wireBit = bit;
    this.wireParams = bit === 0 ? null : p;
  }

  get spent(): boolean {
    const sch = this.spec.schedule;
    // A schedule without everyMs fires once.
    const count = sch !== undefined ? (sch.count ?? (sch.everyMs === undefined ? 1 : undefined)) : this.spec.fire?.count;
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
  readonly rule: Rule;
}

/** A command a fault holds (GET /api/faults `heldCommands`). */
export interface HeldCommand {
  readonly rule: string;
  readonly port: number;
  readonly cntlid: number;
  readonly qid: number;
  readonly cid: number;
  readonly opcode: number;
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
  /** Live rules consulted at arrival (0: onArrival returns at once). */
  private arrivalRules = 0;

  /** `nvmet` gives controller-level actions their objects (namespaces, ports) and checks rules against ports. */
  constructor(
    private readonly log: Logger,
    private readonly nvmet: Nvmet | null = null,
  ) {}

  // ------------------------------------------------------------ rule list

  /**
   * Add a rule. A rule whose action only NVMe/TCP can carry out and whose
   * match.port names an RDMA or loop port is refused (FaultRuleError on
   * `match.port`); without a port it acts on TCP ports only.
   */
  add(spec: FaultRuleSpec, source: RuleSource = 'api'): FaultRuleState {
    const blocked = this.nvmet?.faultRulesBlocked?.() ?? null;
    if (blocked !== null) throw new FaultRuleError('reactors', blocked);
    const id = spec.id ?? this.freshId();
    const prev = this.rules.findIndex((r) => r.id === id);
    // A saved API rule comes back as a config rule with the same id: the config's copy replaces it.
    if (prev >= 0 && !(source === 'config' && this.rules[prev]!.source === 'api')) throw new FaultRuleError('id', `a rule "${id}" exists already`);
    checkTransport(spec, this.nvmet);
    if (prev >= 0) this.removeAt(prev);
    const rule = new Rule(this, id, { ...spec, id }, source);
    this.rules.push(rule);
    bumpStateEpoch();
    if (rule.phase === Phase.Arrival) this.arrivalRules++;
    if (rule.phase === Phase.Scheduled) this.arm(rule, spec.schedule?.afterMs ?? 0);
    this.log.info(`fault rule ${id} added (${source}): ${JSON.stringify(spec)}`);
    return stateOf(rule);
  }

  remove(id: string): boolean {
    const i = this.rules.findIndex((r) => r.id === id);
    if (i < 0) return false;
    this.removeAt(i);
    this.log.info(`fault rule ${id} removed`);
    return true;
  }

  private removeAt(i: number): void {
    const r = this.rules[i]!;
    this.rules.splice(i, 1);
    bumpStateEpoch();
    if (r.phase === Phase.Arrival) this.arrivalRules--;
    if (r.timer !== null) clearTimeout(r.timer);
    r.timer = null;
  }

  /** Remove every rule (of one source, or all); held commands stay held until aborted or their delay ends. */
  clear(source?: RuleSource): void {
    for (let i = this.rules.length - 1; i >= 0; i--) if (source === undefined || this.rules[i]!.source === source) this.removeAt(i);
  }

  /** The rules of `source`, as given (with their ids): what /api/save keeps of the API's rules. */
  savable(source: RuleSource): FaultRuleSpec[] {
    return this.rules.filter((r) => r.source === source).map((r) => r.spec);
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

  /** The held commands (delay, hang, withheld R2T), for the API and the Abort a test sends. */
  heldCommands(): HeldCommand[] {
    return [...this.held.entries()].map(([req, h]) => ({ rule: h.rule.id, port: req.portId, cntlid: req.cntlid, qid: req.qid, cid: req.cid, opcode: req.opcode }));
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
    this.extraArrival = this.extraRules.some((r) => r.phase === Phase.Arrival);
  }
  private extraArrival = false;

  private freshId(): string {
    for (;;) {
      const id = `rule-${this.nextId++}`;
      if (!this.rules.some((r) => r.id === id)) return id;
    }
  }

  // ------------------------------------------------------------ FaultHook

  armed(): boolean {
    this.refreshExtra();
    return this.rules.length !== 0 || this.extraRules.length !== 0;
  }

  onArrival(req: Request): void {
    if (this.arrivalRules === 0 && !this.extraArrival) return;
    const rule = this.firing(req, Phase.Arrival);
    if (rule === null) return;
    const a = rule.spec.action;
    req.wireFault |= rule.wireBit;
    req.wireFaultParams = rule.wireParams;
    if (a.type === 'withhold-r2t') {
      // Held like a hung completion, so Abort finds it and a disconnect releases it.
      req.holdForFault(rule);
      this.hold(req, NvmeStatus.AbortedByRequest, -1, rule);
    }
    this.injectedOn(rule, req, `${describe(a)} asked of the transport`);
  }

  beforeExecute(req: Request): boolean {
    this.refreshExtra();
    if (this.rules.length === 0 && this.extraRules.length === 0) return false;
    const rule = this.firing(req, Phase.Execute);
    return rule === null ? false : this.act(rule, req, req.queue.ctrl);
  }

  /** The first rule of `phase` that matches `req` and fires; the rest do not see the command (one fault per command and phase, predictable). */
  private firing(req: Request, phase: Phase): Rule | null {
    const ctrl = req.queue.ctrl;
    const origin: CommandOrigin = {
      sqe: req.sqe,
      qid: req.qid,
      port: req.portId,
      hostnqn: ctrl?.hostnqn ?? null,
      subsysnqn: ctrl?.subsys.nqn ?? null,
    };
    const tcp = req.queue.port.addr.trtype === TrType.TCP;
    for (const list of [this.rules, this.extraRules]) {
      for (const rule of list) {
        if (rule.phase !== phase || (rule.tcpOnly && !tcp)) continue;
        const m = rule.spec.match;
        if (m !== undefined && !matchesCommand(m, origin)) continue;
        if (!appliesTo(rule.spec.action, req)) continue;
        if (!rule.fires()) continue;
        return rule;
      }
    }
    return null;
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
      case 'namespace-remove':
      case 'namespace-add':
      case 'namespace-resize':
      case 'ana-state':
        // The command runs as usual; the controller-level event happens beside it.
        this.injectedOn(rule, req, this.controllerEvent(rule, ctrl?.subsys ?? null, ctrl?.port.id ?? req.portId));
        return false;
      default:
        // delay, hang, corrupt-data act when the handler completes.
        req.completionFault = rule;
        return false;
    }
  }

  // ------------------------------------------------------------ controller-level events

  /** Scheduled rule: fire after `ms`, then every `everyMs` until spent. */
  private arm(rule: Rule, ms: number): void {
    rule.timer = setTimeout(() => {
      rule.timer = null;
      if (!this.rules.includes(rule) || rule.spent || this.nvmet?.shuttingDown === true) return;
      rule.hits++;
      rule.firings++;
      this.scheduledFire(rule);
      const every = rule.spec.schedule?.everyMs;
      if (every !== undefined && !rule.spent) this.arm(rule, every);
    }, ms);
    rule.timer.unref();
  }

  private scheduledFire(rule: Rule): void {
    const a = rule.spec.action;
    const m = rule.spec.match ?? {};
    const nvmet = this.nvmet;
    if (nvmet === null) return;
    let what: string;
    if (a.type === 'controller-fatal' || a.type === 'keep-alive-expire') {
      const ctrls: Controller[] = [];
      for (const sub of nvmet.subsystems) {
        if (m.subsysnqn !== undefined && sub.nqn !== m.subsysnqn) continue;
        for (const c of sub.controllers) {
          if ((m.hostnqn === undefined || c.hostnqn === m.hostnqn) && (m.port === undefined || c.port.id === m.port)) ctrls.push(c);
        }
      }
      for (const c of ctrls) {
        const why = a.type === 'controller-fatal' ? 'controller fatal status' : `keep-alive timer (${c.kato} ms) expired`;
        c.fatalError(`${why} (fault rule ${rule.id}, scheduled)`);
      }
      what = `${a.type} on ${ctrls.length} controller(s)${ctrls.length > 0 ? ` (cntlid ${ctrls.map((c) => c.cntlid).join(', ')})` : ''}`;
    } else {
      const subs = m.subsysnqn !== undefined ? nvmet.subsystems.filter((s) => s.nqn === m.subsysnqn) : null;
      what = subs !== null && subs.length === 0 ? `no subsystem ${m.subsysnqn}` : this.controllerEvent(rule, subs === null ? null : subs[0]!, m.port ?? null);
    }
    this.injectedOn(rule, null, `${what} (scheduled)`);
  }

  /**
   * A namespace or ANA event, from a command's controller (`subsys` and `portId`
   * given) or a schedule (`subsys` null: every subsystem with the namespace;
   * `portId` null: every port). Returns what happened, for the log.
   */
  private controllerEvent(rule: Rule, subsys: Subsystem | null, portId: number | null): string {
    const a = rule.spec.action;
    const nvmet = this.nvmet;
    if (nvmet === null) return 'no target to act on';
    if (a.type === 'ana-state') {
      const name = a.states[rule.anaNext % a.states.length]!;
      rule.anaNext++;
      const state = anaStateFromName(name)!;
      const done: number[] = [];
      for (const port of nvmet.ports) {
        if (portId !== null && port.id !== portId) continue;
        if (!port.ana.has(a.group)) continue;
        port.ana.setState(a.group, state);
        done.push(port.id);
      }
      return done.length === 0 ? `ANA group ${a.group} is defined on no matching port` : `ANA group ${a.group} -> ${name} on port(s) ${done.join(', ')}`;
    }
    if (a.type !== 'namespace-remove' && a.type !== 'namespace-add' && a.type !== 'namespace-resize') return 'nothing';
    const subs = subsys !== null ? [subsys] : nvmet.subsystems.filter((s) => !s.isDiscovery && s.getNamespace(a.nsid) !== undefined);
    const out: string[] = [];
    for (const sub of subs) {
      const ns = sub.getNamespace(a.nsid);
      if (ns === undefined) {
        out.push(`${sub.nqn} has no namespace ${a.nsid}`);
        continue;
      }
      if (a.type === 'namespace-resize') {
        const blocks = ns.resize(a.blocks ?? null);
        out.push(`namespace ${a.nsid} of ${sub.nqn} now ${blocks} blocks`);
        continue;
      }
      const op = a.type === 'namespace-remove' ? ns.disable() : ns.enable();
      // disable waits for commands in flight (maybe the one that fired this): never awaited here.
      op.catch((e: unknown) => this.log.error(`fault rule ${rule.id}: ${a.type} of namespace ${a.nsid} of ${sub.nqn} failed: ${String(e)}`));
      out.push(`namespace ${a.nsid} of ${sub.nqn} ${a.type === 'namespace-remove' ? 'disabled' : 'enabled'}`);
    }
    return out.length === 0 ? `no subsystem has namespace ${a.nsid}` : out.join('; ');
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
    this.held.set(req, { status, timer, rule });
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

  /** @internal Count and log one injection (`req` null: a scheduled one). */
  injectedOn(rule: Rule, req: Request | null, what: string): void {
    rule.injected++;
    const t = rule.spec.action.type;
    this.totals.set(t, (this.totals.get(t) ?? 0) + 1);
    const n = rule.injected;
    if (n <= LOG_FIRST || n % LOG_EVERY === 0) {
      const where = req === null ? '' : `port ${req.portId} ctrl ${req.cntlid} qid ${req.qid} cid ${req.cid} opcode 0x${req.opcode.toString(16)}: `;
      this.log.warn(`fault rule ${rule.id} #${n}: ${where}${what}`);
    }
  }
}

function describe(a: FaultAction): string {
  switch (a.type) {
    case 'term-req':
      return `C2HTermReq FES 0x${a.fes.toString(16)} FEI ${a.fei ?? 0}`;
    case 'split-c2h-data':
      return `C2HData in ${a.size}-byte PDUs`;
    case 'delay-r2t':
      return `R2T ${a.ms} ms late`;
    case 'withhold-r2t':
      return 'R2T withheld';
    case 'drop-after-pdus':
      return `connection dropped after ${a.pdus} more ${a.direction ?? 'c2h'} PDU(s)`;
    case 'pause-reading':
      return `reading paused ${a.ms} ms`;
    default:
      return a.type;
  }
}

/** Does an action apply to this command at all (an R2T fault to a command that gets R2Ts, ...)? Commands it cannot apply to are not hits. */
function appliesTo(a: FaultAction, req: Request): boolean {
  switch (a.type) {
    case 'delay-r2t':
    case 'withhold-r2t':
      // R2Ts fetch the data of a write whose SGL is the transport's data block (in-capsule data needs none).
      return req.dataDir === DataDir.H2C && req.transferLen > 0 && sglId(req.sqe, SqeOff.Dptr) === SglId.TcpTransport;
    case 'split-c2h-data':
      return req.dataDir === DataDir.C2H && req.transferLen > 0;
    default:
      return true;
  }
}

/** A TCP-only action on a rule whose match.port is a port of another transport: refused, naming the field. */
function checkTransport(spec: FaultRuleSpec, nvmet: Nvmet | null): void {
  const port = spec.match?.port;
  if (nvmet === null || port === undefined || !TCP_ONLY_ACTIONS.has(spec.action.type)) return;
  const p = nvmet.getPort(port);
  if (p === undefined || p.addr.trtype === TrType.TCP) return;
  throw new FaultRuleError('match.port', `port ${port} is ${trName(p.addr.trtype)}: action "${spec.action.type}" acts on NVMe/TCP PDUs and is for TCP ports only`);
}

function trName(t: TrType): string {
  return t === TrType.RDMA ? 'an RDMA port' : t === TrType.LOOP ? 'a loop port' : `a port of transport type ${t}`;
}

function stateOf(r: Rule): FaultRuleState {
  return { ...r.spec, id: r.id, hits: r.hits, injected: r.injected, spent: r.spent, source: r.source };
}
