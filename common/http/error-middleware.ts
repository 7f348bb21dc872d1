import type { Context, Next } from 'koa';
import { AppError } from './errors.js';
import { mapDatabaseError } from './db-errors.js';
import { localeOf, localizedMessage } from './messages.js';
import { closeAfterAnswer } from './lingering-close.js';

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

function fromHttpError(err: HttpishError): AppError | null {
  const status = err.status ?? err.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (err.type === 'entity.parse.failed' || (/JSON|Unexpected token|parse/i.test(err.message ?? '') && status === 400)) {
    return new AppError(400, 'INVALID_JSON', 'The request body is not valid JSON');
  }
  if (status === 413) return new AppError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large');
  if (status === 415) return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported request content type');
  return new AppError(status, 'BAD_REQUEST', err.expose && err.message ? err.message : 'Bad request');
}

// Knex pool exhaustion and refused connections mean the database is down, not a bug.
function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  return err.name === 'KnexTimeoutError' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT';
}

/** First middleware of the stack: turns every failure into `{error: {code, message, details}}`. */
export function errorMiddleware() {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      // Every answer says its language (the account's, else Accept-Language), not only errors.
      if (!ctx.response.get('Content-Language')) ctx.set('Content-Language', localeOf(ctx));
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, 'NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
      }
      // The router's own answers (the Allow header stays) get the error envelope too.
      if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
        const allow = ctx.response.get('Allow');
        const code = ctx.status === 405 ? 'METHOD_NOT_ALLOWED' : 'NOT_IMPLEMENTED';
        ctx.body = {
          error: {
            code,
            message: localizedMessage(
              code,
              ctx.status === 405 ? `${ctx.method} is not allowed on ${ctx.path}` : `${ctx.method} is not implemented`,
              localeOf(ctx),
            ),
            details: allow ? { allow: allow.split(/,\s*/) } : null,
          },
        };
      }
    } catch (raw) {
      let err: AppError | null = raw instanceof AppError ? raw : mapDatabaseError(raw);
      if (!err && isDatabaseUnavailable(raw)) err = new AppError(503, 'SERVICE_UNAVAILABLE', 'The database is unavailable');
      if (!err) err = fromHttpError(raw as HttpishError);
      if (!err) {
        ctx.state.log?.error({ err: raw }, 'unhandled error');
        err = new AppError(500, 'INTERNAL_ERROR', 'An unexpected error occurred', { requestId: ctx.state.requestId ?? null });
      } else if (err.status >= 500) {
        ctx.state.log?.warn({ err: raw }, 'request failed: dependency unavailable');
      }
      ctx.status = err.status;
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      const locale = localeOf(ctx);
      ctx.set('Content-Language', locale);
      ctx.body = { error: { code: err.code, message: localizedMessage(err.code, err.message, locale), details: err.details } };
      // A refusal or failure before the body was read whole (a refused upload, a body over the limit): the
      // rest is not wanted, and closing on it must not lose this answer.
      if (!ctx.req.complete) closeAfterAnswer(ctx.req, (name, value) => ctx.set(name, value));
    }
  };
}
