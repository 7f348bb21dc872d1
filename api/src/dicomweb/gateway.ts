import { imagingUnavailable } from '../../../common/orthanc.js';
import http from 'node:http';
import type { Context, Next } from 'koa';
import { dicomWebCors } from '../../../common/http/cors.js';
import { AppError } from '../../../common/http/errors.js';
import type { Deps } from '../deps.js';
import { BASE_HEADER, BASE_SIGNATURE_HEADER, SERVICE_HEADER, signDicomWebBase } from '../../../common/dicomweb-base.js';

const PREFIX = /^\/api\/dicom\/(qido|wado)(\/.*)?$/;
const REQUEST_HEADERS = ['authorization', 'accept', 'accept-encoding', 'if-none-match', 'if-modified-since', 'user-agent'];
const RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'vary',
  'etag',
  'last-modified',
  'www-authenticate',
  'x-mediconnect-cache',
  'x-request-id',
];

/**
 * The DICOMweb endpoints on the API's origin (`/api/dicom/qido/…` for QIDO-RS, `/api/dicom/wado/…` for
 * WADO-RS and `/api/dicom/wado?requestType=WADO…` for WADO-URI). They are the proxy's, forwarded over
 * HTTP byte for byte: same authorization (access or viewer tokens, checked by the proxy), same streaming,
 * same bytes; the proxy writes URLs under this origin's WADO root, which the API signs.
 */
export function dicomWebGateway({ config, logger }: Pick<Deps, 'config' | 'logger'>) {
  // The same allow-list as the proxy's: these are the proxy's endpoints on another origin.
  const cors = dicomWebCors(config.proxy.corsOrigins);
  // From configuration: a request's Host (attacker-controlled) must never decide the URLs in an answer.
  const base = config.api.dicomWebWadoRoot;
  const baseSignature = signDicomWebBase(config.secretKey, base);
  return async (ctx: Context, next: Next): Promise<void> => {
    const match = PREFIX.exec(ctx.path);
    if (!match) return next();
    return cors(ctx, () => forward(ctx, match[1]!, match[2] ?? ''));
  };

  async function forward(ctx: Context, service: string, rest: string): Promise<void> {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new AppError(405, 'METHOD_NOT_ALLOWED', 'DICOMweb on the API origin is read-only (GET, HEAD)', null, {
        Allow: 'GET, HEAD, OPTIONS',
      });
    }
    // WADO-URI lives at the WADO root itself; everything else maps onto the proxy's /dicom-web.
    const target = service === 'wado' && (rest === '' || rest === '/') ? '/wado' : rest || '/';
    const headers: Record<string, string> = {
      [SERVICE_HEADER]: service,
      [BASE_HEADER]: base,
      [BASE_SIGNATURE_HEADER]: baseSignature,
      'x-request-id': ctx.state.requestId,
    };
    for (const name of REQUEST_HEADERS) {
      const value = ctx.get(name);
      if (value) headers[name] = value;
    }
    const url = `${config.proxy.internalUrl}/dicom-web${target}${ctx.querystring ? `?${ctx.querystring}` : ''}`;
    const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(url, { method: ctx.method, headers }, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      // The proxy answers 503 itself once Orthanc's timeout passes; this bounds a proxy that does not answer at all.
      const timer = setTimeout(() => req.destroy(new Error('the DICOMweb proxy did not answer')), config.orthanc.timeoutMs + 5_000);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ctx.req.once('close', () => req.destroy());
      req.end();
    }).catch((err: Error) => {
      logger.warn({ err: err.message }, 'DICOMweb proxy unreachable');
      throw imagingUnavailable('retry once it is back');
    });
    ctx.status = upstream.statusCode ?? 502;
    for (const name of RESPONSE_HEADERS) {
      const value = upstream.headers[name];
      if (value !== undefined) ctx.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    // The proxy's bytes, encoding and length untouched: Koa must not re-frame them.
    const length = upstream.headers['content-length'];
    ctx.body = upstream;
    if (length !== undefined) ctx.length = Number(length);
    if (upstream.headers['content-type']) ctx.set('Content-Type', upstream.headers['content-type']);
  }
}
