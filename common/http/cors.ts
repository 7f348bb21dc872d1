import type { Context, Next } from 'koa';

/** What a service lets other origins do. */
export interface CorsOptions {
  /** Allowed origins (`*` = any). */
  origins: string[];
  methods: string;
  allowHeaders: string;
  exposeHeaders: string;
}

/**
 * CORS from an allow-list of origins. No cookies are ever involved (tokens travel in the Authorization
 * header or the path), so credentials are never allowed. Preflights are answered here.
 */
export function cors(options: CorsOptions) {
  const any = options.origins.includes('*');
  return async (ctx: Context, next: Next): Promise<void> => {
    const origin = ctx.get('Origin');
    const allowed = any || (origin !== '' && options.origins.includes(origin));
    ctx.vary('Origin');
    if (allowed && origin) {
      ctx.set('Access-Control-Allow-Origin', any ? '*' : origin);
      ctx.set('Access-Control-Expose-Headers', options.exposeHeaders);
    }
    // A preflight (not any OPTIONS): answered here, with the permissions only for an allowed origin.
    if (ctx.method === 'OPTIONS' && origin && ctx.get('Access-Control-Request-Method')) {
      if (allowed) {
        ctx.set('Access-Control-Allow-Headers', options.allowHeaders);
        ctx.set('Access-Control-Allow-Methods', options.methods);
        ctx.set('Access-Control-Max-Age', '600');
      }
      ctx.status = 204;
      return;
    }
    await next();
  };
}

/** CORS for the read-only DICOMweb endpoints (OHIF on another origin). */
export const dicomWebCors = (origins: string[]) =>
  cors({
    origins,
    methods: 'GET, HEAD, POST, OPTIONS',
    allowHeaders: 'authorization, accept, content-type',
    exposeHeaders: 'X-Request-Id, Content-Location, Content-Length, Content-Encoding',
  });

/** CORS for the clinical API (a web frontend on another origin): `API_CORS_ORIGINS`. */
export const apiCors = (origins: string[]) =>
  cors({
    origins,
    methods: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    allowHeaders: 'authorization, content-type, accept, accept-language, if-match, x-request-id',
    exposeHeaders: 'X-Request-Id, ETag, Location, Content-Disposition, Retry-After',
  });
