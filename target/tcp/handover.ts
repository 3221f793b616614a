/**
 * Handing an accepted connection to another event loop (target/reactor): the
 * transport offers each new non-TLS connection before it builds a queue for it; a
 * taker that accepts owns the connection from then on (and closes the offered socket).
 */

import type { Socket } from 'node:net';
import type { CoreQueueFactory, PortLimits } from '../core/fabrics-ops.js';

export interface HandoverPort {
  readonly portId: number;
  readonly inlineDataSize: number;
  readonly limits: PortLimits;
}

export interface ConnectionHandover {
  /**
   * Take `accepted` (paused, nothing read yet)? false: the transport serves it itself.
   * When taken, `gone` is called once the connection has closed (the port's
   * max_connections counts it until then).
   */
  take(accepted: Socket, port: HandoverPort, core: CoreQueueFactory, gone: () => void): boolean;
  /** The port is being removed: drop the connections taken from it. */
  dropPort(portId: number): void;
}
