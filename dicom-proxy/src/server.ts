import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../../common/config.js';
import { createKnex } from '../../common/db.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { OrthancClient, OrthancUnavailableError } from '../../common/orthanc.js';
import { loadPrincipal, type Principal } from '../../common/principal.js';
import { resolveViewerToken, VIEWER_TOKEN_PREFIX } from '../../common/viewer-sessions.js';
import { verifyAccessToken } from '../../common/tokens.js';
import { AccessCache } from './cache.js';
import { sendError } from './http.js';
import { parseDicomWebPath } from './path.js';
import { handleQido } from './qido.js';
import { handleStow } from './stow.js';
import { handleWado } from './wado.js';

const ROOT = '/dicom-web';

function cors(config: Config, req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  const allowed = config.proxy.corsOrigins;
  if (allowed.includes('*')) res.setHeader('access-control-allow-origin', '*');
  else if (origin && allowed.includes(origin)) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
  }
  res.setHeader('access-control-allow-headers', 'authorization, accept, content-type');
  res.setHeader('access-control-allow-methods', 'GET, HEAD, POST, OPTIONS');
  res.setHeader('access-control-max-age', '600');
}

/** The request handler: parse, authenticate, authorize, then QIDO / WADO / STOW. */
export function createProxyHandler(config: Config, db: Knex, orthanc: OrthancClient, logger: Logger, access: AccessCache) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const started = Date.now();
    let userId: string | undefined;
    res.once('finish', () =>
      logger.info({ reqId: requestId, method: req.method, path: req.url?.split('?')[0], status: res.statusCode, ms: Date.now() - started, userId }, 'request'),
    );
    res.setHeader('x-request-id', requestId);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'private, no-store');
    cors(config, req, res);
    try {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const method = (req.method ?? 'GET').toUpperCase();
      if (method === 'OPTIONS') {
        res.statusCode = 204;
        return void res.end();
      }
      if (url.pathname === '/healthz') {
        res.setHeader('content-type', 'application/json');
        return void res.end(JSON.stringify({ status: 'ok' }));
      }
      if (url.pathname !== ROOT && !url.pathname.startsWith(`${ROOT}/`)) return sendError(res, 404, 'NOT_FOUND', 'Not a DICOMweb path');
      let subPath = url.pathname.slice(ROOT.length) || '/';
      // A viewer token may also lead the path (/dicom-web/t/{token}/…): the viewer's configured roots carry
      // it, and so do the URLs we write back, so every follow-up request is authorized too.
      let pathToken: string | null = null;
      const tokenPrefix = /^\/t\/([^/]+)(\/.*)?$/.exec(subPath);
      if (tokenPrefix) {
        pathToken = decodeURIComponent(tokenPrefix[1]!);
        if (!pathToken.startsWith(VIEWER_TOKEN_PREFIX)) return sendError(res, 404, 'NOT_FOUND', 'Not a DICOMweb resource this proxy serves');
        subPath = tokenPrefix[2] ?? '/';
      }
      const parsed = parseDicomWebPath(method, subPath);
      if (parsed.kind === 'denied') return sendError(res, 404, 'NOT_FOUND', 'Not a DICOMweb resource this proxy serves');

      // OHIF and <img> tags cannot always send headers: a viewer token may also come as ?token=.
      const queryToken = url.searchParams.get('token');
      url.searchParams.delete('token');
      const token = pathToken ?? /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? queryToken;
      if (!token) return sendError(res, 401, 'AUTHENTICATION_REQUIRED', 'A bearer access token or viewer token is required');
      let principal: Principal;
      let onlyStudy: string | null = null;
      if (token.startsWith(VIEWER_TOKEN_PREFIX)) {
        const viewer = await resolveViewerToken(db, token);
        if (!viewer) return sendError(res, 401, 'VIEWER_SESSION_INVALID', 'The viewer session has ended or expired');
        principal = viewer.principal;
        onlyStudy = viewer.studyInstanceUid;
      } else {
        const verified = await verifyAccessToken(config.secretKey, token);
        if (!verified.ok) return sendError(res, 401, verified.reason === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN', 'The access token is not valid');
        const found = await loadPrincipal(db, verified.claims);
        if (!found.ok) return sendError(res, 401, found.code, found.message);
        principal = found.principal;
      }
      userId = principal.userId;
      if (principal.mustChangePassword) return sendError(res, 403, 'PASSWORD_CHANGE_REQUIRED', 'Change the default password first');
      const ctx = {
        principal,
        allowed: await access.identifiers(principal),
        onlyStudy,
        db,
        orthanc,
        orthancUrl: config.orthanc.url,
        publicUrl: pathToken ? `${config.proxy.publicUrl}/t/${encodeURIComponent(pathToken)}` : config.proxy.publicUrl,
      };
      if (parsed.kind === 'stow') return handleStow(res);
      if (parsed.kind === 'qido') return await handleQido(ctx, parsed, subPath, url.searchParams, res);
      return await handleWado(ctx, parsed, subPath, url.search, req.headers.accept, method === 'HEAD' ? 'HEAD' : 'GET', res);
    } catch (err) {
      if (err instanceof OrthancUnavailableError) return sendError(res, 503, 'IMAGING_UNAVAILABLE', 'The imaging store is unavailable');
      logger.error({ err, reqId: requestId }, 'proxy request failed');
      sendError(res, 500, 'INTERNAL_ERROR', 'An unexpected error occurred');
    }
  };
}

/** A running proxy and the function that stops it. */
export interface RunningProxy {
  server: Server;
  url: string;
  stop: () => Promise<void>;
}

/** Starts the authorizing DICOMweb proxy. */
export async function startProxy(config: Config, options: { port?: number; logger?: Logger } = {}): Promise<RunningProxy> {
  const logger = options.logger ?? createLogger(config.logLevel, 'dicom-proxy');
  const db = createKnex(config, { pool: { min: 0, max: Math.max(2, Math.floor(config.db.poolMax / 2)) } }, logger);
  const orthanc = new OrthancClient(config.orthanc);
  const access = new AccessCache(db);
  await access.listen(config, logger);
  const handler = createProxyHandler(config, db, orthanc, logger, access);
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.proxy.port, config.proxy.host, () => resolve());
  });
  const address = server.address();
  const url = `http://${config.proxy.host}:${typeof address === 'object' && address ? address.port : config.proxy.port}`;
  logger.info({ url }, 'dicom-proxy listening');
  return {
    server,
    url,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await access.stop();
      await db.destroy();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  startProxy(config).then(
    (proxy) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void proxy.stop().then(() => process.exit(0)));
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
