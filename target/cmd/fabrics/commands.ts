/**
 * Fabrics commands (opcode 7Fh) by FCTYPE, per kind of queue (Linux
 * fabrics-cmd.c nvmet_parse_connect_cmd / nvmet_parse_fabrics_admin_cmd /
 * nvmet_parse_fabrics_io_cmd). A command known but sent on the wrong kind of
 * queue is refused with Invalid Queue Type.
 */

import { FabricsType } from '../../../src/nvme/opcodes.js';
import { FabricsOff } from '../../../src/nvme/fabrics.js';
import { NvmeStatus, STATUS_DNR } from '../../../src/nvme/status.js';
import { commandTable, refused } from '../command.js';
import { connect } from './connect.js';
import { propertyGet, propertySet } from './property.js';
import { disconnect } from './disconnect.js';
import { authenticationReceive, authenticationSend } from './auth.js';

const wrongQueue = (name: string) => refused(name, NvmeStatus.InvalidQueueType | STATUS_DNR, FabricsOff.Fctype);

/** A queue not connected yet accepts exactly one command: Connect. */
export const connectCommands = commandTable([[FabricsType.Connect, connect]]);

/** Connected admin queue. Disconnect deletes an I/O queue; the association ends with the admin queue's connection. */
export const fabricsAdminCommands = commandTable([
  [FabricsType.PropertySet, propertySet],
  [FabricsType.PropertyGet, propertyGet],
  [FabricsType.AuthenticationSend, authenticationSend],
  [FabricsType.AuthenticationReceive, authenticationReceive],
  [FabricsType.Disconnect, wrongQueue('Disconnect')],
]);

/** Connected I/O queue: Disconnect and Authentication Send/Receive. */
export const fabricsIoCommands = commandTable([
  [FabricsType.Disconnect, disconnect],
  [FabricsType.AuthenticationSend, authenticationSend],
  [FabricsType.AuthenticationReceive, authenticationReceive],
  [FabricsType.PropertySet, wrongQueue('Property Set')],
  [FabricsType.PropertyGet, wrongQueue('Property Get')],
]);
