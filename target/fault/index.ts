/** Fault and latency injection: the engine of a target, created with it (../create-nvmet.ts). */

import type { Nvmet } from '../core/nvmet.js';
import { FaultEngine } from './engine.js';
import { envFaultRules } from './env.js';

export { FaultEngine, type FaultRuleState, type RuleSource } from './engine.js';
export { parseFaultRule, FaultRuleError, type FaultRuleSpec, type FaultAction, type FaultMatch, type FaultFire } from './rule.js';

/** Install the fault engine on `nvmet` (with the NVMET_TS_FAULT rules). */
export function installFaultEngine(nvmet: Nvmet): FaultEngine {
  const engine = new FaultEngine(nvmet.log, nvmet);
  engine.setExtraRules(envFaultRules);
  nvmet.faultHook = engine;
  return engine;
}

/** The fault engine of `nvmet` (installed by createNvmet; installed here for an Nvmet built otherwise). */
export function faultEngine(nvmet: Nvmet): FaultEngine {
  const h = nvmet.faultHook;
  return h instanceof FaultEngine ? h : installFaultEngine(nvmet);
}
