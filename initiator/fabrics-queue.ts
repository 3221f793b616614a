/**
 * What the host bring-up needs from one queue pair, whatever carries it: an
 * NVMe/TCP connection (HostQueue), a simulated RDMA queue pair (RdmaHostQueue) or
 * the in-process loop (target/loop/host.ts). Like the Linux host's
 * `nvme_ctrl_ops`, the fabrics sequence above it (Connect, properties, Identify,
 * I/O queues, keep-alive, shutdown) is written once and never sees the transport.
 */
import type { TransportError } from './errors.js';

/** A command as the bring-up hands it to a queue; transports add their own optional fields. */
export interface QueueCommand {
  /** 64-byte SQE; the queue stamps its CID and (unless told otherwise) the data pointer. */
  sqe: Uint8Array;
  /** Host → controller data. */
  dataOut?: Uint8Array | null;
  /** Controller → host data lands here. */
  dataIn?: Uint8Array | null;
  /** Per-command timeout, ms; 0 = none; undefined = the queue's default. */
  timeoutMs?: number;
}

/** The completion queue entry fields every transport reports. */
export interface QueueCompletion {
  readonly cid: number;
  /** 15-bit status (SCT << 8 | SC, MORE, DNR); 0 = success. */
  readonly status: number;
  readonly dw0: number;
  readonly dw1: number;
  readonly sqhd: number;
  /** C2H payload bytes the transport received, where it counts them (TCP, loop). */
  readonly dataLen?: number;
}

export interface FabricsQueue<R extends QueueCompletion = QueueCompletion> {
  /** Queue id once Fabrics Connect succeeded (0 = admin), -1 before. */
  qid: number;
  /** True once the connection is gone; submissions then fail. */
  readonly closed: boolean;
  /** Called once when the connection ends (after outstanding commands failed). */
  onClose: ((err: TransportError) => void) | null;
  /** Commands allowed in flight (SQ size − 1); more wait in the queue. */
  setDepth(n: number): void;
  /** Send a command; resolves with the completion whatever its NVMe status, rejects on transport failure or timeout. */
  submit(cmd: QueueCommand): Promise<R>;
  /** Drop the connection; outstanding commands fail. */
  close(reason?: string): void;
  /** "host:port qid N", for messages. */
  describe(): string;
}
