/**
 * Tunables of the NVMe/TCP transport (Linux nvmet-tcp module parameters and
 * defines, where it has them).
 */

import { defaultLogger, type Logger } from '../core/log.js';
import type { PortLimits } from '../core/fabrics-ops.js';

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
  /** Defaults of the per-port limits (a port's `param` overrides them). */
  limits?: PortLimits;
  /** Staging bytes all connections together may hold before commands wait (see StagingBudget). */
  stagingBudget?: number;
  /** Room beyond the budget a queue with nothing staged may use for one command. */
  stagingReserve?: number;
  /** Of the budget, bytes that may sit in buffers waiting for R2T'd write data. */
  r2tBudget?: number;
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
  limits: TcpPortLimits;
  stagingBudget: number;
  stagingReserve: number;
  r2tBudget: number;
  logger: Logger;
}

/** Limits and timeouts of one port, all set (PortLimits resolved against the transport's defaults). */
export type TcpPortLimits = { readonly [K in keyof PortLimits]-?: number };

/**
 * Defaults a real host never trips: the kernel host sends ICReq right after
 * connecting and Connect right after ICResp, and never leaves a PDU half sent
 * for seconds; a connection per queue per controller stays far below 1024.
 */
export const DEFAULT_PORT_LIMITS: TcpPortLimits = {
  icreqTimeoutMs: 10_000,
  connectTimeoutMs: 30_000,
  pduTimeoutMs: 30_000,
  maxConnections: 1024,
  queueDataLimit: 8 << 20,
  queueR2tLimit: 8 << 20,
};

/** Default staging budget across all connections, its reserve and its R2T share. */
export const DEFAULT_STAGING_BUDGET = 256 << 20;
export const DEFAULT_STAGING_RESERVE = 64 << 20;
export const DEFAULT_R2T_BUDGET = 128 << 20;

/** `over` on top of `base`, ignoring unset and invalid (negative, non-integer) values. */
export function mergeLimits(base: TcpPortLimits, over: PortLimits | undefined): TcpPortLimits {
  if (over === undefined) return base;
  const r = { ...base } as { -readonly [K in keyof TcpPortLimits]: number };
  for (const k of Object.keys(base) as Array<keyof TcpPortLimits>) {
    const v = over[k];
    if (v !== undefined && Number.isSafeInteger(v) && v >= 0) r[k] = v;
  }
  return r;
}

/** NVME_TCP_ADMIN_CCSZ: in-capsule data a host may put in admin queue commands. */
export const ADMIN_INLINE_DATA_SIZE = 8192;
/** Linux NVMET_TCP_DEF_INLINE_DATA_SIZE, used when a port says -1. */
export const DEFAULT_INLINE_DATA_SIZE = 16384;
/** Default MDTS of TCP controllers: 2 MiB. */
export const DEFAULT_MAX_DATA_TRANSFER = 2 << 20;
/** Spec minimum for MAXH2CDATA. */
export const MIN_MAXH2CDATA = 4096;


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
    limits: mergeLimits(DEFAULT_PORT_LIMITS, o.limits),
    stagingBudget: Math.max(0, o.stagingBudget ?? DEFAULT_STAGING_BUDGET),
    stagingReserve: Math.max(0, o.stagingReserve ?? DEFAULT_STAGING_RESERVE),
    r2tBudget: Math.max(0, o.r2tBudget ?? DEFAULT_R2T_BUDGET),
    logger: o.logger ?? defaultLogger(),
  };
}
