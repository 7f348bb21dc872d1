import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import { fixedFieldLogger, type Logger } from '../logger.js';

const CLIENT_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** What handlers and the audit log know about the request that triggered them. */
export interface RequestMeta {
  requestId: string;
  ip: string;
  userAgent: string | null;
}

/**
 * A path safe to log: viewer tokens travel as a path segment (`/t/{token}/…`), so that segment is
 * replaced, and so are DICOM UIDs (`/studies/1.2.840…`): they identify a patient's images in every system that holds
 * them, and a log line cannot be erased with the patient. Query strings are never logged (they may carry `?token=` or
 * patient filters).
 */
export function loggablePath(path: string): string {
  return path.replace(/\/t\/[^/]*/g, '/t/[redacted]').replace(/\/\d+(?:\.\d+)+(?=\/|$)/g, '/[uid]');
}

/** Assigns a request id (kept from X-Request-Id when sane), a child logger, and logs one line per request. */
export function requestContext(logger: Logger) {
  const access = fixedFieldLogger(logger);
  return async (ctx: Context, next: Next): Promise<void> => {
    const incoming = ctx.get('X-Request-Id');
    const requestId = CLIENT_ID.test(incoming) ? incoming : randomUUID();
    const started = process.hrtime.bigint();
    ctx.state.requestId = requestId;
    // The request's logger is made when something logs (an error): most requests only write the access line.
    let log: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (log ??= logger.child({ reqId: requestId })), enumerable: true });
    ctx.state.meta = { requestId, ip: ctx.ip, userAgent: ctx.get('User-Agent') || null } satisfies RequestMeta;
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      // Paths carry only our own ids (tokens and DICOM UIDs redacted), never patient data, so they are safe to log.
      // A readiness probe that passes is not news (one every few seconds per orchestrator): logged at debug.
      const level = ctx.path === '/readyz' && ctx.status < 400 ? 'debug' : 'info';
      if (access.isLevelEnabled(level))
        access[level](
          {
            reqId: requestId,
            method: ctx.method,
            path: loggablePath(ctx.path),
            status: ctx.status,
            ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
            userId: ctx.state.auth?.userId ?? ctx.state.principal?.userId,
          },
          'request',
        );
    }
  };
}
