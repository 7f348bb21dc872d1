import type { Knex } from 'knex';
import type { Config } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import type { OrthancClient } from '../../common/orthanc.js';
import type { Passwords } from '../../common/passwords.js';
import type { ServiceMetrics } from '../../common/metrics.js';
import type { PrincipalCache } from '../../common/principal-cache.js';

/** What every resource module is built from; created once per process in server.ts (or per test app). */
export interface Deps {
  config: Config;
  db: Knex;
  logger: Logger;
  passwords: Passwords;
  orthanc: OrthancClient;
  /** The process's Prometheus series (served on METRICS_PORT when set). */
  metrics: ServiceMetrics;
  /** Checked principals by login session, kept exact by LISTEN/NOTIFY. */
  principals: PrincipalCache;
}
