/**
 * Persistent reservation state of one namespace (Linux struct nvmet_pr,
 * drivers/nvme/target/pr.c since 6.13; NVMe base spec 2.0 §8.19). Pure: no I/O,
 * no controllers. Hosts are identified by their 128-bit Host Identifier (the
 * kernel host sends a 16-byte HOSTID in Connect; Linux nvmet keys registrants by
 * it), here as 32 lowercase hex digits.
 *
 * State: registrants (ordered, one key each), and at most one reservation
 * { rtype, holder }. For the two "all registrants" types every registrant is a
 * holder; `holder` then names one of them and moves to the first remaining
 * registrant when it unregisters (as pr.c nvmet_pr_unregister_one).
 *
 *   no reservation ──acquire / preempt──▶ reserved(rtype, holder)
 *        ▲                                     │
 *        └──release / clear / holder unregistered (non all-registrants types)──┘
 *
 * Each operation returns an outcome: a status class, the notifications the
 * Reservation Notification log must get (registration preempted, reservation
 * released, reservation preempted — pr.c nvmet_pr_*_preempted/released), and
 * the hosts whose commands preempt-and-abort must drain. Status choices follow
 * pr.c where it differs from the spec text (unknown actions → Invalid Opcode;
 * Release with a mismatching RTYPE → Reservation Conflict), except that any
 * registrant of an all-registrants reservation counts as a holder for Acquire and
 * Release, as the spec defines it (pr.c only matches its one `holder` pointer).
 */

import {
  Cptpl,
  ResvAcquireAction,
  ResvLogType,
  ResvRegisterAction,
  ResvReleaseAction,
  ResvType,
  isAllRegistrantsType,
  isResvType,
} from '../../src/nvme/reservations.js';

export type ResvStatusClass = 'ok' | 'conflict' | 'invalid-field' | 'invalid-opcode';

export interface ResvNotice {
  /** Host to notify. */
  hostid: string;
  /** ResvLogType. */
  type: number;
}

export interface ResvOutcome {
  status: ResvStatusClass;
  notices: ResvNotice[];
  /** Hosts whose registrations preempt-and-abort removed (their in-flight commands must drain). */
  aborted: string[];
  /** True if anything persistent changed (registrants, reservation, PTPL). */
  changed: boolean;
}

export interface Registrant {
  hostid: string;
  rkey: bigint;
}

/** Serializable snapshot (the PTPL file). */
export interface ResvSnapshot {
  generation: number;
  ptpl: boolean;
  rtype: number;
  holder: string | null;
  registrants: { hostid: string; rkey: string }[];
}

/** Access class of a command for conflict checks (pr.c nvmet_is_req_{read,write}_cmd_group). */
export type ResvAccess = 'read' | 'write' | 'none';

const U64_MASK = (1n << 64n) - 1n;

function result(status: ResvStatusClass, changed = false, notices: ResvNotice[] = [], aborted: string[] = []): ResvOutcome {
  return { status, notices, aborted, changed };
}

export class ReservationState {
  private regs: Registrant[] = [];
  private holderId: string | null = null;
  private type = 0;
  /** Reservation generation (Report GEN): bumped by Register, Preempt, Clear. */
  generation = 0;
  /** Persist Through Power Loss state (Report PTPLS). */
  ptpl = false;

  constructor(
    /** PTPL can only be set when there is somewhere to persist to (a file-backed namespace). */
    readonly ptplCapable: boolean,
  ) {}

  get registrants(): readonly Registrant[] {
    return this.regs;
  }

  /** Current reservation type, 0 = none. */
  get rtype(): number {
    return this.type;
  }

  get holder(): string | null {
    return this.holderId;
  }

  private find(hostid: string): Registrant | undefined {
    return this.regs.find((r) => r.hostid === hostid);
  }

  isRegistered(hostid: string): boolean {
    return this.find(hostid) !== undefined;
  }

  /** A holder of the current reservation (every registrant, for the all-registrants types). */
  isHolder(hostid: string): boolean {
    if (this.holderId === null) return false;
    if (isAllRegistrantsType(this.type)) return this.isRegistered(hostid);
    return this.holderId === hostid;
  }

  private setHolder(hostid: string, rtype: number): void {
    this.holderId = hostid;
    this.type = rtype;
  }

  private clearHolder(): void {
    this.holderId = null;
    this.type = 0;
  }

  /** Other registrants of a released reservation hear about it (nvmet_pr_resv_released). */
  private releasedNotices(except: string): ResvNotice[] {
    return this.regs.filter((r) => r.hostid !== except).map((r) => ({ hostid: r.hostid, type: ResvLogType.ReservationReleased }));
  }

  /** nvmet_pr_unregister_one. */
  private unregisterOne(reg: Registrant, notices: ResvNotice[]): void {
    this.regs = this.regs.filter((r) => r !== reg);
    if (this.holderId !== reg.hostid) return;
    const t = this.type;
    if (isAllRegistrantsType(t)) {
      const first = this.regs[0];
      if (first !== undefined) this.setHolder(first.hostid, t);
      else this.clearHolder();
      return;
    }
    this.clearHolder();
    if (t === ResvType.WriteExclusiveRegistrantsOnly || t === ResvType.ExclusiveAccessRegistrantsOnly) {
      notices.push(...this.releasedNotices(reg.hostid));
    }
  }

