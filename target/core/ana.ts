/**
 * ANA groups as Linux nvmet keeps them (core.c / configfs.c: nvmet_ana_group_enabled[],
 * nvmet_ana_chgcnt, port->ana_state[]):
 *
 * - one target-wide change count, bumped by every state change, group creation or
 *   removal and namespace group move;
 * - a group is "enabled" while any port defines it or any namespace points at it
 *   (a reference count); group 1 always exists on every port (NVMET_DEFAULT_ANA_GRPID);
 * - each port holds a state per group it defines (optimized when created); a port
 *   asked about a group it does not define reports Inaccessible, as port->ana_state[]
 *   does (nvmet_ports_make sets every group but 1 to NVME_ANA_INACCESSIBLE, and
 *   removing a group sets it back). Never 0: a Linux host WARNs on an ANA
 *   descriptor with state 0 (nvme_parse_ana_log) and fails the controller.
 *
 * An optional "change" window: setState(grpid, target, { transitionMs }) reports
 * ANA Change (0Fh) for transitionMs, then the target state — what a real array
 * does while it moves a group, bounded by ANATT (Identify Controller, seconds).
 */

import { bumpStateEpoch } from './state-epoch.js';
import { AnaState } from '../../src/nvme/ana.js';

/** Linux NVMET_MAX_ANAGRPS: ANAGRPMAX and NANAGRPID. */
export const NVMET_MAX_ANAGRPS = 128;
/** Linux NVMET_DEFAULT_ANA_GRPID. */
export const NVMET_DEFAULT_ANA_GRPID = 1;
/** Identify Controller ANATT in seconds (Linux: 10, "random value"). */
export const NVMET_ANATT = 10;

export function checkAnaGrpid(grpid: number): number {
  if (!Number.isInteger(grpid) || grpid < 1 || grpid > NVMET_MAX_ANAGRPS) {
    throw new RangeError(`ANA group id ${grpid} must be 1..${NVMET_MAX_ANAGRPS}`);
  }
  return grpid;
}

const VALID_STATES: ReadonlySet<number> = new Set(Object.values(AnaState));

export function checkAnaState(state: number): AnaState {
  if (!VALID_STATES.has(state)) throw new RangeError(`ANA state 0x${state.toString(16)} is not one of 01h..04h, 0Fh`);
  return state as AnaState;
}

/** Target-wide ANA bookkeeping (the nvmet_ana_* globals). */
export class AnaRegistry {
  /** nvmet_ana_chgcnt. */
  chgcnt = 0n;
  private readonly refs = new Map<number, number>();

  /** Groups in the ANA log: enabled anywhere, ascending. */
  enabledGroups(): number[] {
    const out: number[] = [];
    for (const [g, n] of this.refs) if (n > 0) out.push(g);
    return out.sort((a, b) => a - b);
  }

  ref(grpid: number): void {
    this.refs.set(grpid, (this.refs.get(grpid) ?? 0) + 1);
  }

  unref(grpid: number): void {
    const n = (this.refs.get(grpid) ?? 0) - 1;
    if (n <= 0) this.refs.delete(grpid);
    else this.refs.set(grpid, n);
  }

  bump(): void {
    this.chgcnt = (this.chgcnt + 1n) & 0xffff_ffff_ffff_ffffn;
  }
}

/** One port's ANA groups (port->ana_state[] plus the pending "change" windows). */
export class PortAnaGroups {
  private readonly states = new Map<number, AnaState>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** Final state of a group in a "change" window. */
  private readonly targets = new Map<number, AnaState>();

  constructor(
    private readonly registry: AnaRegistry,
    /** Called after any state the port reports changed (send the ANA change AEN). */
    private readonly onChange: () => void,
  ) {
    this.states.set(NVMET_DEFAULT_ANA_GRPID, AnaState.Optimized);
    registry.ref(NVMET_DEFAULT_ANA_GRPID);
  }

