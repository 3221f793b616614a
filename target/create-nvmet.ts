/**
 * The assembler of the target: the core (./core) with the command handlers
 * above it (./cmd) and the fault engine (./fault) on its hook. The core imports
 * neither; it gets the dispatcher and the hook here. Everything that runs a
 * target builds its Nvmet through this function.
 */

import { Nvmet, type NvmetOptions } from './core/nvmet.js';
import { parseCommand } from './cmd/dispatch.js';
import { installFaultEngine } from './fault/index.js';

export function createNvmet(opts: Omit<NvmetOptions, 'parseCommand'> = {}): Nvmet {
  const nvmet = new Nvmet({ ...opts, parseCommand });
  installFaultEngine(nvmet);
  return nvmet;
}
