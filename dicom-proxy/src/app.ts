import Koa, { type Context, type Next } from 'koa';
import { BASE_HEADER, BASE_SIGNATURE_HEADER, dicomWebBaseSigned, SERVICE_HEADER } from '../../common/dicomweb-base.js';
import { dicomWebCors } from '../../common/http/cors.js';
import { errorMiddleware } from '../../common/http/error-middleware.js';
import { refuseNul } from '../../common/http/refuse-nul.js';
import { AppError, badRequest, forbidden, notFound, unauthorized } from '../../common/http/errors.js';
import { requestContext } from '../../common/http/request-context.js';
import { OrthancUnavailableError, imagingUnavailable } from '../../common/orthanc.js';
import { tokenDigest, verifyAccessToken } from '../../common/tokens.js';
import { isViewerToken, resolveShareToken, resolveViewerToken, SHARE_TOKEN_PREFIX } from '../../common/viewer-sessions.js';
import type { Caller, ProxyDeps } from './context.js';
import { parseDicomWebPath } from './path.js';
import { handleQido } from './qido.js';
import { orthancQuery, parseQidoQuery } from './query.js';
import { handleStow } from './stow.js';
import { handleWado, handleWadoUri } from './wado.js';
import { liveness } from '../../common/http/liveness.js';
import { securityHeaders } from '../../common/http/security-headers.js';
import { httpMetrics } from '../../common/metrics.js';

const ROOT = '/dicom-web';

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('The request path is not valid percent-encoding', null, 'INVALID_PATH');
  }
}

/** The public root this request's answers name: the proxy's own, or the API's when it forwarded (signed). */
function publicRoot(ctx: Context, deps: ProxyDeps): string {
  const base = ctx.get(BASE_HEADER);
  if (!base) return deps.config.proxy.wadoRoot;
  if (!dicomWebBaseSigned(deps.config.secretKey, base, ctx.get(BASE_SIGNATURE_HEADER)) || !/^https?:\/\/\S+$/.test(base)) {
    throw forbidden('Unsigned DICOMweb base', 'FORBIDDEN');
  }
  return base.replace(/\/$/, '');
}

