// The web console (web/, built to web/dist) served by the API at `/`: same origin as /api, so the browser needs no
// CORS and the access token never crosses origins. Files of the build are served as they are (hashed assets cached
// for good); any other path without a file extension is a page of the console and gets index.html, so a deep link
// reloads. /api, the health endpoints and everything the routers answered are never touched.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context, Next } from 'koa';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * What the console may load: its own scripts only (no inline script, no eval), styles inline too (Mantine sets CSS
 * variables in a style element), images from itself and data/blob URLs (previews), requests to its own origin.
 * OHIF opens in another tab on the viewer's origin, so nothing here needs it.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths the console never answers: the API, its documentation and the health endpoints. */
const NOT_OURS = /^\/(api(\/|$)|healthz$|readyz$|metrics$)/;

async function fileAt(file: string): Promise<number | null> {
  const found = await stat(file).catch(() => null);
  return found?.isFile() ? found.size : null;
}

/** Serves the console from `distDir` for GET and HEAD requests nothing else answered. */
export function webConsole(distDir: string) {
  const root = path.resolve(distDir);
  return async (ctx: Context, next: Next): Promise<void> => {
    await next();
    if (ctx.body !== undefined || ctx.status !== 404 || (ctx.method !== 'GET' && ctx.method !== 'HEAD') || NOT_OURS.test(ctx.path)) return;
    let relative: string;
    try {
      relative = decodeURIComponent(ctx.path);
    } catch {
      return;
    }
    // One resolution, then a containment check: no `..`, encoded or not, leaves the build folder.
    const wanted = path.resolve(root, `.${relative}`);
    if (relative.includes('\0') || (wanted !== root && !wanted.startsWith(`${root}${path.sep}`))) return;
    const extension = path.extname(wanted);
    let file = wanted;
    let size = extension ? await fileAt(wanted) : null;
    if (size === null) {
      // A path with an extension names a file: missing, it is a 404, not the console's page.
      if (extension) return;
      file = path.join(root, 'index.html');
      size = await fileAt(file);
      if (size === null) return;
    }
    ctx.status = 200;
    // A HEAD gets the headers of the GET and no file opened (Koa sends no body for HEAD).
    ctx.body = ctx.method === 'HEAD' ? '' : createReadStream(file);
    ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    ctx.length = size;
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    // Hashed build assets never change under one name; the page itself is asked for again each time.
    ctx.set('Cache-Control', relative.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
  };
}
