import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnaRegistry, PortAnaGroups, anaIoStatus, NVMET_ANATT } from '../../target/core/ana.js';
import { AnaState } from '../../src/nvme/ana.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('ANA groups (Linux nvmet_ana_* bookkeeping)', () => {
  it('group 1 is implicit and optimized; groups are enabled while referenced; chgcnt counts changes', () => {
    const reg = new AnaRegistry();
    let events = 0;
    const p1 = new PortAnaGroups(reg, () => events++);
    const p2 = new PortAnaGroups(reg, () => events++);
    expect(p1.state(1)).toBe(AnaState.Optimized);
    // undefined on this port: Inaccessible, as Linux's port->ana_state[] (never 0)
    expect(p1.state(2)).toBe(AnaState.Inaccessible);
    expect(reg.enabledGroups()).toEqual([1]);
    p2.addGroup(2);
    expect(reg.enabledGroups()).toEqual([1, 2]);
    expect(reg.chgcnt).toBe(1n);
    p2.setState(2, AnaState.Inaccessible);
    expect(p2.state(2)).toBe(AnaState.Inaccessible);
    expect(reg.chgcnt).toBe(2n);
    // Same state again: nothing to report.
    p2.setState(2, AnaState.Inaccessible);
    expect(reg.chgcnt).toBe(2n);
    expect(events).toBe(2);
    expect(() => p1.setState(2, AnaState.Optimized)).toThrow(/no ANA group 2/);
    expect(() => p1.removeGroup(1)).toThrow(/implicit/);
    expect(() => p1.addGroup(129)).toThrow(/1\.\.128/);
    expect(() => p1.setState(1, 5 as AnaState)).toThrow(/not one of/);
    p2.removeGroup(2);
    expect(reg.enabledGroups()).toEqual([1]);
    p1.dispose();
    p2.dispose();
    expect(reg.enabledGroups()).toEqual([]);
  });

  it('a transition reports Change for the window, then the target state', () => {
    vi.useFakeTimers();
    const reg = new AnaRegistry();
    const seen: number[] = [];
    const p = new PortAnaGroups(reg, () => seen.push(p.state(1)));
    p.setState(1, AnaState.Inaccessible, { transitionMs: 500 });
    expect(p.state(1)).toBe(AnaState.Change);
    vi.advanceTimersByTime(499);
    expect(p.state(1)).toBe(AnaState.Change);
    vi.advanceTimersByTime(1);
    expect(p.state(1)).toBe(AnaState.Inaccessible);
    expect(seen).toEqual([AnaState.Change, AnaState.Inaccessible]);
    expect(() => p.setState(1, AnaState.Optimized, { transitionMs: NVMET_ANATT * 1000 + 1 })).toThrow(/ANATT/);
    // A new request cancels a pending window.
    p.setState(1, AnaState.Optimized, { transitionMs: 100 });
    p.setState(1, AnaState.NonOptimized);
    vi.advanceTimersByTime(200);
    expect(p.state(1)).toBe(AnaState.NonOptimized);
  });

  it('I/O status per state (core.c nvmet_check_ana_state)', () => {
    expect([1, 2, 3, 4, 0x0f, 0].map(anaIoStatus)).toEqual([null, null, 'inaccessible', 'persistent-loss', 'transition', null]);
  });
});
