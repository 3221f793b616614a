/** The test-only faults the interop suite's --fault relies on, as rules of the fault engine. */
import { afterEach, describe, expect, it } from 'vitest';
import { activeFaults, envFaultRules, setFaults } from '../../../target/fault/env.js';
import { matchesCommand } from '../../../target/fault/match.js';

const getLogPage = (lid: number): Uint8Array => { const s = new Uint8Array(64); s[0] = 0x02; s[40] = lid; return s; };
const identify = (cns: number): Uint8Array => { const s = new Uint8Array(64); s[0] = 0x06; s[40] = cns; return s; };
const origin = (sqe: Uint8Array, qid: number) => ({ sqe, qid, port: 1, hostnqn: 'h', subsysnqn: 's' });
const matching = (sqe: Uint8Array, qid: number) => envFaultRules().filter((r) => matchesCommand(r.match ?? {}, origin(sqe, qid)));

describe('fault injection', () => {
  afterEach(() => setFaults(''));

  it('does nothing when no fault is set', () => {
    setFaults('');
    expect(envFaultRules()).toEqual([]);
    expect(activeFaults()).toEqual([]);
  });

  it('identify-bad-field rewrites SN (bytes 23:04) of Identify Controller only', () => {
    setFaults('identify-bad-field');
    const [r] = matching(identify(1), 0);
    expect(r?.action).toEqual({ type: 'corrupt-data', offset: 4, ascii: 'FAULT-INJECTED-SN   ' });
    expect(matching(identify(0), 0)).toEqual([]); // Identify Namespace
  });

  it('drop-completion withholds only admin Get Log Page for the Error Information log', () => {
    setFaults(' drop-completion , identify-bad-field');
    expect(activeFaults()).toEqual(['drop-completion', 'identify-bad-field']);
    expect(matching(getLogPage(0x01), 0).map((r) => r.action.type)).toEqual(['hang']);
    expect(matching(getLogPage(0x02), 0)).toEqual([]); // SMART: Linux reads it at connect
    expect(matching(getLogPage(0x01), 1)).toEqual([]); // I/O queue: opcode 02h is Read
  });

  it('rejects unknown fault names', () => {
    expect(() => setFaults('drop-everything')).toThrow(/unknown fault "drop-everything"/);
  });
});
