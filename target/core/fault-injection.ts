/**
 * Test-only fault injection, so the kernel-host interop suite can prove it
 * fails when the target is wrong (`npm run test:interop -- --fault NAME`).
 *
 * Faults are named in NVMET_TS_FAULT (comma-separated), read once at startup.
 * With the variable unset every hook is a constant-false check.
 *
 *   identify-bad-field  Identify Controller reports a serial number (SN) other
 *                       than the subsystem's: the id-ctrl and list rows fail.
 *   drop-completion     the completion of Get Log Page for Error Information
 *                       (LID 01h) is never sent: the host's admin command
 *                       times out and the error-log row fails. (Not the SMART
 *                       log: Linux reads that itself at connect, for hwmon.)
 */

import { AdminOpcode } from '../../src/nvme/opcodes.js';
import { getLogPageLid, LogId } from '../../src/nvme/log-pages.js';
import { sqeOpcode } from '../../src/nvme/sqe.js';

export const FAULTS = ['identify-bad-field', 'drop-completion'] as const;
export type Fault = (typeof FAULTS)[number];

function parse(spec: string | undefined): ReadonlySet<Fault> {
  const set = new Set<Fault>();
  for (const name of (spec ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (!(FAULTS as readonly string[]).includes(name)) {
      throw new Error(`NVMET_TS_FAULT: unknown fault "${name}" (known: ${FAULTS.join(', ')})`);
    }
    set.add(name as Fault);
  }
  return set;
}

let active: ReadonlySet<Fault> = parse(process.env['NVMET_TS_FAULT']);

/** Faults in force (for the startup log line). */
export function activeFaults(): readonly Fault[] {
  return [...active];
}

/** For tests: replace the set read from the environment. */
export function setFaults(spec: string): void {
  active = parse(spec);
}

const BAD_SERIAL = 'FAULT-INJECTED-SN   ';

/** Call after encoding the Identify Controller data structure into `page` (4096 bytes). */
export function faultIdentifyController(page: Uint8Array): void {
  if (active.size === 0 || !active.has('identify-bad-field')) return;
  // SN: bytes 23:04, ASCII, space padded
  for (let i = 0; i < 20; i++) page[4 + i] = BAD_SERIAL.charCodeAt(i);
}

/** Call before handing a completion to the transport; true = do not send it. */
export function faultDropCompletion(sqe: Uint8Array, qid: number): boolean {
  if (active.size === 0 || !active.has('drop-completion')) return false;
  // admin Get Log Page (opcode 02h), LID = CDW10 bits 07:00 (SQE byte 40)
  return qid === 0 && sqeOpcode(sqe) === AdminOpcode.GetLogPage && getLogPageLid(sqe) === LogId.ErrorInfo;
}
