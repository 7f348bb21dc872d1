import type { Context, Next } from 'koa';

/** What differs between the API and the DICOMweb proxy. */
export interface SecurityHeaderOptions {
  /** A Content-Security-Policy for every answer (the API's Swagger UI needs scripts, so it sets none). */
  contentSecurityPolicy?: string;
}

/**
 * Headers every answer carries, errors included (they are set before the handler runs): clinical data
 * must not be sniffed, framed, cached by shared caches, or leak through the Referer.
 */
export function securityHeaders(options: SecurityHeaderOptions = {}) {
  return async (ctx: Context, next: Next): Promise<void> => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cache-Control', 'no-store');
    if (options.contentSecurityPolicy) ctx.set('Content-Security-Policy', options.contentSecurityPolicy);
    // Only over TLS (directly, or through a trusted proxy's X-Forwarded-Proto): HSTS on plain HTTP is ignored at best.
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}
