export { LoopTransport, LoopQueue, LoopDisconnectedError } from './loop-transport.js';
export type { LoopCompletion, LoopTransportOptions } from './loop-transport.js';
export { LoopController, submit, check, connectQueue, setDataSgl, SQE_FLAGS_SGL } from './host.js';
export type { ConnectOptions } from './host.js';
