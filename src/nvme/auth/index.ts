/** DH-HMAC-CHAP (NVMe in-band authentication): identifiers, secrets, computations, messages, sessions. */
export * from './ids.js';
export * from './secret.js';
export * from './dhchap.js';
export * from './messages.js';
export * from './controller-session.js';
export * from './host-session.js';
