/** Copy engine and DMA accounting: the public surface of src/copy. */

export { DRAM, memoryRegion, subRegion, regionView, isShared, memorySize } from './region.js';
export type { MemoryOwner, DmaMemory, MemoryRegion } from './region.js';
export type { DmaDescriptor } from './descriptor.js';
export { DmaError } from './errors.js';
export type { DmaErrorCode } from './errors.js';
export { topologyRouter, UnknownOwnerError } from './route.js';
export type { Router, Route, Hop, Direction } from './route.js';
export { RouteTable } from './route-table.js';
export type { CompiledRoute } from './route-table.js';
export { projectFlow } from './link-model.js';
export type { LinkModelOptions, FlowTransfer, FlowLinkLoad, FlowProjection } from './link-model.js';
export { LinkAccounting } from './link-accounting.js';
export type { DmaAccounting, DmaCounters, LinkBytes } from './link-accounting.js';
export { LinkPacer } from './link-pacer.js';
export type { DmaPacer } from './link-pacer.js';
export { DmaEngine, DEFAULT_INLINE_THRESHOLD, defaultInlineThreshold } from './dma-engine.js';
export type { DmaEngineOptions, DmaEngineStats, DmaCloseOptions } from './dma-engine.js';
