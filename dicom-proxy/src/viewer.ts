import { serviceServer } from '../../common/http/keep-alive.js';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { loadConfig, type Config } from '../../common/config.js';
import type { Logger } from '../../common/logger.js';
import { VIEWER_LIST_TOKEN_PREFIX } from '../../common/viewer-sessions.js';
import { isMain, runService } from '../../common/service-main.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * OHIF's configuration, computed in the browser from the page URL: the viewer-session token (`?token=`)
 * goes into the DICOMweb roots as a path segment, so every request OHIF makes — QIDO, WADO, bulk data —
 * carries it without relying on OHIF's own authentication hooks.
 */
function appConfig(roots: { qidoRoot: string; wadoRoot: string }): string {
  return `(function () {
  var params = new URLSearchParams(window.location.search);
  var token = params.get('token');
  if (token) sessionStorage.setItem('mediconnect-viewer-token', token);
  else token = sessionStorage.getItem('mediconnect-viewer-token') || '';
  var suffix = token ? '/t/' + encodeURIComponent(token) : '';
  var qidoRoot = ${JSON.stringify(roots.qidoRoot)} + suffix;
  var wadoRoot = ${JSON.stringify(roots.wadoRoot)} + suffix;
  window.config = {
    name: 'mediconnect',
    routerBasename: '/',
    extensions: [],
    modes: [],
    customizationService: {},
    // A study-list session (vl_…) opens on OHIF's study list; one-study sessions and share links do not.
    showStudyList: token.indexOf(${JSON.stringify(VIEWER_LIST_TOKEN_PREFIX)}) === 0,
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    defaultDataSourceName: 'mediconnect',
    dataSources: [{
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'mediconnect',
      configuration: {
        friendlyName: 'MediConnect',
        name: 'mediconnect',
        wadoUriRoot: wadoRoot,
        qidoRoot: qidoRoot,
        wadoRoot: wadoRoot,
        qidoSupportsIncludeField: true,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        staticWado: false,
        singlepart: 'bulkdata,video',
        bulkDataURI: { enabled: true },
        omitQuotationForMultipartRequest: true
      }
    }]
  };
})();
`;
}

/**
 * Headers of every viewer answer. The page's URL carries a viewer token: no referrer may leak it, no other
 * site may frame the page (clickjacking), and the Content-Security-Policy lets the page reach only its own
 * origin and the DICOMweb roots. What OHIF needs under it (checked in Chromium by the viewer tests): its
 * WebAssembly codecs ('wasm-unsafe-eval'), workers from blob: URLs, images and fonts from data:/blob:, and
 * the inline styles its components set.
 */
export function viewerHeaders(roots: { qidoRoot: string; wadoRoot: string }, inlineScripts: string[] = []): Record<string, string> {
  const dicomWeb = [...new Set([roots.qidoRoot, roots.wadoRoot].map((u) => new URL(u).origin))].join(' ');
  // The build's own inline scripts, by hash: nothing injected into the page could run.
  const hashes = inlineScripts.map((code) => ` 'sha256-${createHash('sha256').update(code).digest('base64')}'`).join('');
  const policy = [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval'${hashes}`,
    "worker-src 'self' blob:",
    `connect-src 'self' ${dicomWeb} data: blob:`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-security-policy': policy,
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** The inline scripts of the application shell, as the browser hashes them (empty when there is none). */
function inlineScriptsOf(indexHtml: string): string[] {
  if (!existsSync(indexHtml)) return [];
  const html = readFileSync(indexHtml, 'utf8');
  return [...html.matchAll(/<script\b(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1]!).filter((code) => code.length > 0);
}

/** Serves the built OHIF Viewer (npm package @ohif/app) with MediConnect's configuration. */
export async function startViewer(
  config: Config,
  options: { distDir: string; port: number; host?: string; logger?: Logger },
): Promise<{ server: Server; url: string; stop: () => Promise<void> }> {
  const OHIF_DIST = path.resolve(options.distDir);
  const configJs = appConfig(config.proxy);
  const headers = viewerHeaders(config.proxy, inlineScriptsOf(path.join(OHIF_DIST, 'index.html')));
  const fail = (res: ServerResponse, status: number, code: string, message: string) => {
    if (res.headersSent) return void res.destroy();
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ error: { code, message, details: null } }));
  };
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://viewer');
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (url.pathname === '/app-config.js') {
      res.setHeader('content-type', TYPES['.js']!);
      res.setHeader('cache-control', 'no-store');
      return void res.end(configJs);
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname);
    } catch {
      return fail(res, 400, 'INVALID_PATH', 'The request path is not valid percent-encoding');
    }
    const file = path.normalize(path.join(OHIF_DIST, decoded));
    const inside = file.startsWith(OHIF_DIST + path.sep);
    // Client-side routes (/viewer, …) get the application shell.
    const target = inside && existsSync(file) && statSync(file).isFile() ? file : path.join(OHIF_DIST, 'index.html');
    res.setHeader('content-type', TYPES[path.extname(target)] ?? 'application/octet-stream');
    res.setHeader('cache-control', target.endsWith('index.html') ? 'no-store' : 'public, max-age=3600');
    const stream = createReadStream(target);
    stream.on('error', () => fail(res, 404, 'NOT_FOUND', 'Not found'));
    stream.pipe(res);
  };
  // No request may take the process down: anything unexpected answers 500 and is logged.
  const server = serviceServer((req, res) => {
    try {
      serve(req, res);
    } catch (err) {
      options.logger?.error({ err }, 'viewer request failed');
      fail(res, 500, 'INTERNAL_ERROR', 'An unexpected error occurred');
    }
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : options.port}`;
  options.logger?.info({ url }, 'viewer listening');
  return {
    server,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// As a process (production image): OHIF_DIST_DIR names the built viewer, VIEWER_PORT its port.
if (isMain(import.meta.url)) {
  const distDir = process.env.OHIF_DIST_DIR;
  if (!distDir || !existsSync(path.join(distDir, 'index.html'))) {
    console.error('OHIF_DIST_DIR must name the built OHIF Viewer (a folder with index.html)');
    process.exit(1);
  }
  runService(() =>
    startViewer(loadConfig(), { distDir, port: Number(process.env.VIEWER_PORT || 3000), host: process.env.VIEWER_HOST || '127.0.0.1' }),
  );
}