  // ------------------------------------------------------------ Reservation Register

  register(hostid: string, rrega: number, iekey: boolean, cptpl: number, crkey: bigint, nrkey: bigint): ResvOutcome {
    if (cptpl === 1 || ((cptpl === Cptpl.Set) && !this.ptplCapable)) return result('invalid-field');
    const notices: ResvNotice[] = [];
    const reg = this.find(hostid);
    let status: ResvStatusClass;
    switch (rrega) {
      case ResvRegisterAction.Register:
        if (reg !== undefined) {
          status = reg.rkey === nrkey ? 'ok' : 'conflict';
        } else {
          this.regs.push({ hostid, rkey: nrkey & U64_MASK });
          status = 'ok';
        }
        break;
      case ResvRegisterAction.Unregister:
        if (reg !== undefined && (iekey || reg.rkey === crkey)) {
          this.unregisterOne(reg, notices);
          status = 'ok';
        } else {
          status = 'conflict';
        }
        break;
      case ResvRegisterAction.Replace:
        if (reg !== undefined && (iekey || reg.rkey === crkey)) {
          reg.rkey = nrkey & U64_MASK;
          status = 'ok';
        } else {
          status = 'conflict';
        }
        break;
      default:
        return result('invalid-opcode');
    }
    if (status !== 'ok') return result(status);
    this.generation = (this.generation + 1) >>> 0;
    if (cptpl === Cptpl.Set) this.ptpl = true;
    else if (cptpl === Cptpl.Clear) this.ptpl = false;
    return result('ok', true, notices);
  }

  // ------------------------------------------------------------ Reservation Acquire

  acquire(hostid: string, racqa: number, rtype: number, iekey: boolean, crkey: bigint, prkey: bigint): ResvOutcome {
    if (iekey || !isResvType(rtype)) return result('invalid-field');
    const reg = this.find(hostid);
    if (reg === undefined || reg.rkey !== crkey) return result('conflict');
    switch (racqa) {
      case ResvAcquireAction.Acquire:
        if (this.holderId !== null) {
          if (!this.isHolder(hostid)) return result('conflict');
          return result(this.type === rtype ? 'ok' : 'conflict');
        }
        this.setHolder(hostid, rtype);
        return result('ok', true);
      case ResvAcquireAction.Preempt:
      case ResvAcquireAction.PreemptAndAbort: {
        const out = this.preempt(reg, rtype, prkey & U64_MASK, racqa === ResvAcquireAction.PreemptAndAbort);
        if (out.status === 'ok') {
          this.generation = (this.generation + 1) >>> 0;
          out.changed = true;
        }
        return out;
      }
      default:
        return result('invalid-opcode');
    }
  }

  /** Unregister every registrant holding `prkey` (nvmet_pr_unreg_all_host_by_prkey); conflict if none. */
  private unregAllByPrkey(prkey: bigint, sender: string, abort: boolean, notices: ResvNotice[], aborted: string[], skipSender: boolean): boolean {
    let any = false;
    for (const r of [...this.regs]) {
      if (r.rkey !== prkey) continue;
      if (skipSender && r.hostid === sender) continue;
      any = true;
      if (abort) aborted.push(r.hostid);
      this.unregisterOne(r, notices);
      if (r.hostid !== sender) notices.push({ hostid: r.hostid, type: ResvLogType.RegistrationPreempted });
    }
    return any;
  }

  /** nvmet_pr_preempt. */
  private preempt(reg: Registrant, rtype: number, prkey: bigint, abort: boolean): ResvOutcome {
    const sender = reg.hostid;
    const notices: ResvNotice[] = [];
    const aborted: string[] = [];
    if (this.holderId === null) {
      return this.unregAllByPrkey(prkey, sender, abort, notices, aborted, false)
        ? result('ok', true, notices, aborted)
        : result('conflict');
    }
    const original = this.type;
    if (isAllRegistrantsType(original)) {
      if (prkey === 0n) {
        // New holder first, so no other host slips in while the others are removed.
        this.setHolder(sender, rtype);
        for (const r of [...this.regs]) {
          if (r.hostid === sender) continue;
          if (abort) aborted.push(r.hostid);
          this.unregisterOne(r, notices);
          notices.push({ hostid: r.hostid, type: ResvLogType.RegistrationPreempted });
        }
        return result('ok', true, notices, aborted);
      }
      return this.unregAllByPrkey(prkey, sender, abort, notices, aborted, false)
        ? result('ok', true, notices, aborted)
        : result('conflict');
    }
    if (this.holderId === sender) {
      this.type = rtype;
      if (original !== rtype) notices.push(...this.releasedNotices(sender));
      return result('ok', true, notices);
    }
    const holder = this.find(this.holderId);
    if (holder !== undefined && prkey === holder.rkey) {
      this.setHolder(sender, rtype);
      this.unregAllByPrkey(prkey, sender, abort, notices, aborted, true);
      if (original !== rtype) notices.push(...this.releasedNotices(sender));
      return result('ok', true, notices, aborted);
    }
    if (prkey !== 0n) {
      return this.unregAllByPrkey(prkey, sender, abort, notices, aborted, false)
        ? result('ok', true, notices, aborted)
        : result('conflict');
    }
    return result('invalid-field');
  }

