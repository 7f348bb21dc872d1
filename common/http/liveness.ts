import type { Context, Next } from 'koa';

/** What `/healthz` answers. */
export const LIVENESS_BODY = { status: 'ok' } as const;
const TEXT = JSON.stringify(LIVENESS_BODY);

/**
 * `GET /healthz`, answered before any other middleware: a liveness probe asks whether the process answers, so it
 * costs no request id, access-log line, metric or header work (probes arrive every few seconds from every
 * orchestrator; logged, they outweighed the requests they watch over).
 */
export function liveness() {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.path === '/healthz' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.type = 'application/json';
      ctx.body = TEXT;
      return;
    }
    await next();
  };
}
