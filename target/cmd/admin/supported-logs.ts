/**
 * What an I/O controller says it supports, in the two log pages hosts read to
 * find out (Linux admin-cmd.c nvmet_execute_get_supported_log_pages and
 * nvmet_get_cmd_effects_admin/_nvm):
 *
 * - Commands Supported and Effects (LID 05h): CSUPP for every admin and NVM
 *   command this target executes, plus LBCC for the commands that change logical
 *   block content. Identify Controller sets LPA bit 1 so the kernel host reads it
 *   (nvme_init_effects) instead of assuming defaults.
 * - Supported Log Pages (LID 00h): LSUPP for every page get-log-page.ts serves —
 *   unlike Linux we do not list Endurance Group (09h), Features Supported (12h) or
 *   Rotational Media (16h), because we do not serve them.
 */

import { AdminOpcode, IoOpcode } from '../../../src/nvme/opcodes.js';
import { CmdEffects, LidEffects, LogId, encodeCommandEffectsLog, encodeSupportedLogPages } from '../../../src/nvme/log-pages.js';

const CSUPP = CmdEffects.Supported;
const LBCC = CmdEffects.LbaContentChange;

/** Admin commands of an I/O controller (acs[]). */
export const ADMIN_COMMAND_EFFECTS: ReadonlyMap<number, number> = new Map([
  [AdminOpcode.GetLogPage, CSUPP],
  [AdminOpcode.Identify, CSUPP],
  [AdminOpcode.Abort, CSUPP],
  [AdminOpcode.SetFeatures, CSUPP],
  [AdminOpcode.GetFeatures, CSUPP],
  [AdminOpcode.AsyncEventRequest, CSUPP],
  [AdminOpcode.KeepAlive, CSUPP],
]);

/** NVM command set I/O commands (iocs[]). */
export const NVM_COMMAND_EFFECTS: ReadonlyMap<number, number> = new Map([
  [IoOpcode.Flush, CSUPP],
  [IoOpcode.Write, CSUPP | LBCC],
  [IoOpcode.Read, CSUPP],
  [IoOpcode.WriteZeroes, CSUPP | LBCC],
  [IoOpcode.DatasetManagement, CSUPP],
  [IoOpcode.ReservationRegister, CSUPP],
  [IoOpcode.ReservationReport, CSUPP],
  [IoOpcode.ReservationAcquire, CSUPP],
  [IoOpcode.ReservationRelease, CSUPP],
]);

/** Log pages an I/O controller serves. */
export const SUPPORTED_LOG_PAGES: ReadonlyMap<number, number> = new Map(
  [
    LogId.SupportedLogPages,
    LogId.ErrorInfo,
    LogId.Smart,
    LogId.FirmwareSlot,
    LogId.ChangedNsList,
    LogId.CommandEffects,
    LogId.Ana,
    LogId.ReservationNotification,
  ].map((lid) => [lid, LidEffects.Supported]),
);

let effectsPage: Uint8Array | null = null;
let supportedPage: Uint8Array | null = null;

/** The Commands Supported and Effects page for CSI 00h (NVM); built once, never written to. */
export function commandEffectsPage(): Uint8Array {
  effectsPage ??= encodeCommandEffectsLog(ADMIN_COMMAND_EFFECTS, NVM_COMMAND_EFFECTS);
  return effectsPage;
}

/** The Supported Log Pages page; built once, never written to. */
export function supportedLogPagesPage(): Uint8Array {
  supportedPage ??= encodeSupportedLogPages(SUPPORTED_LOG_PAGES);
  return supportedPage;
}
