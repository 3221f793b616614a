/** The p2pmem data path: placement, port p2pmem binding, per-I/O staging, SSD model, DMA accounting. */
export { P2pDataPath } from './data-path.js';
export type {
  P2pDataPathOptions, PortPlacementOptions, NamespacePlacementOptions, PortP2pState, NamespaceP2pState,
  ProviderP2pState, DataPathState, DataPathServiceHooks,
} from './data-path.js';
export { P2pStagingAllocator, StagedBuffer } from './staging.js';
export type { ProviderCounters } from './staging.js';
export { PortBinding, summarizeFind } from './port-binding.js';
export type { NamespaceDecision } from './port-binding.js';
export { DeviceBackend, MEDIA_CHUNK } from './device-backend.js';
export type { MediaDmaContext, DeviceMediaSpec } from './device-backend.js';
export { DramPool, DramChunk } from './dram-pool.js';
export { checkP2pmemSetting, resolveEndpoint } from './placement.js';
export type { NamespacePlacement, P2pmemSetting } from './placement.js';
