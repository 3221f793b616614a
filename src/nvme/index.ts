/**
 * Barrel for the NVMe structure codecs. Prefer importing the specific module
 * (e.g. `src/nvme/sqe.js`) so dependencies stay visible; this exists for the
 * initiator's public API and quick scripts.
 */
export * from './opcodes.js';
export * from './status.js';
export * from './sqe.js';
export * from './cqe.js';
export * from './sgl.js';
export * from './registers.js';
export * from './fabrics.js';
export * from './identify.js';
export * from './identify-ctrl.js';
export * from './identify-ns.js';
export * from './identify-lists.js';
export * from './log-pages.js';
export * from './features.js';
export * from './async-event.js';
export * from './dsm.js';
export * from './ana.js';
export * from './reservations.js';
