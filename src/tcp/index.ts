/** NVMe/TCP PDU codec: constants, per-type encoders/decoders, digests, validation, framer. */
export * from './constants.js';
export * from './digest.js';
export * from './header.js';
export * from './ic.js';
export * from './term.js';
export * from './capsule.js';
export * from './data.js';
export * from './validate.js';
export * from './framer.js';
export * from './rx-placement.js';
