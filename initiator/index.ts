/**
 * nvmet-ts initiator: a TypeScript NVMe/TCP host.
 *
 *   const ctrl = await connect({ host: '127.0.0.1', port, subnqn, queues: 2, queueDepth: 64 });
 *   const data = await ctrl.read(1, 0, 8);
 *   await ctrl.close();
 */
import { Controller } from './controller.js';
import type { ConnectOptions } from './options.js';

export { Controller } from './controller.js';
export type {
  SubmitOptions,
  RawCompletion,
  IoOptions,
  LogPageOptions,
  GetFeaturesOptions,
  SetFeaturesOptions,
  DsmRange,
  NamespaceGeometry,
} from './controller.js';
export { HostQueue } from './host-queue.js';
export type { Completion, HostCommand, IcParams, QueueTransportOptions, CompletionCallback } from './host-queue.js';
export { NvmeError, TransportError, TimeoutError } from './errors.js';
export type { TransportErrorKind, CompletionInfo } from './errors.js';
export { discover, readDiscoveryLog } from './discover.js';
export type { DiscoverOptions } from './discover.js';
export { decodeDiscoveryLog } from './discovery-log.js';
export type { DiscoveryLog, DiscoveryLogEntry } from './discovery-log.js';
export { RawConnection } from './raw-connection.js';
export type { RawConnectOptions } from './raw-connection.js';
export { runPerf, parseSize } from './perf.js';
export type { PerfOptions, PerfResult, LatencySummaryUs } from './perf.js';
export { LatencyHistogram } from './latency.js';
export { AsyncEventType, AsyncNoticeInfo } from './options.js';
export type { ConnectOptions, TransportOptions, AsyncEvent, AsyncEventHandler } from './options.js';
export { FeatureId, LogPageId } from './ids.js';

/** Connect to an NVMe/TCP subsystem and bring its controller up (see Controller.connect). */
export function connect(opts: ConnectOptions): Promise<Controller> {
  return Controller.connect(opts);
}
