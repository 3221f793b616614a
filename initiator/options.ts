/**
 * Options of `connect()` / `discover()` and the defaults a Linux host would use.
 */
import type { QueueTransportOptions } from './host-queue.js';

/** Called for every Asynchronous Event the controller reports. */
export type AsyncEventHandler = (ev: AsyncEvent) => void;

/** A decoded Asynchronous Event Request completion (dword 0). */
export interface AsyncEvent {
  /** Asynchronous Event Type (bits 2:0): 0 error, 1 SMART/health, 2 notice, 6 I/O command set, 7 vendor. */
  type: number;
  /** Asynchronous Event Information (bits 15:8), e.g. 0 = Namespace Attribute Changed for notices. */
  info: number;
  /** Log page to read to clear the event (bits 23:16). */
  logPage: number;
  /** Raw completion dword 0. */
  dw0: number;
  /**
   * For Namespace Attribute Changed notices: the Changed Namespace List, read by
   * the initiator right away (which also re-arms the event, RAE=0). Otherwise undefined.
   */
  changedNamespaces?: number[];
}

/** The NVMe/TCP connection parameters, applied to every queue (admin and I/O) alike. */
export type TransportOptions = QueueTransportOptions;

export interface ConnectOptions extends TransportOptions {
  /** NQN of the subsystem to connect to. */
  subnqn: string;
  /** Host NQN (default: a UUID-based NQN derived from hostid). */
  hostnqn?: string;
  /** Host identifier as a UUID string (default: random per process). */
  hostid?: string;
  /** Keep Alive Timeout sent in Connect, ms (default 5000 for I/O controllers, 0 for discovery; 0 disables). */
  kato?: number;
  /** Keep-alive send period, ms (default kato / 2). */
  keepAliveIntervalMs?: number;
  /** Number of I/O queues, each its own TCP connection (default 1; 0 = admin only). */
  queues?: number;
  /** Commands outstanding per I/O queue (Connect SQSIZE; default 128, capped by CAP.MQES). */
  queueDepth?: number;
  /** Ask the controller to disable SQ flow control (Connect CATTR bit 2): C2HData may then carry SUCCESS. */
  disableSqFlow?: boolean;
  /** Request a specific controller id (static controller model); default 0xFFFF (dynamic). */
  cntlid?: number;
  /** Skip CC.EN=1 / CSTS.RDY (tests of a disabled controller). Default false. */
  skipEnable?: boolean;
  /** Skip Identify Controller at connect (tests). Default false. */
  skipIdentify?: boolean;
  /** Asynchronous Event handler; when set, an AER is kept outstanding. */
  onAsyncEvent?: AsyncEventHandler;
  /** Called once if the controller association dies (admin queue lost, keep-alive failed). */
  onFatal?: (err: Error) => void;
  /** Wait for CSTS.RDY / SHST, ms (default: from CAP.TO, at most 15000). */
  readyTimeoutMs?: number;
  /**
   * NVMe/TCP TLS 1.3: the host's configured PSK in the interchange form
   * (`NVMeTLSkey-1:01:<base64>:`, nvme connect --tls --tls-key); every queue runs TLS.
   */
  tlsKey?: string;
  /** PSK identity version presented: 0 "NVMe0R01 <hostnqn> <subnqn>" (default) or 1 (with the PSK digest). */
  tlsIdentityVersion?: 0 | 1;
  /** DH-HMAC-CHAP host secret, `DHHC-1:NN:<base64>:` (nvme connect --dhchap-secret). */
  dhchapSecret?: string;
  /** Controller secret for bidirectional authentication (nvme connect --dhchap-ctrl-secret). */
  dhchapCtrlSecret?: string;
  /** Hash ids offered in AUTH_Negotiate (default SHA-256, SHA-384, SHA-512). */
  dhchapHashIds?: readonly number[];
  /** DH group ids offered (default null and ffdhe2048..8192). */
  dhchapDhGroupIds?: readonly number[];
}

export const DEFAULT_KATO_MS = 5000;
export const DEFAULT_QUEUE_DEPTH = 128;
/** Admin SQ entries (Linux NVME_AQ_DEPTH). */
export const ADMIN_QUEUE_ENTRIES = 32;
/** In-capsule data on the admin queue (Linux NVME_TCP_ADMIN_CCSZ). */
export const ADMIN_INCAPSULE_MAX = 8192;
