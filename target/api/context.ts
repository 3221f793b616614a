/** What every route module gets: the service and the API's own settings. */

import type { NvmetService } from '../service/index.js';
import type { NvmetMetrics } from './metrics.js';

export interface ApiContext {
  readonly svc: NvmetService;
  readonly metrics: NvmetMetrics;
  /** Package version for /api/status. */
  readonly version: string;
}
