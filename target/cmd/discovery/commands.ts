/**
 * The admin subset a discovery controller accepts (Linux discovery.c
 * nvmet_parse_discovery_cmd): Identify Controller, Get Log Page 70h,
 * Set/Get Features (Keep Alive Timer, Asynchronous Event Configuration),
 * Keep Alive and Asynchronous Event Request.
 */

import { AdminOpcode } from '../../../src/nvme/opcodes.js';
import { commandTable } from '../command.js';
import { asyncEventRequest } from '../admin/async-event-request.js';
import { keepAlive } from '../admin/keep-alive.js';
import { discoveryGetLogPage } from './get-log-page.js';
import { discoveryIdentify } from './identify.js';
import { discoveryGetFeatures, discoverySetFeatures } from './features.js';

export const discoveryCommands = commandTable([
  [AdminOpcode.GetLogPage, discoveryGetLogPage],
  [AdminOpcode.Identify, discoveryIdentify],
  [AdminOpcode.SetFeatures, discoverySetFeatures],
  [AdminOpcode.GetFeatures, discoveryGetFeatures],
  [AdminOpcode.AsyncEventRequest, asyncEventRequest],
  [AdminOpcode.KeepAlive, keepAlive],
]);
