/**
 * NVMET_TS_FAULT: the named faults the kernel-host interop suite injects to prove
 * it fails when the target is wrong (`npm run test:interop -- --fault NAME`), as
 * rules of the fault engine (./engine.ts). Comma-separated, read once at startup.
 *
 *   identify-bad-field  Identify Controller reports a serial number (SN) other
 *                       than the subsystem's: the id-ctrl and list rows fail.
 *   drop-completion     the completion of Get Log Page for Error Information
 *                       (LID 01h) is never sent: the host's admin command
 *                       times out and the error-log row fails. (Not the SMART
 *                       log: Linux reads that itself at connect, for hwmon.)
 */

import { AdminOpcode } from '../../src/nvme/opcodes.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { Cns } from '../../src/nvme/identify.js';
import type { FaultRuleSpec } from './rule.js';

export const FAULTS = ['identify-bad-field', 'drop-completion'] as const;
export type Fault = (typeof FAULTS)[number];

/** SN: Identify Controller bytes 23:04, ASCII, space padded. */
const BAD_SERIAL = 'FAULT-INJECTED-SN   ';

const RULES: Record<Fault, FaultRuleSpec> = {
  'identify-bad-field': {
    id: 'env-identify-bad-field',
    match: { set: 'admin', opcode: AdminOpcode.Identify, cdw10: { value: Cns.Controller, mask: 0xff } },
    action: { type: 'corrupt-data', offset: 4, ascii: BAD_SERIAL },
  },
  'drop-completion': {
    id: 'env-drop-completion',
    // Get Log Page, LID = CDW10 bits 07:00
    match: { set: 'admin', opcode: AdminOpcode.GetLogPage, cdw10: { value: LogId.ErrorInfo, mask: 0xff } },
    action: { type: 'hang' },
  },
};

function parse(spec: string | undefined): readonly Fault[] {
  const set = new Set<Fault>();
  for (const name of (spec ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (!(FAULTS as readonly string[]).includes(name)) {
      throw new Error(`NVMET_TS_FAULT: unknown fault "${name}" (known: ${FAULTS.join(', ')})`);
    }
    set.add(name as Fault);
  }
  return [...set];
}

let active: readonly Fault[] = parse(process.env['NVMET_TS_FAULT']);
let rules: readonly FaultRuleSpec[] = active.map((f) => RULES[f]);

/** Faults in force (for the startup log line). */
export function activeFaults(): readonly Fault[] {
  return active;
}

/** The rules the faults in force stand for (a new array whenever they change). */
export function envFaultRules(): readonly FaultRuleSpec[] {
  return rules;
}

/** For tests: replace the set read from the environment. */
export function setFaults(spec: string): void {
  active = parse(spec);
  rules = active.map((f) => RULES[f]);
}
