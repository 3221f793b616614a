/**
 * Public API of the target core. Transports code against `fabrics-ops.ts`;
 * the CLI, config loader and management API against the classes below.
 */
export { Nvmet } from './nvmet.js';
export type { NvmetOptions, EnableHooks } from './nvmet.js';
export { Subsystem, checkNqn, DISCOVERY_NQN } from './subsystem.js';
export type { SubsystemOptions, SubsystemType } from './subsystem.js';
export { Namespace } from './namespace.js';
export type { NamespaceOptions, NamespaceState, NamespaceStats } from './namespace.js';
export { Port } from './port.js';
export type { PortOptions, PortAddress, PortState, Referral, ReferralOptions } from './port.js';
export { Controller } from './controller.js';
export type { ControllerState } from './controller.js';
export { SystemStagingAllocator } from './staging.js';
export type { StagingAllocator, StagingBuffer, StagingContext } from './staging.js';
export { defaultLogger, silentLogger } from './log.js';
export type { Logger } from './log.js';
export { TrType, DataDir } from './fabrics-ops.js';
export type { FabricsOps, TransportQueue, TransportRequest, CoreQueue, CoreQueueFactory, PortInfo } from './fabrics-ops.js';
export type { NamespaceBackend, BackendSpec } from '../backend/backend.js';
export { RamBackend } from '../backend/ram.js';
export { FileBackend } from '../backend/file.js';
export { ioOpName } from './io-observer.js';
export type { IoObserver, IoOp } from './io-observer.js';
