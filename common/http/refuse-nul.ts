import type { Context, Next } from 'koa';
import { badRequest, type ErrorDetail } from './errors.js';

/** Where a value holds a NUL character, as field paths (`firstName`, `items.0.note`, `?q`). */
function nulFields(value: unknown, at: string, out: ErrorDetail[]): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push({ field: at, message: 'Contains a NUL character (U+0000), which no text may hold' });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nulFields(v, at ? `${at}.${i}` : String(i), out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) nulFields(v, at ? `${at}.${k}` : k, out);
  }
}

/**
 * Refuses (400 `INVALID_CHARACTER`) a request whose path, query or JSON body holds a NUL character: PostgreSQL
 * stores no 0x00 in text, and Orthanc and our logs have no use for it. Placed after the body parser.
 */
export function refuseNul() {
  return async (ctx: Context, next: Next): Promise<void> => {
    const found: ErrorDetail[] = [];
    if (/%00/.test(ctx.path) || ctx.path.includes('\u0000')) found.push({ field: 'path', message: 'Contains a NUL character (%00)' });
    for (const [key, value] of Object.entries(ctx.query)) nulFields(value, `?${key}`, found);
    if (Object.keys(ctx.query).some((k) => k.includes('\u0000')))
      found.push({ field: 'query', message: 'A parameter name contains a NUL character' });
    nulFields((ctx.request as { body?: unknown }).body, '', found);
    if (found.length > 0) throw badRequest('The request holds a NUL character, which no text may hold', found, 'INVALID_CHARACTER');
    await next();
  };
}
