/**
 * Typed failures of the initiator. Every rejected promise of the public API carries
 * one of these, so callers can branch on the NVMe status or the transport cause
 * without parsing messages.
 */
import { NvmeStatusError } from '../src/nvme/status.js';
import type { StatusContext } from '../src/nvme/status.js';

/** Where a completion came from, for diagnostics. */
export interface CompletionInfo {
  readonly qid: number;
  readonly cid: number;
  readonly opcode: number;
  /** Completion dword 0 (command specific: Connect IPO/IATTR, ...). */
  readonly dw0: number;
  readonly dw1: number;
  readonly sqhd: number;
}

/**
 * A command completed with a non-zero NVMe status. `status` is the 15-bit status
 * field (SCT<<8 | SC, MORE bit 13, DNR bit 14) as in `src/nvme/status.ts`.
 */
export class NvmeError extends NvmeStatusError {
  readonly qid: number;
  readonly cid: number;
  readonly opcode: number;
  readonly dw0: number;
  readonly dw1: number;
  readonly sqhd: number;

  constructor(status: number, info: CompletionInfo, what: string, ctx?: StatusContext) {
    super(status, `${what} (qid ${info.qid} cid ${info.cid})`, { result: info.dw0, ctx });
    this.qid = info.qid;
    this.cid = info.cid;
    this.opcode = info.opcode;
    this.dw0 = info.dw0;
    this.dw1 = info.dw1;
    this.sqhd = info.sqhd;
  }
}

/** Why a queue's connection failed. */
export type TransportErrorKind =
  /** The socket closed (by the controller or locally) with commands outstanding. */
  | 'closed'
  /** The controller sent a C2HTermReq; `fes`/`fei` carry its fatal error status/information. */
  | 'term-req'
  /** The controller broke the NVMe/TCP protocol (bad PDU, digest mismatch, unexpected data). */
  | 'protocol'
  /** TCP connect failed (refused, unreachable). */
  | 'connect';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly kind: TransportErrorKind;
  /** Fatal Error Status of a received C2HTermReq (NVMe/TCP FES), else 0. */
  readonly fes: number;
  /** Fatal Error Information of a received C2HTermReq, else 0. */
  readonly fei: number;

  constructor(kind: TransportErrorKind, message: string, opts: { fes?: number; fei?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.fes = opts.fes ?? 0;
    this.fei = opts.fei ?? 0;
  }
}

/** A bounded wait ran out (command, connect, CSTS.RDY poll, raw PDU read). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly ms: number;

  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`);
    this.ms = ms;
  }
}
