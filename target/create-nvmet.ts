/**
 * The assembler of the target: the core (./core) with the command handlers
 * above it (./cmd). The core imports no handler; it gets the dispatcher here.
 * Everything that runs a target builds its Nvmet through this function.
 */

import { Nvmet, type NvmetOptions } from './core/nvmet.js';
import { parseCommand } from './cmd/dispatch.js';

export function createNvmet(opts: Omit<NvmetOptions, 'parseCommand'> = {}): Nvmet {
  return new Nvmet({ ...opts, parseCommand });
}
