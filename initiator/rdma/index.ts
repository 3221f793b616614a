/** NVMe over the simulated RDMA fabric: host side. */
export { RdmaController } from './controller.js';
export type { RdmaConnectOptions, RdmaIoOptions, RdmaNamespaceGeometry } from './controller.js';
export { RdmaHostQueue, registerView } from './queue.js';
export type { RdmaCompletion, RdmaHostCommand, RdmaQueueOptions } from './queue.js';
export { RdmaFabric, defaultRdmaFabric } from '../../src/rdma/fabric.js';
