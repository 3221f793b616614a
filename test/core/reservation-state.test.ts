/**
 * Reservation state machine (target/core/reservation.ts) against the rules of
 * Linux drivers/nvme/target/pr.c and NVMe base spec 2.0 §8.19, table-driven.
 */
import { describe, expect, it } from 'vitest';
import { ReservationState, hostIdBytes, hostIdKey, type ResvAccess } from '../../target/core/reservation.js';
import { ResvLogQueue, NVMET_PR_LOG_QUEUE_SIZE } from '../../target/core/reservation-log.js';
import { Cptpl, ResvAcquireAction as A, ResvLogType as L, ResvRegisterAction as R, ResvReleaseAction as Rel, ResvType as T } from '../../src/nvme/reservations.js';

const H1 = '11'.repeat(16);
const H2 = '22'.repeat(16);
const H3 = '33'.repeat(16);

function reg(s: ReservationState, h: string, key: bigint): void {
  expect(s.register(h, R.Register, false, 0, 0n, key).status).toBe('ok');
}

describe('ReservationState: register / unregister / replace', () => {
  it('register is idempotent with the same key and conflicts with another', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    expect(s.generation).toBe(1);
    expect(s.register(H1, R.Register, false, 0, 0n, 1n).status).toBe('ok');
    expect(s.register(H1, R.Register, false, 0, 0n, 2n).status).toBe('conflict');
    expect(s.generation).toBe(2);
  });

  const cases: { what: string; action: number; iekey: boolean; crkey: bigint; registered: boolean; want: string }[] = [
    { what: 'unregister with the right key', action: R.Unregister, iekey: false, crkey: 5n, registered: true, want: 'ok' },
    { what: 'unregister with a wrong key', action: R.Unregister, iekey: false, crkey: 6n, registered: true, want: 'conflict' },
    { what: 'unregister ignoring the key', action: R.Unregister, iekey: true, crkey: 6n, registered: true, want: 'ok' },
    { what: 'unregister when not registered', action: R.Unregister, iekey: true, crkey: 5n, registered: false, want: 'conflict' },
    { what: 'replace with the right key', action: R.Replace, iekey: false, crkey: 5n, registered: true, want: 'ok' },
    { what: 'replace with a wrong key', action: R.Replace, iekey: false, crkey: 4n, registered: true, want: 'conflict' },
    { what: 'replace when not registered (pr.c: conflict)', action: R.Replace, iekey: true, crkey: 0n, registered: false, want: 'conflict' },
    { what: 'unknown action (pr.c: Invalid Opcode)', action: 3, iekey: false, crkey: 5n, registered: true, want: 'invalid-opcode' },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const s = new ReservationState(false);
      if (c.registered) reg(s, H1, 5n);
      expect(s.register(H1, c.action, c.iekey, 0, c.crkey, 9n).status).toBe(c.want);
    });
  }

  it('CPTPL: set needs a persistent backing, 01b is invalid, clear/set toggle PTPLS', () => {
    expect(new ReservationState(false).register(H1, R.Register, false, Cptpl.Set, 0n, 1n).status).toBe('invalid-field');
    const s = new ReservationState(true);
    expect(s.register(H1, R.Register, false, 1, 0n, 1n).status).toBe('invalid-field');
    expect(s.register(H1, R.Register, false, Cptpl.Set, 0n, 1n).status).toBe('ok');
    expect(s.ptpl).toBe(true);
    expect(s.register(H1, R.Replace, false, Cptpl.Clear, 1n, 2n).status).toBe('ok');
    expect(s.ptpl).toBe(false);
  });
});