  /** State the port reports for a group; Inaccessible if it does not define it (Linux port->ana_state[]). */
  state(grpid: number): number {
    return this.states.get(grpid) ?? AnaState.Inaccessible;
  }

  has(grpid: number): boolean {
    return this.states.has(grpid);
  }

  /** The state a group is in or moving to (its pending transition's target); Inaccessible if not defined. */
  targetState(grpid: number): number {
    return this.targets.get(grpid) ?? this.state(grpid);
  }

  /** Groups defined on this port, ascending. */
  groups(): number[] {
    return [...this.states.keys()].sort((a, b) => a - b);
  }

  /** Create a group (configfs mkdir ana_groups/N): optimized. */
  addGroup(grpid: number, state: AnaState = AnaState.Optimized): void {
    checkAnaGrpid(grpid);
    if (this.states.has(grpid)) {
      this.setState(grpid, state);
      return;
    }
    this.states.set(grpid, checkAnaState(state));
    this.registry.ref(grpid);
    this.registry.bump();
    bumpStateEpoch();
    this.onChange();
  }

  /** Remove a group; group 1 cannot be removed (configfs refuses too). */
  removeGroup(grpid: number): void {
    if (grpid === NVMET_DEFAULT_ANA_GRPID) throw new RangeError('ANA group 1 is implicit and cannot be removed');
    if (!this.states.delete(grpid)) return;
    this.cancelTimer(grpid);
    this.registry.unref(grpid);
    this.registry.bump();
    bumpStateEpoch();
    this.onChange();
  }

  /**
   * Set a group's state. With `transitionMs` > 0 the group reports Change first
   * and reaches `state` after the window (a second call cancels a pending one).
   */
  setState(grpid: number, state: AnaState, opts: { transitionMs?: number } = {}): void {
    if (!this.states.has(grpid)) throw new RangeError(`port has no ANA group ${grpid}`);
    checkAnaState(state);
    this.cancelTimer(grpid);
    const ms = opts.transitionMs ?? 0;
    if (!Number.isFinite(ms) || ms < 0 || ms > NVMET_ANATT * 1000) {
      throw new RangeError(`transition window ${ms} ms must be 0..${NVMET_ANATT * 1000} (ANATT)`);
    }
    if (ms > 0 && state !== AnaState.Change) {
      this.apply(grpid, AnaState.Change);
      this.targets.set(grpid, state);
      const t = setTimeout(() => {
        this.timers.delete(grpid);
        this.targets.delete(grpid);
        if (this.states.has(grpid)) this.apply(grpid, state);
      }, ms);
      t.unref();
      this.timers.set(grpid, t);
      return;
    }
    this.apply(grpid, state);
  }

  /** Target state of a pending transition, if any. */
  get pendingTransitions(): number {
    return this.timers.size;
  }

  private apply(grpid: number, state: AnaState): void {
    if (this.states.get(grpid) === state) return;
    this.states.set(grpid, state);
    this.registry.bump();
    bumpStateEpoch();
    this.onChange();
  }

  private cancelTimer(grpid: number): void {
    const t = this.timers.get(grpid);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(grpid);
    }
    this.targets.delete(grpid);
  }

  /** Drop every group's reference (port removed). */
  dispose(): void {
    for (const g of [...this.timers.keys()]) this.cancelTimer(g);
    for (const g of this.states.keys()) this.registry.unref(g);
    this.states.clear();
  }
}

/**
 * Status for I/O to a namespace in `state` on this port (core.c nvmet_check_ana_state):
 * inaccessible, persistent loss and change fail with the path-related codes (no DNR,
 * so the host retries on another path); 0 otherwise.
 */
export function anaIoStatus(state: number): 'inaccessible' | 'persistent-loss' | 'transition' | null {
  switch (state) {
    case AnaState.Inaccessible:
      return 'inaccessible';
    case AnaState.PersistentLoss:
      return 'persistent-loss';
    case AnaState.Change:
      return 'transition';
    default:
      return null;
  }
}
