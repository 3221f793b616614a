/** The NVM command set on I/O queues (Linux io-cmd-bdev.c / io-cmd-file.c parse): opcode → command. */

import { IoOpcode } from '../../../src/nvme/opcodes.js';
import { commandTable } from '../command.js';
import { flush } from './flush.js';
import { read, write } from './read-write.js';
import { writeZeroes } from './write-zeroes.js';
import { datasetManagement } from './dataset-management.js';
import { reservationAcquire, reservationRegister, reservationRelease, reservationReport } from './reservation.js';

export const ioCommands = commandTable([
  [IoOpcode.Flush, flush],
  [IoOpcode.Write, write],
  [IoOpcode.Read, read],
  [IoOpcode.WriteZeroes, writeZeroes],
  [IoOpcode.DatasetManagement, datasetManagement],
  [IoOpcode.ReservationRegister, reservationRegister],
  [IoOpcode.ReservationReport, reservationReport],
  [IoOpcode.ReservationAcquire, reservationAcquire],
  [IoOpcode.ReservationRelease, reservationRelease],
]);
