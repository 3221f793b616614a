/** Simulated NVMe/RDMA: the in-process fabric and the target transport. */
export { RdmaFabric, ProtectionDomain, QpEndpoint, defaultRdmaFabric } from '../../src/rdma/fabric.js';
export type { MemoryRegistration, RemoteRange, RdmaListener } from '../../src/rdma/fabric.js';
export { RdmaTransport, RDMA_DEFAULT_INLINE_DATA_SIZE, RDMA_MAX_TRANSFER } from './transport.js';
export type { RdmaTransportOptions } from './transport.js';
export { RdmaQueue, plainMover } from './queue.js';
export type { RdmaDataMover, RdmaPortRef } from './queue.js';
