/**
 * Messages between the main thread (which owns the target core: subsystems,
 * controllers, namespaces, admin and fabrics commands) and a reactor thread (which
 * owns NVMe/TCP connections handed to it and runs their Read/Write commands against
 * shared media). Everything here is structured-clone safe.
 *
 * Per forwarded command: `cmd` (worker → main) → `resp` (main → worker) → `release`
 * (worker → main, once the response left or the connection died): the three points
 * of the TransportRequest contract, so the main-side request keeps its lifetime rules.
 */

import type { NicKind } from '../../src/pci/model.js';
import type { PortLimits } from '../core/fabrics-ops.js';
import type { SharedMediaHandle } from '../p2p/shared-media.js';
import type { DmaRecord } from '../../src/copy/dma-recorder.js';
import type { IoOp } from '../core/io-observer.js';

/** Most event loops --reactors accepts. */
export const MAX_REACTORS = 64;

/** What a reactor needs of a port to serve its connections. */
export interface ReactorPort {
  readonly portId: number;
  readonly inlineDataSize: number;
  readonly limits: PortLimits;
  /** The port's NIC in the DMA model (null: the wire side is not accounted). */
  readonly nic: string | null;
  readonly nicKind: NicKind | null;
}

/** The main-side queue state a reactor mirrors after each forwarded command. */
export interface QueueState {
  readonly qid: number;
  readonly size: number;
  readonly sqfc: boolean;
}

/** A namespace a reactor may run Read/Write on itself. */
export interface NsView {
  readonly nsid: number;
  /** Key of the namespace's stats on the main thread. */
  readonly key: number;
  /** log2 of the block size. */
  readonly shift: number;
  /** Namespace size in blocks. */
  readonly nsze: number;
  /** Who owns the media in the DMA model (SSD BDF or "dram"). */
  readonly owner: string;
  /** Media chunk size of the SSD model: one DMA per chunk an I/O touches. */
  readonly chunk: number;
  readonly media: SharedMediaHandle;
}

/**
 * A connection's controller as of state epoch `epoch` (target/core/state-epoch.ts):
 * valid for local execution only while the shared epoch still equals it.
 */
export interface ConnView {
  readonly epoch: number;
  /** The queue may run I/O locally (controller ready, queue authenticated or no auth). */
  readonly ok: boolean;
  /** MDTS in bytes (0 = none). */
  readonly mdts: number;
  readonly ns: readonly NsView[];
}

export type ToReactor =
  | { readonly t: 'conn'; readonly conn: number; readonly fd: number; readonly port: ReactorPort }
  | { readonly t: 'resp'; readonly conn: number; readonly slot: number; readonly cqe: Uint8Array; readonly status: number; readonly data: Uint8Array | null; readonly q: QueueState }
  | { readonly t: 'disconnect'; readonly conn: number; readonly reason: string }
  | { readonly t: 'view'; readonly conn: number; readonly view: ConnView }
  | { readonly t: 'flush'; readonly id: number }
  | { readonly t: 'stop' };

/** Per-namespace counters a reactor adds (commands and bytes, by NsView.key). */
export interface NsCounts {
  readonly key: number;
  readonly readCommands: number;
  readonly bytesRead: number;
  readonly writeCommands: number;
  readonly bytesWritten: number;
}

/** Latency samples of one I/O op (src/stats/latency-buckets.ts drained). */
export interface IoCounts {
  readonly op: IoOp;
  readonly commands: number;
  readonly bytes: number;
  readonly counts: Uint32Array | null;
  readonly slow: Float64Array;
}

export interface ReactorStats {
  readonly ns: readonly NsCounts[];
  readonly dma: readonly DmaRecord[];
  readonly io: readonly IoCounts[];
  /** Connections that ran a command locally since the last report (traffic-based keep-alive). */
  readonly traffic: readonly number[];
  /** Commands run locally / forwarded since the last report. */
  readonly local: number;
  readonly forwarded: number;
}

export type FromReactor =
  | { readonly t: 'ready' }
  | { readonly t: 'cmd'; readonly conn: number; readonly slot: number; readonly sqe: Uint8Array; readonly data: Uint8Array | null }
  | { readonly t: 'release'; readonly conn: number; readonly slot: number }
  | { readonly t: 'close'; readonly conn: number }
  | { readonly t: 'view'; readonly conn: number }
  | { readonly t: 'stats'; readonly stats: ReactorStats; readonly flush: number | null }
  | { readonly t: 'log'; readonly level: 'error' | 'warn' | 'info' | 'debug'; readonly msg: string };
