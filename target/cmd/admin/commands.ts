/**
 * The admin command set of I/O controllers (Linux admin-cmd.c
 * nvmet_parse_admin_cmd): opcode → command. Fabrics commands on the admin queue
 * are in ../fabrics/commands.ts, discovery controllers use ../discovery/commands.ts.
 */

import { AdminOpcode } from '../../../src/nvme/opcodes.js';
import { commandTable } from '../command.js';
import { getLogPage } from './get-log-page.js';
import { identify } from './identify.js';
import { abort } from './abort.js';
import { getFeatures, setFeatures } from './features.js';
import { asyncEventRequest } from './async-event-request.js';
import { keepAlive } from './keep-alive.js';

export const adminCommands = commandTable([
  [AdminOpcode.GetLogPage, getLogPage],
  [AdminOpcode.Identify, identify],
  [AdminOpcode.Abort, abort],
  [AdminOpcode.SetFeatures, setFeatures],
  [AdminOpcode.GetFeatures, getFeatures],
  [AdminOpcode.AsyncEventRequest, asyncEventRequest],
  [AdminOpcode.KeepAlive, keepAlive],
]);