describe('ReservationState: acquire and access', () => {
  // Who may read/write under each type: [holder, registrant, non-registrant] × [read, write].
  const matrix: { type: number; reg: [boolean, boolean]; other: [boolean, boolean] }[] = [
    { type: T.WriteExclusive, reg: [true, false], other: [true, false] },
    { type: T.ExclusiveAccess, reg: [false, false], other: [false, false] },
    { type: T.WriteExclusiveRegistrantsOnly, reg: [true, true], other: [true, false] },
    { type: T.ExclusiveAccessRegistrantsOnly, reg: [true, true], other: [false, false] },
    { type: T.WriteExclusiveAllRegistrants, reg: [true, true], other: [true, false] },
    { type: T.ExclusiveAccessAllRegistrants, reg: [true, true], other: [false, false] },
  ];
  for (const m of matrix) {
    it(`type ${m.type}: holder, registrant and other host access`, () => {
      const s = new ReservationState(false);
      reg(s, H1, 1n);
      reg(s, H2, 2n);
      expect(s.acquire(H1, A.Acquire, m.type, false, 1n, 0n).status).toBe('ok');
      const acc = (h: string, a: ResvAccess): boolean => s.allows(h, a);
      expect([acc(H1, 'read'), acc(H1, 'write')]).toEqual([true, true]);
      expect([acc(H2, 'read'), acc(H2, 'write')]).toEqual(m.reg);
      expect([acc(H3, 'read'), acc(H3, 'write')]).toEqual(m.other);
      expect(acc(H3, 'none')).toBe(true);
    });
  }

  it('acquire: needs registration with the current key; a second host conflicts; same holder/type is ok', () => {
    const s = new ReservationState(false);
    expect(s.acquire(H1, A.Acquire, T.WriteExclusive, false, 1n, 0n).status).toBe('conflict');
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    expect(s.acquire(H1, A.Acquire, T.WriteExclusive, false, 9n, 0n).status).toBe('conflict');
    expect(s.acquire(H1, A.Acquire, T.WriteExclusive, false, 1n, 0n).status).toBe('ok');
    expect(s.acquire(H1, A.Acquire, T.WriteExclusive, false, 1n, 0n).status).toBe('ok');
    expect(s.acquire(H1, A.Acquire, T.ExclusiveAccess, false, 1n, 0n).status).toBe('conflict');
    expect(s.acquire(H2, A.Acquire, T.WriteExclusive, false, 2n, 0n).status).toBe('conflict');
    expect(s.acquire(H1, A.Acquire, 7, false, 1n, 0n).status).toBe('invalid-field');
    expect(s.acquire(H1, A.Acquire, T.WriteExclusive, true, 1n, 0n).status).toBe('invalid-field');
    expect(s.acquire(H1, 3, T.WriteExclusive, false, 1n, 0n).status).toBe('invalid-opcode');
    // Acquire does not bump the generation (pr.c only counts register/preempt/clear).
    expect(s.generation).toBe(2);
  });

  it('all-registrants: every registrant is a holder; the reservation survives until the last one leaves', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    expect(s.acquire(H1, A.Acquire, T.WriteExclusiveAllRegistrants, false, 1n, 0n).status).toBe('ok');
    expect(s.isHolder(H2)).toBe(true);
    expect(s.acquire(H2, A.Acquire, T.WriteExclusiveAllRegistrants, false, 2n, 0n).status).toBe('ok');
    expect(s.register(H1, R.Unregister, false, 0, 1n, 0n).status).toBe('ok');
    expect(s.rtype).toBe(T.WriteExclusiveAllRegistrants);
    expect(s.holder).toBe(H2);
    expect(s.register(H2, R.Unregister, false, 0, 2n, 0n).status).toBe('ok');
    expect(s.rtype).toBe(0);
  });
});

