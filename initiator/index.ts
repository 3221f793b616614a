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
export { HostController } from './host-controller.js';
export type { ControllerOptions, TransportDefaults } from './host-controller.js';
export type { FabricsQueue, QueueCommand, QueueCompletion } from './fabrics-queue.js';
export { HostQueue } from './host-queue.js';
export type { Completion, HostCommand, IcParams, QueueTransportOptions, CompletionCallback, QueueStats } from './host-queue.js';
export { NvmeError, TransportError, TimeoutError } from './errors.js';
export { AuthenticationError } from './authenticate.js';
export type { TransportErrorKind, CompletionInfo } from './errors.js';
export { discover, readDiscoveryLog } from './discover.js';
export type { DiscoverOptions } from './discover.js';
export { decodeDiscoveryLog } from '../src/nvme/discovery-log.js';
export type { DiscoveryLog, DiscoveryLogEntry } from '../src/nvme/discovery-log.js';
export type { SmartLog, ErrorLogEntry } from '../src/nvme/log-pages.js';
export type { IdentifyController } from '../src/nvme/identify-ctrl.js';
export type { IdentifyNamespace } from '../src/nvme/identify-ns.js';
export type { NsIdDescriptor } from '../src/nvme/identify-lists.js';
export { RawConnection } from './raw-connection.js';
export type { RawConnectOptions } from './raw-connection.js';
export { runPerf, parseSize } from './perf.js';
export type { PerfOptions, PerfResult, LatencySummaryUs } from './perf.js';
export { LatencyHistogram } from './latency.js';
export { AerType, AerNotice } from '../src/nvme/async-event.js';
export type { ConnectOptions, TransportOptions, AsyncEvent, AsyncEventHandler } from './options.js';
export { FeatureId } from '../src/nvme/features.js';
export { LogId } from '../src/nvme/log-pages.js';
export { NvmeStatus, formatStatus } from '../src/nvme/status.js';

/** Connect to an NVMe/TCP subsystem and bring its controller up (see Controller.connect). */
export function connect(opts: ConnectOptions): Promise<Controller> {
  return Controller.connect(opts);
}
