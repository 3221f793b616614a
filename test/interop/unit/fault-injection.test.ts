/** The test-only fault hooks the interop suite's --fault relies on. */
import { afterEach, describe, expect, it } from 'vitest';
import { activeFaults, faultDropCompletion, faultIdentifyController, setFaults } from '../../../target/core/fault-injection.js';

const getLogPage = (lid: number): Uint8Array => { const s = new Uint8Array(64); s[0] = 0x02; s[40] = lid; return s; };

describe('fault injection', () => {
  afterEach(() => setFaults(''));

  it('does nothing when no fault is set', () => {
    setFaults('');
    const page = new Uint8Array(4096).fill(0x41);
    faultIdentifyController(page);
    expect(page.every((b) => b === 0x41)).toBe(true);
    expect(faultDropCompletion(getLogPage(1), 0)).toBe(false);
    expect(activeFaults()).toEqual([]);
  });

  it('identify-bad-field rewrites SN (bytes 23:04) only', () => {
    setFaults('identify-bad-field');
    const page = new Uint8Array(4096).fill(0x41);
    faultIdentifyController(page);
    expect(Buffer.from(page.subarray(4, 24)).toString('latin1')).toBe('FAULT-INJECTED-SN   ');
    expect(page[3]).toBe(0x41);
    expect(page[24]).toBe(0x41);
  });

  it('drop-completion drops only admin Get Log Page for the Error Information log', () => {
    setFaults(' drop-completion , identify-bad-field');
    expect(activeFaults()).toEqual(['drop-completion', 'identify-bad-field']);
    expect(faultDropCompletion(getLogPage(0x01), 0)).toBe(true);
    expect(faultDropCompletion(getLogPage(0x02), 0)).toBe(false); // SMART: Linux reads it at connect
    expect(faultDropCompletion(getLogPage(0x01), 1)).toBe(false); // I/O queue: opcode 02h is Read
  });

  it('rejects unknown fault names', () => {
    expect(() => setFaults('drop-everything')).toThrow(/unknown fault "drop-everything"/);
  });
});
