export { TcpTransport } from './transport.js';
export type { TcpTransportOptions } from './options.js';
export { ADMIN_INLINE_DATA_SIZE, DEFAULT_INLINE_DATA_SIZE } from './options.js';
