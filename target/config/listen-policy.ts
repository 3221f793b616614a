/**
 * Where ports may listen. The start-up configuration is the operator's own and
 * may listen anywhere; a port created or moved later (through the management
 * API) may only listen on loopback, on an address the start-up configuration
 * already uses, or on one the operator allowed with `--allow-listen ADDR`
 * ("*" for any) — so an API client cannot open the target to a network the
 * operator did not choose.
 */

import { isIP } from 'node:net';

/** 127.0.0.0/8, ::1, ::ffff:127.x and "localhost". */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const h = host.replace(/^\[|\]$/g, '');
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

export class ListenPolicy {
  private readonly allowed: ReadonlySet<string>;
  private readonly any: boolean;
  private readonly startup = new Set<string>();

  constructor(allowListen: readonly string[] = []) {
    this.any = allowListen.includes('*');
    this.allowed = new Set(allowListen.map((a) => a.replace(/^\[|\]$/g, '')));
  }

  /** An address of the start-up configuration (operator's own). */
  addStartup(traddr: string): void {
    this.startup.add(traddr);
  }

  allows(traddr: string): boolean {
    return this.any || isLoopback(traddr) || this.allowed.has(traddr) || this.startup.has(traddr);
  }
}
