/**
 * Tunables of the NVMe/TCP transport (Linux nvmet-tcp module parameters and
 * defines, where it has them).
 */

import type { Logger } from '../core/log.js';

export interface TcpTransportOptions {
  /** MAXH2CDATA advertised in ICResp: largest H2CData PDU accepted, and largest R2T issued. */
  maxH2CData?: number;
  /** Largest C2HData PDU sent; longer reads are split. */
  c2hChunk?: number;
  /** Cap on outstanding R2Ts per command, whatever the host's MAXR2T. */
  maxR2TPerCommand?: number;
  /** CPDA advertised in ICResp (0's based dwords). */
  cpda?: number;
  /** A connection whose peer stops reading is paused above this many unsent bytes. */
  txHighWater?: number;
  /** Grace to flush a TermReq / last response before the socket is destroyed. */
  closeTimeoutMs?: number;
  /**
   * Largest data transfer of one command (Identify MDTS), bytes; 0 = unlimited. A
   * finite default bounds the staging one hostile command can pin (NLB alone would
   * allow 256 MiB) while leaving 1 MiB host I/O unsplit.
   */
  maxDataTransferSize?: number;
  logger?: Logger;
}

export interface ResolvedTcpOptions {
  maxH2CData: number;
  c2hChunk: number;
  maxR2TPerCommand: number;
  cpda: number;
  txHighWater: number;
  closeTimeoutMs: number;
  maxDataTransferSize: number;
  logger: Logger;
}

/** NVME_TCP_ADMIN_CCSZ: in-capsule data a host may put in admin queue commands. */
export const ADMIN_INLINE_DATA_SIZE = 8192;
/** Linux NVMET_TCP_DEF_INLINE_DATA_SIZE, used when a port says -1. */
export const DEFAULT_INLINE_DATA_SIZE = 16384;
/** Default MDTS of TCP controllers: 2 MiB. */
export const DEFAULT_MAX_DATA_TRANSFER = 2 << 20;
/** Spec minimum for MAXH2CDATA. */
export const MIN_MAXH2CDATA = 4096;

const noop = (): void => {};
const quiet: Logger = { debug: noop, info: noop, warn: noop, error: (m) => console.error(`nvmet-tcp: ${m}`) };

export function resolveTcpOptions(o: TcpTransportOptions = {}): ResolvedTcpOptions {
  const maxH2CData = Math.max(MIN_MAXH2CDATA, o.maxH2CData ?? 1 << 20);
  return {
    maxH2CData,
    c2hChunk: Math.max(4096, o.c2hChunk ?? 128 * 1024),
    maxR2TPerCommand: Math.max(1, o.maxR2TPerCommand ?? 16),
    cpda: Math.min(31, Math.max(0, o.cpda ?? 0)),
    txHighWater: o.txHighWater ?? 16 << 20,
    closeTimeoutMs: o.closeTimeoutMs ?? 2000,
    maxDataTransferSize: Math.max(0, o.maxDataTransferSize ?? DEFAULT_MAX_DATA_TRANSFER),
    logger: o.logger ?? quiet,
  };
}
