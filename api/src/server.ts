import type { Server } from 'node:http';
import { loadConfig, type Config } from '../../common/config.js';
import { createKnex } from '../../common/db.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { OrthancClient } from '../../common/orthanc.js';
import type { Knex } from 'knex';
import { createMetrics, startMetricsServer, timeQueries } from '../../common/metrics.js';
import { DbListener } from '../../common/listener.js';
import { PrincipalCache } from '../../common/principal-cache.js';
import { createApp } from './app.js';
import { serviceServer } from '../../common/http/keep-alive.js';
import { createPasswords } from '../../common/passwords.js';
import type { Deps } from './deps.js';
import type { Lifecycle } from './health/routes.js';
import { startScheduler } from './workers/scheduler.js';
import { guardKeys } from '../../common/key-registry.js';

/** The API's series, with the values read from the database when Prometheus scrapes. */
export function apiMetrics(db: Knex) {
  const count = async (query: Knex.QueryBuilder) => Number(((await query.count({ n: '*' })) as [{ n: string }])[0].n);
  return createMetrics('api', {
    viewerSessionsOpen: () => count(db('viewer_sessions').whereNull('revoked_at').where('expires_at', '>', db.fn.now())),
    emailOutboxBacklog: () => count(db('email_outbox').where('status', 'pending')),
  });
}

/** A running API server and the function that stops it gracefully. */
export interface RunningApi {
  server: Server;
  url: string;
  deps: Deps;
  stop: () => Promise<void>;
}

/** Starts the API on the configured (or given) port; `stop` drains requests, then closes the pool. */
export async function startApi(config: Config, options: { port?: number; logger?: Logger } = {}): Promise<RunningApi> {
  const logger = options.logger ?? createLogger(config.logLevel, 'api');
  const db = createKnex(config, {}, logger);
  // Keys that cannot open this database's clinical text: refuse to serve rather than answer every read 500.
  let keys;
  try {
    keys = await guardKeys(db, config.encryption.keys, logger);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const metrics = apiMetrics(db);
  const orthanc = new OrthancClient(config.orthanc);
  orthanc.observe = (operation, seconds, outcome) => metrics.orthancDuration.observe({ operation, outcome }, seconds);
  timeQueries(db, metrics);
  const listener = new DbListener(config, logger, 'api');
  const principals = new PrincipalCache(db, listener, config.auth.principalCacheSeconds * 1000);
  principals.onLookup = (result) => metrics.cacheLookups.inc({ cache: 'principal', result });
  await listener.start();
  const deps: Deps = { config, db, logger, passwords: createPasswords(config.auth.bcryptRounds), orthanc, metrics, principals };
  const lifecycle: Lifecycle = { shuttingDown: false, keys };
  const app = createApp(deps, lifecycle);
  const scheduler = config.scheduler.enabled ? startScheduler(deps) : null;
  // Orthanc's modality list follows the registry; Orthanc down now is fine: each change pushes again.
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serviceServer(app.callback()).listen(options.port ?? config.api.port, config.api.host, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.api.port;
  const url = `http://${config.api.host}:${port}`;
  logger.info({ url }, 'api listening');
  const metricsServer = config.metrics.apiPort
    ? await startMetricsServer(metrics, { host: config.metrics.host, port: config.metrics.apiPort, allow: config.metrics.allow, logger })
    : null;
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      lifecycle.shuttingDown = true;
      keys.stop();
      await scheduler?.stop();
      await metricsServer?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open forever.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      // A client that hung up leaves its request running: let it finish rather than fail on a closed pool.
      for (let waited = 0; (lifecycle.inFlight ?? 0) > 0 && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      await listener.stop();
      await db.destroy();
      logger.info('api stopped');
    })());
  return { server, url, deps, stop };
}

/** Entry point when run as a process: config from the environment, SIGTERM/SIGINT stop gracefully. */
export async function main(): Promise<void> {
  // A stray promise rejection is a bug to log, not a reason to drop every request in flight.
  process.on('unhandledRejection', (err) => console.error('unhandled rejection:', err instanceof Error ? err.message : err));
  const config = loadConfig();
  const api = await startApi(config);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      api.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
