/** Asynchronous Event Request (admin 0Ch; Linux nvmet_execute_async_event). */

import type { Request } from '../../core/request.js';
import type { Command } from '../command.js';

/** Held by the controller until an event occurs (or the queue goes away). */
function executeAsyncEventRequest(req: Request): void {
  req.ctrl.queueAer(req);
}

export const asyncEventRequest: Command = { name: 'Asynchronous Event Request', execute: executeAsyncEventRequest };
