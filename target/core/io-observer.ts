/**
 * Completion hook for I/O commands: metrics (Prometheus latency histogram and
 * per-op counters) without the core knowing who listens. Called once per
 * completed I/O-queue command with a constant op name, so the hot path does not
 * allocate.
 */

import { IoOpcode } from '../../src/nvme/opcodes.js';

export type IoOp = 'read' | 'write' | 'flush' | 'write_zeroes' | 'dsm' | 'other';

export interface IoObserver {
  observeIo(op: IoOp, bytes: number, latencySeconds: number, status: number): void;
}

/** Metric label of an NVM command set opcode. */
export function ioOpName(opcode: number): IoOp {
  switch (opcode) {
    case IoOpcode.Read:
      return 'read';
    case IoOpcode.Write:
      return 'write';
    case IoOpcode.Flush:
      return 'flush';
    case IoOpcode.WriteZeroes:
      return 'write_zeroes';
    case IoOpcode.DatasetManagement:
      return 'dsm';
    default:
      return 'other';
  }
}
