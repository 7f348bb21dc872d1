import type { Server } from 'node:http';
import { loadConfig, type Config } from '../../common/config.js';
import { createKnex } from '../../common/db.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { OrthancClient } from '../../common/orthanc.js';
import { createProxyApp } from './app.js';
import { serviceServer } from '../../common/http/keep-alive.js';
import { ImageAudit } from './audit.js';
import { AccessCache } from './cache.js';
import { FrameCache } from './frame-cache.js';
import { createMetrics, startMetricsServer, timeQueries } from '../../common/metrics.js';
import { DbListener } from '../../common/listener.js';
import { PrincipalCache } from '../../common/principal-cache.js';
import { isMain, runService } from '../../common/service-main.js';

/** A running proxy and the function that stops it. */
export interface RunningProxy {
  server: Server;
  url: string;
  /** The proxy's principal cache (its state is observable: tests cut its listener). */
  principals: PrincipalCache;
  /** The proxy's frame cache (tests read its state). */
  frames: FrameCache;
  stop: () => Promise<void>;
}

/** Starts the authorizing DICOMweb proxy. */
export async function startProxy(config: Config, options: { port?: number; logger?: Logger } = {}): Promise<RunningProxy> {
  const logger = options.logger ?? createLogger(config.logLevel, 'dicom-proxy');
  const db = createKnex(config, { pool: { min: 0, max: Math.max(2, Math.floor(config.db.poolMax / 2)) } }, logger);
  // One listening connection for the caches: study access (links), frames (study content) and principals (sessions,
  // accounts, hospitals).
  const listener = new DbListener(config, logger, 'dicom-proxy');
  const frames = new FrameCache(config.proxy.frameCache.maxBytes, config.proxy.frameCache.ttlSeconds * 1000, listener);
  const metrics = createMetrics('dicom-proxy', {
    frameCacheBytes: async () => frames.stats.bytes,
    frameCacheEntries: async () => frames.stats.entries,
  });
  const orthanc = new OrthancClient(config.orthanc);
  orthanc.observe = (operation, seconds, outcome) => metrics.orthancDuration.observe({ operation, outcome }, seconds);
  timeQueries(db, metrics);
  const access = new AccessCache(db, listener);
  access.onLookup = (result) => metrics.cacheLookups.inc({ cache: 'study_access', result });
  frames.onLookup = (result) => metrics.cacheLookups.inc({ cache: 'frames', result });
  const principals = new PrincipalCache(db, listener, config.auth.principalCacheSeconds * 1000);
  principals.onLookup = (result) => metrics.cacheLookups.inc({ cache: 'principal', result });
  await listener.start();
  let stopping = false;
  const app = createProxyApp(
    { config, db, orthanc, access, frames, principals, audit: new ImageAudit(db), logger, metrics },
    {
      ready: async () => ({
        process: stopping ? 'stopping' : 'ok',
        database: await db.raw('select 1').then(
          () => 'ok',
          () => 'unavailable',
        ),
        orthanc: await orthanc.system().then(
          () => 'ok',
          () => 'unavailable',
        ),
      }),
    },
  );
  const server = serviceServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.proxy.port, config.proxy.host, () => resolve());
  });
  const address = server.address();
  const url = `http://${config.proxy.host}:${typeof address === 'object' && address ? address.port : config.proxy.port}`;
  logger.info({ url }, 'dicom-proxy listening');
  const metricsServer = config.metrics.proxyPort
    ? await startMetricsServer(metrics, { host: config.metrics.host, port: config.metrics.proxyPort, allow: config.metrics.allow, logger })
    : null;
  return {
    server,
    url,
    principals,
    frames,
    stop: async () => {
      stopping = true;
      await metricsServer?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await listener.stop();
      await db.destroy();
    },
  };
}

if (isMain(import.meta.url)) runService(() => startProxy(loadConfig()));