  // ------------------------------------------------------------ Reservation Release

  release(hostid: string, rrela: number, rtype: number, iekey: boolean, crkey: bigint): ResvOutcome {
    if (iekey) return result('invalid-field');
    const reg = this.find(hostid);
    if (reg === undefined || reg.rkey !== crkey) return result('conflict');
    switch (rrela) {
      case ResvReleaseAction.Release: {
        if (!this.isHolder(hostid)) return result('ok');
        const original = this.type;
        if (original !== rtype) return result('conflict');
        this.clearHolder();
        const notices = original !== ResvType.WriteExclusive && original !== ResvType.ExclusiveAccess ? this.releasedNotices(hostid) : [];
        return result('ok', true, notices);
      }
      case ResvReleaseAction.Clear: {
        const notices: ResvNotice[] = this.regs
          .filter((r) => r.hostid !== hostid)
          .map((r) => ({ hostid: r.hostid, type: ResvLogType.ReservationPreempted }));
        this.clearHolder();
        this.regs = [];
        this.generation = (this.generation + 1) >>> 0;
        return result('ok', true, notices);
      }
      default:
        return result('invalid-opcode');
    }
  }

  // ------------------------------------------------------------ Set Features: Reservation Persistence

  /** Set Features FID 83h: PTPL bit. False if not capable. */
  setPtpl(on: boolean): boolean {
    if (on && !this.ptplCapable) return false;
    this.ptpl = on;
    return true;
  }

  // ------------------------------------------------------------ access checks

  /** nvmet_pr_check_cmd_access: may `hostid` run a command of this access class? */
  allows(hostid: string, access: ResvAccess): boolean {
    if (access === 'none' || this.holderId === null) return true;
    if (this.holderId === hostid) return true;
    switch (this.type) {
      case ResvType.WriteExclusive:
        return access !== 'write';
      case ResvType.ExclusiveAccess:
        return false;
      case ResvType.WriteExclusiveRegistrantsOnly:
      case ResvType.WriteExclusiveAllRegistrants:
        return access !== 'write' || this.isRegistered(hostid);
      case ResvType.ExclusiveAccessRegistrantsOnly:
      case ResvType.ExclusiveAccessAllRegistrants:
        return this.isRegistered(hostid);
      default:
        return true;
    }
  }

  // ------------------------------------------------------------ persistence

  snapshot(): ResvSnapshot {
    return {
      generation: this.generation,
      ptpl: this.ptpl,
      rtype: this.type,
      holder: this.holderId,
      registrants: this.regs.map((r) => ({ hostid: r.hostid, rkey: r.rkey.toString(16) })),
    };
  }

  /** Restore a snapshot; throws a RangeError naming the bad field. */
  restore(s: ResvSnapshot): void {
    const hex32 = /^[0-9a-f]{32}$/;
    if (!Number.isInteger(s.generation) || s.generation < 0 || s.generation > 0xffff_ffff) throw new RangeError('generation out of range');
    if (typeof s.ptpl !== 'boolean') throw new RangeError('ptpl must be a boolean');
    if (!Array.isArray(s.registrants)) throw new RangeError('registrants must be an array');
    const regs: Registrant[] = [];
    for (const [i, r] of s.registrants.entries()) {
      if (typeof r.hostid !== 'string' || !hex32.test(r.hostid)) throw new RangeError(`registrants[${i}].hostid must be 32 hex digits`);
      if (typeof r.rkey !== 'string' || !/^[0-9a-f]{1,16}$/.test(r.rkey)) throw new RangeError(`registrants[${i}].rkey must be 1..16 hex digits`);
      if (regs.some((x) => x.hostid === r.hostid)) throw new RangeError(`registrants[${i}].hostid registered twice`);
      regs.push({ hostid: r.hostid, rkey: BigInt(`0x${r.rkey}`) });
    }
    if (s.holder !== null) {
      if (!isResvType(s.rtype)) throw new RangeError('rtype must be 1..6 when a holder is set');
      if (!regs.some((r) => r.hostid === s.holder)) throw new RangeError('holder is not a registrant');
    } else if (s.rtype !== 0) {
      throw new RangeError('rtype must be 0 without a holder');
    }
    this.regs = regs;
    this.holderId = s.holder;
    this.type = s.holder === null ? 0 : s.rtype;
    this.generation = s.generation;
    this.ptpl = s.ptpl;
  }
}

/** 32 lowercase hex digits of a 16-byte host identifier. */
export function hostIdKey(hostid: Uint8Array): string {
  let s = '';
  for (let i = 0; i < hostid.length; i++) s += hostid[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a host identifier key. */
export function hostIdBytes(key: string): Uint8Array {
  const b = new Uint8Array(key.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(key.slice(i * 2, i * 2 + 2), 16);
  return b;
}
