import { gzipSync } from 'node:zlib';
import type { Context } from 'koa';

/** Answers DICOM JSON (a value, or text that already is JSON), gzipped when the client accepts it. */
export function sendDicomJson(ctx: Context, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  ctx.status = 200;
  ctx.type = 'application/dicom+json';
  ctx.vary('Accept-Encoding');
  if (text.length > 1024 && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = gzipSync(Buffer.from(text), { level: 1 });
  } else ctx.body = Buffer.from(text);
}
