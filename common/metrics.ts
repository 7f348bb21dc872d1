import http, { type Server } from 'node:http';
import { isIP } from 'node:net';
import type { Context, Next } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logger.js';

/** What the API and the DICOMweb proxy measure, in one Prometheus registry per process. */
export interface ServiceMetrics {
  registry: Registry;
  requests: Counter<'service' | 'route' | 'method' | 'status'>;
  duration: Histogram<'service' | 'route' | 'method' | 'status'>;
  denials: Counter<'service' | 'status'>;
  cacheLookups: Counter<'cache' | 'result'>;
  uploadBytes: Counter;
  uploadFailures: Counter<'code'>;
  uploadRefusedFiles: Counter<'code'>;
  orthancDuration: Histogram<'operation' | 'outcome'>;
  dbDuration: Histogram<'outcome'>;
  indexerLag: Gauge;
}

/** Values read when Prometheus scrapes (from the database): open viewer sessions, the e-mail backlog. */
export interface ScrapeCollectors {
  viewerSessionsOpen?: () => Promise<number>;
  emailOutboxBacklog?: () => Promise<number>;
  /** The proxy's frame cache: bytes and entries held. */
  frameCacheBytes?: () => Promise<number>;
  frameCacheEntries?: () => Promise<number>;
}

/** The registry and series of one service (`api` or `dicom-proxy`). */
export function createMetrics(service: 'api' | 'dicom-proxy' | 'dicom-gate', collectors: ScrapeCollectors = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'mediconnect_' });
  const registers = [registry];
  const metrics: ServiceMetrics = {
    registry,
    requests: new Counter({
      name: 'mediconnect_http_requests_total',
      help: 'HTTP requests answered, by route template and status',
      labelNames: ['service', 'route', 'method', 'status'],
      registers,
    }),
    duration: new Histogram({
      name: 'mediconnect_http_request_duration_seconds',
      help: 'HTTP request latency, by route template and status',
      labelNames: ['service', 'route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    denials: new Counter({
      name: 'mediconnect_authorization_denials_total',
      help: 'Requests refused for authentication (401) or authorization (403)',
      labelNames: ['service', 'status'],
      registers,
    }),
    cacheLookups: new Counter({
      name: 'mediconnect_cache_lookups_total',
      help: 'Cache lookups by cache and result (hit or miss)',
      labelNames: ['cache', 'result'],
      registers,
    }),
    uploadBytes: new Counter({ name: 'mediconnect_upload_bytes_total', help: 'Bytes received by DICOM uploads', registers }),
    uploadFailures: new Counter({
      name: 'mediconnect_upload_failures_total',
      help: 'DICOM uploads that failed as a whole, by error code',
      labelNames: ['code'],
      registers,
    }),
    uploadRefusedFiles: new Counter({
      name: 'mediconnect_upload_refused_files_total',
      help: 'Uploaded files refused, by code',
      labelNames: ['code'],
      registers,
    }),
    orthancDuration: new Histogram({
      name: 'mediconnect_orthanc_request_duration_seconds',
      help: 'Latency of requests to Orthanc, by operation and outcome (ok, error, unreachable)',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    dbDuration: new Histogram({
      name: 'mediconnect_db_query_duration_seconds',
      help: 'Latency of database queries, by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    indexerLag: new Gauge({
      name: 'mediconnect_indexer_lag_changes',
      help: 'Changes in Orthanc’s feed not yet indexed (last seen on a tick)',
      registers,
    }),
  };
  const scrape = (name: string, help: string, read?: () => Promise<number>) => {
    if (!read) return;
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set(await read().catch(() => Number.NaN));
      },
    });
  };
  scrape('mediconnect_viewer_sessions_open', 'Live viewer sessions (not ended, not expired)', collectors.viewerSessionsOpen);
  scrape('mediconnect_email_outbox_backlog', 'E-mails waiting in the outbox (pending or to be retried)', collectors.emailOutboxBacklog);
  scrape('mediconnect_frame_cache_bytes', 'Bytes of frames, renderings and thumbnails the proxy holds', collectors.frameCacheBytes);
  scrape('mediconnect_frame_cache_entries', 'Answers the proxy’s frame cache holds', collectors.frameCacheEntries);
  return metrics;
}

/**
 * Counts and times every request by its route template (never the raw path: ids would explode the
 * series), and counts 401/403 answers as denials. `routeOf` names the template once the request is done.
 */
export function httpMetrics(metrics: ServiceMetrics, service: 'api' | 'dicom-proxy', routeOf: (ctx: Context) => string) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const end = metrics.duration.startTimer();
    try {
      await next();
    } finally {
      // Errors are turned into answers by the outer error middleware: a thrown AppError carries its status.
      const labels = { service, route: routeOf(ctx), method: ctx.method, status: String(ctx.status) };
      metrics.requests.inc(labels);
      end(labels);
      if (ctx.status === 401 || ctx.status === 403) metrics.denials.inc({ service, status: String(ctx.status) });
    }
  };
}

/** Whether an address is in the allow-list (exact addresses, or IPv4 CIDR blocks like 10.0.0.0/8). */
export function addressAllowed(address: string | undefined, allow: string[]): boolean {
  if (!address) return false;
  const ip = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const v4 = (a: string) => a.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  return allow.some((entry) => {
    const [base, bits] = entry.split('/');
    if (bits === undefined) return base === ip || (base === '::1' && ip === '::1');
    if (isIP(base!) !== 4 || isIP(ip) !== 4) return false;
    const size = 2 ** (32 - Number(bits));
    return Math.floor(v4(ip) / size) === Math.floor(v4(base!) / size);
  });
}

/** Serves `/metrics` on its own port, to the allowed addresses only (others get 404, as if nothing were there). */
export async function startMetricsServer(
  metrics: ServiceMetrics,
  o: { host: string; port: number; allow: string[]; logger?: Logger },
): Promise<{ server: Server; url: string; stop: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics' || !addressAllowed(req.socket.remoteAddress, o.allow)) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Not found', details: null } }));
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => {
        o.logger?.warn({ err: err.message }, 'metrics collection failed');
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${typeof address === 'object' && address ? address.port : o.port}`;
  o.logger?.info({ url }, 'metrics listening');
  return { server, url, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Times every knex query into `dbDuration` (knex reports each query's start, answer and failure). */
export function timeQueries(db: { on: (event: string, listener: (...args: unknown[]) => void) => unknown }, metrics: ServiceMetrics): void {
  const started = new Map<string, (labels: { outcome: string }) => number>();
  const uid = (q: unknown) => (q as { __knexQueryUid?: string } | undefined)?.__knexQueryUid;
  db.on('query', (q) => {
    const id = uid(q);
    if (id) started.set(id, metrics.dbDuration.startTimer());
  });
  // knex passes (response or error, query): the query is the second argument. A metric never fails a query.
  const done = (outcome: 'ok' | 'error') => (_result: unknown, q: unknown) => {
    const id = uid(q);
    const end = id ? started.get(id) : undefined;
    if (!end) return;
    started.delete(id!);
    end({ outcome });
  };
  db.on('query-response', done('ok'));
  db.on('query-error', done('error'));
}
