/**
 * Completion hook for I/O commands: metrics (Prometheus latency histogram and
 * per-op counters) without the core knowing who listens. Called once per
 * completed I/O-queue command, when the transport has let go of it (its response
 * written, or its connection gone), with a constant op name, so the hot path does
 * not allocate. The latency runs from arrival to that moment (latency-clock.ts).
 */

import { IoOpcode } from '../../src/nvme/opcodes.js';

export type IoOp = 'read' | 'write' | 'flush' | 'write_zeroes' | 'dsm' | 'other';

export interface IoObserver {
  observeIo(op: IoOp, bytes: number, latencySeconds: number, status: number): void;
  /** `commands` observeIo calls at once (bytes summed; latencies as a drained LatencyBuckets, src/stats/latency-buckets.ts), e.g. from a reactor thread. */
  mergeIo?(op: IoOp, commands: number, bytes: number, counts: Uint32Array | null, slow: Float64Array): void;
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
