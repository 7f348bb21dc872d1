import type { Context, Next } from 'koa';

/**
 * CORS for read-only DICOMweb endpoints, from an allow-list of origins (`*` = any). No cookies are ever
 * involved: tokens travel in the Authorization header or the path. Preflights are answered here.
 */
export function dicomWebCors(allowed: string[]) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const origin = ctx.get('Origin');
    if (allowed.includes('*')) ctx.set('Access-Control-Allow-Origin', '*');
    else if (origin && allowed.includes(origin)) ctx.set('Access-Control-Allow-Origin', origin);
    ctx.vary('Origin');
    ctx.set('Access-Control-Expose-Headers', 'X-Request-Id, Content-Location, Content-Length, Content-Encoding');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Headers', 'authorization, accept, content-type');
      ctx.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, OPTIONS');
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return;
    }
    await next();
  };
}