/** Who a token is: an access token, a viewer session or a share link, with what it may open. Says nothing of URLs. */
async function authenticate(deps: ProxyDeps, token: string): Promise<Omit<Caller, 'rewrite'>> {
  if (isViewerToken(token)) {
    const tokenHash = tokenDigest(deps.config.secretKey, token);
    if (token.startsWith(SHARE_TOKEN_PREFIX)) {
      const share = await deps.principals.loadToken(tokenHash, () => resolveShareToken(deps.db, tokenHash));
      if (!share) throw unauthorized('SHARE_INVALID', 'The share link has been revoked or has expired');
      return {
        principal: share.principal,
        viewerSessionId: null,
        shareId: share.id,
        onlyStudy: share.studyInstanceUid,
      };
    }
    const viewer = await deps.principals.loadToken(tokenHash, () => resolveViewerToken(deps.db, tokenHash));
    if (!viewer) throw unauthorized('VIEWER_SESSION_INVALID', 'The viewer session has ended or expired');
    return {
      principal: viewer.principal,
      viewerSessionId: viewer.id,
      shareId: null,
      onlyStudy: viewer.studyInstanceUid,
    };
  }
  const verified = await verifyAccessToken(deps.config.secretKey, token);
  if (!verified.ok) throw unauthorized(verified.reason === 'expired' ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN', 'The access token is not valid');
  const found = await deps.principals.load(verified.claims);
  if (!found.ok) throw unauthorized(found.code, found.message);
  return { principal: found.principal, viewerSessionId: null, shareId: null, onlyStudy: null };
}

/** The DICOMweb handler: parse the path, authenticate, authorize, then QIDO / WADO / STOW. */
function dicomWeb(deps: ProxyDeps) {
  return async (ctx: Context) => {
    if (ctx.path !== ROOT && !ctx.path.startsWith(`${ROOT}/`)) throw notFound('DICOMweb resource');
    let subPath = ctx.path.slice(ROOT.length) || '/';
    // A viewer token may lead the path (/dicom-web/t/{token}/…): the viewer's configured roots carry it,
    // and so do the URLs we write back, so every follow-up request is authorized too.
    let pathToken: string | null = null;
    const tokenPrefix = /^\/t\/([^/]*)(\/.*)?$/.exec(subPath);
    if (tokenPrefix) {
      pathToken = decodeSegment(tokenPrefix[1]!);
      if (!isViewerToken(pathToken)) throw notFound('DICOMweb resource');
      subPath = tokenPrefix[2] ?? '/';
    }
    const params = new URLSearchParams(ctx.querystring);
    // OHIF and <img> tags cannot always send headers: a viewer token may also come as ?token=.
    const queryTokens = params.getAll('token');
    params.delete('token');
    if (queryTokens.length > 1)
      throw badRequest('token is given more than once', [{ field: 'token', message: 'Given more than once' }], 'INVALID_QUERY');
    const service = ctx.get(SERVICE_HEADER);
    const isWadoUri = subPath === '/wado';
    const parsed = isWadoUri ? null : parseDicomWebPath(ctx.method, subPath);
    if (parsed?.kind === 'denied') throw notFound('DICOMweb resource');
    if (parsed?.kind === 'method-not-allowed') {
      throw new AppError(
        405,
        'METHOD_NOT_ALLOWED',
        `${ctx.method} is not allowed on this DICOMweb resource`,
        { allow: parsed.allow.split(', ') },
        {
          Allow: parsed.allow,
        },
      );
    }
    ctx.state.service = isWadoUri ? 'wado-uri' : parsed!.kind;
    // The API's /api/dicom/qido serves QIDO only; its /api/dicom/wado everything read-only, as OHIF's
    // WADO root also carries series searches.
    if (service === 'qido' && parsed?.kind !== 'qido') throw notFound('DICOMweb resource');
    if (service === 'wado' && parsed?.kind === 'stow') throw notFound('DICOMweb resource');

    const bearer = /^Bearer\s+(\S+)$/i.exec(ctx.get('Authorization'))?.[1];
    const token = pathToken ?? bearer ?? queryTokens[0];
    if (!token) throw unauthorized('AUTHENTICATION_REQUIRED', 'A bearer access token or viewer token is required');
    // The URLs of an answer name the root the request came by (the API's signed base, or the proxy's own), with the
    // viewer token in the path when it came there: decided by the request, not by what kind of token it carried.
    const root = publicRoot(ctx, deps);
    const identity = await authenticate(deps, token);
    const caller: Caller = {
      ...identity,
      rewrite: {
        from: `${deps.config.orthanc.url}/dicom-web`,
        to: pathToken !== null ? `${root}/t/${encodeURIComponent(pathToken)}` : root,
      },
    };
    ctx.state.principal = caller.principal;
    if (caller.principal.mustChangePassword) throw forbidden('Change the default password first', 'PASSWORD_CHANGE_REQUIRED');

    if (isWadoUri) return handleWadoUri(ctx, deps, caller, params);
    if (parsed!.kind === 'stow') return handleStow();
    if (parsed!.kind === 'qido') {
      const query = parseQidoQuery(params);
      if (!query.ok) throw badRequest('Invalid QIDO-RS query', query.problems, 'INVALID_QUERY');
      return handleQido(ctx, deps, caller, parsed!, subPath, query.query);
    }
    if (parsed!.kind === 'wado') return handleWado(ctx, deps, caller, parsed!, subPath, params.size ? `?${orthancQuery(params)}` : '');
  };
}

/** Orthanc unreachable is a 503 for the client, not a crash; a client that went away is nobody's error. */
function imagingErrors() {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof OrthancUnavailableError) {
        if (ctx.req.destroyed) return;
        throw imagingUnavailable('retry once it is back');
      }
      throw err;
    }
  };
}

/** Builds the proxy's Koa application: the API's error envelope, request context and redacting logs. */
export function createProxyApp(deps: ProxyDeps, health: { ready: () => Promise<Record<string, string>> }): Koa {
  const app = new Koa({ proxy: deps.config.api.trustProxy });
  app.on('error', (err: Error) => deps.logger.warn({ err: err.message }, 'request stream error'));
  app.use(liveness());
  // Outermost (after liveness): it sees the status the error middleware answered; routes are the DICOMweb services, not paths.
  app.use(
    httpMetrics(
      deps.metrics,
      'dicom-proxy',
      (ctx) => (ctx.state.service as string | undefined) ?? (ctx.path === '/readyz' ? ctx.path : 'other'),
    ),
  );
  // The access log sits outside the error middleware, so that its line records the status the client got.
  app.use(requestContext(deps.logger));
  app.use(errorMiddleware());
  app.use(securityHeaders({ contentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'" }));
  app.use(async (ctx, next) => {
    if (ctx.path === '/readyz') {
      const checks = await health.ready();
      const ok = Object.values(checks).every((v) => v === 'ok');
      ctx.status = ok ? 200 : 503;
      ctx.body = ok ? { status: 'ready', checks } : { error: { code: 'SERVICE_UNAVAILABLE', message: 'Not ready', details: checks } };
      return;
    }
    await next();
  });
  app.use(dicomWebCors(deps.config.proxy.corsOrigins));
  app.use(refuseNul());
  app.use(imagingErrors());
  app.use(dicomWeb(deps));
  return app;
}
