/**
 * What one configuration object says about the others: the references and
 * uniqueness rules of the cross-reference pass, and their messages. Shared by the
 * whole-document parser (parse.ts) and the per-change checks of the management API
 * (store.ts), so both refuse the same things in the same words.
 */
import { showValue } from './issues.js';
import type { PortConfig } from './types.js';

/** Transports whose ports listen on an IP address and TCP/RDMA port. */
export const IP_TRANSPORTS: ReadonlySet<string> = new Set(['tcp', 'rdma']);

/** The address a port binds ("tcp 127.0.0.1 4420"); undefined when it binds none or an ephemeral one. */
export function listenKey(p: PortConfig): string | undefined {
  const a = p.addr;
  if (!a.trtype || !IP_TRANSPORTS.has(a.trtype) || !a.trsvcid || a.trsvcid === '0') return undefined;
  return `${a.trtype} ${a.traddr ?? ''} ${a.trsvcid}`;
}

export const duplicateHostNqn = (j: number): string => `duplicate host NQN (also hosts[${j}])`;
export const duplicateSubsystemNqn = (j: number): string => `duplicate subsystem NQN (also subsystems[${j}])`;
export const duplicatePortid = (portid: number, j: number): string => `duplicate portid ${portid} (also ports[${j}])`;
export const hostNotDefined = (nqn: string): string => `host ${showValue(nqn, 80)} is not defined in hosts`;
export const subsystemNotDefined = (nqn: string): string => `subsystem ${showValue(nqn, 80)} is not defined in subsystems`;
/** Two ports cannot listen on the same transport address (the second bind fails). */
export const listenClash = (j: number, key: string): string => `listens on the same address as ports[${j}] (${key})`;
