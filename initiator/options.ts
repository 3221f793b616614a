/**
 * Options of `connect()` / `discover()` and the defaults a Linux host would use.
 */
import type { QueueTransportOptions } from './host-queue.js';
import type { ControllerOptions } from './host-controller.js';

export type { AsyncEvent, AsyncEventHandler, ControllerOptions } from './host-controller.js';

/** The NVMe/TCP connection parameters, applied to every queue (admin and I/O) alike. */
export type TransportOptions = QueueTransportOptions;

/** Connect options of an NVMe/TCP controller: the transport's parameters plus what every host controller takes. */
export interface ConnectOptions extends TransportOptions, ControllerOptions {
  /** Keep Alive Timeout sent in Connect, ms (default 5000 for I/O controllers, 0 for discovery; 0 disables). */
  kato?: number;
  /** Ask the controller to disable SQ flow control (Connect CATTR bit 2): C2HData may then carry SUCCESS. */
  disableSqFlow?: boolean;
  /**
   * NVMe/TCP TLS 1.3: the host's configured PSK in the interchange form
   * (`NVMeTLSkey-1:01:<base64>:`, nvme connect --tls --tls-key); every queue runs TLS.
   */
  tlsKey?: string;
  /** PSK identity version presented: 0 "NVMe0R01 <hostnqn> <subnqn>" (default) or 1 (with the PSK digest). */
  tlsIdentityVersion?: 0 | 1;
}

export const DEFAULT_KATO_MS = 5000;
export { DEFAULT_QUEUE_DEPTH, ADMIN_QUEUE_ENTRIES } from './host-controller.js';
/** In-capsule data on the admin queue (Linux NVME_TCP_ADMIN_CCSZ). */
export const ADMIN_INCAPSULE_MAX = 8192;
