/**
 * `discover()`: connect to a discovery controller (the well-known discovery NQN),
 * read the whole Discovery Log Page (0x70) consistently, and disconnect — what
 * `nvme discover -t tcp` does.
 */
import { DISCOVERY_NQN } from '../src/nvme/fabrics.js';
import { Controller } from './controller.js';
import { TransportError } from './errors.js';
import { decodeDiscoveryLog, DISC_LOG_HEADER_SIZE, DISC_LOG_ENTRY_SIZE } from '../src/nvme/discovery-log.js';
import type { DiscoveryLog } from '../src/nvme/discovery-log.js';
import { LogId } from '../src/nvme/log-pages.js';
import type { TransportOptions } from './options.js';

export interface DiscoverOptions extends TransportOptions {
  hostnqn?: string;
  hostid?: string;
  /** Subsystem NQN of the discovery controller (default the well-known discovery NQN). */
  subnqn?: string;
  /** Keep Alive Timeout for the discovery association, ms (default 0). */
  kato?: number;
  /** NVMe/TCP TLS PSK (interchange form), as for `connect`. */
  tlsKey?: string;
  tlsIdentityVersion?: 0 | 1;
}

/** Read the Discovery Log Page from an already-connected discovery controller. */
export async function readDiscoveryLog(ctrl: Controller): Promise<DiscoveryLog> {
  // genctr can move while we read: re-read until the header is stable, like the Linux host (bounded).
  for (let attempt = 0; attempt < 10; attempt++) {
    const head = decodeDiscoveryLog(await ctrl.getLogPage(LogId.Discovery, DISC_LOG_HEADER_SIZE));
    const len = DISC_LOG_HEADER_SIZE + head.numrec * DISC_LOG_ENTRY_SIZE;
    const full = head.numrec === 0 ? head : decodeDiscoveryLog(await ctrl.getLogPage(LogId.Discovery, len));
    const again = decodeDiscoveryLog(await ctrl.getLogPage(LogId.Discovery, DISC_LOG_HEADER_SIZE));
    if (again.genctr === full.genctr && full.numrec === head.numrec) return full;
  }
  throw new TransportError('protocol', 'discovery log kept changing (GENCTR) across 10 reads');
}

/** Connect to a discovery controller, return its log, and disconnect. */
export async function discover(opts: DiscoverOptions): Promise<DiscoveryLog> {
  const c = await Controller.connect({ ...opts, subnqn: opts.subnqn ?? DISCOVERY_NQN, kato: opts.kato ?? 0, queues: 0 });
  try {
    return await readDiscoveryLog(c);
  } finally {
    await c.close();
  }
}