describe('ReservationState: release, clear, preempt', () => {
  it('release: non-holder is a no-op, wrong type conflicts, RO types notify the other registrants', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    s.acquire(H1, A.Acquire, T.WriteExclusiveRegistrantsOnly, false, 1n, 0n);
    expect(s.release(H2, Rel.Release, T.WriteExclusiveRegistrantsOnly, false, 2n)).toMatchObject({ status: 'ok', changed: false });
    expect(s.release(H1, Rel.Release, T.WriteExclusive, false, 1n).status).toBe('conflict');
    expect(s.release(H1, Rel.Release, T.WriteExclusiveRegistrantsOnly, true, 1n).status).toBe('invalid-field');
    const out = s.release(H1, Rel.Release, T.WriteExclusiveRegistrantsOnly, false, 1n);
    expect(out.status).toBe('ok');
    expect(out.notices).toEqual([{ hostid: H2, type: L.ReservationReleased }]);
    expect(s.rtype).toBe(0);
  });

  it('release of Write Exclusive sends no notice', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    s.acquire(H1, A.Acquire, T.WriteExclusive, false, 1n, 0n);
    expect(s.release(H1, Rel.Release, T.WriteExclusive, false, 1n).notices).toEqual([]);
  });

  it('clear drops every registrant, notifies the others as preempted, bumps the generation', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    reg(s, H3, 3n);
    s.acquire(H2, A.Acquire, T.ExclusiveAccess, false, 2n, 0n);
    const g = s.generation;
    const out = s.release(H1, Rel.Clear, 0, false, 1n);
    expect(out.notices).toEqual([{ hostid: H2, type: L.ReservationPreempted }, { hostid: H3, type: L.ReservationPreempted }]);
    expect(s.registrants).toEqual([]);
    expect(s.rtype).toBe(0);
    expect(s.generation).toBe(g + 1);
  });

  it('preempt the holder: new holder, holder unregistered and notified, type change notifies released', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    reg(s, H3, 3n);
    s.acquire(H1, A.Acquire, T.WriteExclusive, false, 1n, 0n);
    const out = s.acquire(H2, A.PreemptAndAbort, T.ExclusiveAccess, false, 2n, 1n);
    expect(out.status).toBe('ok');
    expect(out.aborted).toEqual([H1]);
    expect(out.notices).toEqual([{ hostid: H1, type: L.RegistrationPreempted }, { hostid: H3, type: L.ReservationReleased }]);
    expect(s.holder).toBe(H2);
    expect(s.rtype).toBe(T.ExclusiveAccess);
    expect(s.isRegistered(H1)).toBe(false);
  });

  it('preempt a non-holder key removes those registrants only; unknown key conflicts; key 0 is invalid', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    reg(s, H3, 3n);
    s.acquire(H1, A.Acquire, T.WriteExclusive, false, 1n, 0n);
    const out = s.acquire(H2, A.Preempt, T.WriteExclusive, false, 2n, 3n);
    expect(out).toMatchObject({ status: 'ok', aborted: [], notices: [{ hostid: H3, type: L.RegistrationPreempted }] });
    expect(s.holder).toBe(H1);
    expect(s.acquire(H2, A.Preempt, T.WriteExclusive, false, 2n, 42n).status).toBe('conflict');
    expect(s.acquire(H2, A.Preempt, T.WriteExclusive, false, 2n, 0n).status).toBe('invalid-field');
  });

  it('preempt with no reservation unregisters by key; all-registrants + PRKEY 0 takes over', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    expect(s.acquire(H1, A.Preempt, T.WriteExclusive, false, 1n, 2n).status).toBe('ok');
    expect(s.isRegistered(H2)).toBe(false);
    reg(s, H2, 2n);
    reg(s, H3, 3n);
    s.acquire(H1, A.Acquire, T.ExclusiveAccessAllRegistrants, false, 1n, 0n);
    const out = s.acquire(H2, A.Preempt, T.WriteExclusive, false, 2n, 0n);
    expect(out.status).toBe('ok');
    expect(s.holder).toBe(H2);
    expect(s.rtype).toBe(T.WriteExclusive);
    expect(s.registrants.map((r) => r.hostid)).toEqual([H2]);
  });

  it('the holder preempting itself changes the type', () => {
    const s = new ReservationState(false);
    reg(s, H1, 1n);
    reg(s, H2, 2n);
    s.acquire(H1, A.Acquire, T.WriteExclusive, false, 1n, 0n);
    const out = s.acquire(H1, A.Preempt, T.ExclusiveAccess, false, 1n, 1n);
    expect(out.status).toBe('ok');
    expect(s.rtype).toBe(T.ExclusiveAccess);
    expect(out.notices).toEqual([{ hostid: H2, type: L.ReservationReleased }]);
  });

  it('snapshot / restore round-trips and rejects a bad document', () => {
    const s = new ReservationState(true);
    s.register(H1, R.Register, false, Cptpl.Set, 0n, 0xffff_ffff_ffff_ffffn);
    reg(s, H2, 2n);
    s.acquire(H1, A.Acquire, T.ExclusiveAccessRegistrantsOnly, false, 0xffff_ffff_ffff_ffffn, 0n);
    const snap = JSON.parse(JSON.stringify(s.snapshot()));
    const t = new ReservationState(true);
    t.restore(snap);
    expect(t.snapshot()).toEqual(s.snapshot());
    expect(t.allows(H3, 'read')).toBe(false);
    expect(() => t.restore({ ...snap, holder: H3 })).toThrow(/holder/);
    expect(() => t.restore({ ...snap, registrants: [{ hostid: 'xyz', rkey: '1' }] })).toThrow(/hostid/);
  });

  it('host id keys', () => {
    const b = new Uint8Array(16).map((_, i) => i);
    expect(hostIdKey(b)).toBe('000102030405060708090a0b0c0d0e0f');
    expect(hostIdBytes(hostIdKey(b))).toEqual(b);
  });
});

describe('ResvLogQueue (pr.c log manager)', () => {
  it('empty read is an all-zero log; counts start at 1 and report what is left', () => {
    const q = new ResvLogQueue();
    expect(q.take()).toEqual({ count: 0n, type: 0, available: 0, nsid: 0 });
    q.add(L.ReservationReleased, 1);
    q.add(L.RegistrationPreempted, 2);
    expect(q.take()).toEqual({ count: 1n, type: L.ReservationReleased, available: 1, nsid: 1 });
    expect(q.take()).toEqual({ count: 2n, type: L.RegistrationPreempted, available: 0, nsid: 2 });
  });

  it('overflow: lost logs are folded into the last count read', () => {
    const q = new ResvLogQueue();
    for (let i = 0; i < NVMET_PR_LOG_QUEUE_SIZE + 3; i++) q.add(L.ReservationPreempted, 1);
    let last = { count: 0n, available: 1 };
    while (last.available > 0 || q.length > 0) last = q.take();
    expect(last.count).toBe(BigInt(NVMET_PR_LOG_QUEUE_SIZE + 3));
  });
});

describe('NamespaceReservations: per-host command counts and the preempt-and-abort drain', () => {
  it('drain waits for the named hosts only, resolves at once when idle, and is bounded', async () => {
    const { NamespaceReservations } = await import('../../target/core/ns-reservations.js');
    const pr = new NamespaceReservations(null);
    expect(await pr.drain([H1])).toBe(true);
    pr.commandStarted(H1);
    pr.commandStarted(H1);
    pr.commandStarted(H2);
    let done = false;
    const p = pr.drain([H1]).then((ok) => {
      done = ok;
    });
    pr.commandDone(H1);
    await Promise.resolve();
    expect(done).toBe(false);
    pr.commandDone(H1);
    await p;
    expect(done).toBe(true);
    expect(pr.inflightOf(H2)).toBe(1);
    expect(await pr.drain([H2], 20)).toBe(false);
  });
});
