/** What every route module gets: the service and the API's own settings. */

import type { NvmetService } from '../service.js';
import type { NvmetMetrics } from './metrics.js';

export interface ApiContext {
  readonly svc: NvmetService;
  /** Absolute directory file-backed namespaces created over the API must live in. */
  readonly dataDir: string;
  readonly metrics: NvmetMetrics;
  /** Package version for /api/status. */
  readonly version: string;
}
