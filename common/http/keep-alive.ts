import http, { type RequestListener, type Server } from 'node:http';

/**
 * How long an idle keep-alive connection stays open. Node's default (5 s) is shorter than the idle timeouts
 * of the reverse proxies and clients in front (nginx keeps upstream connections 60 s): a client then reuses
 * a connection the server has just closed, and its request — a POST is never retried — fails with
 * ECONNRESET. The server must be the side that waits longer.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Applies {@link KEEP_ALIVE_TIMEOUT_MS} to a server (and the header timeout Node requires above it). */
export function longKeepAlive(server: Server): Server {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = Math.max(server.headersTimeout, KEEP_ALIVE_TIMEOUT_MS + 1_000);
  return server;
}

/**
 * The HTTP server every service of ours runs a handler in: long keep-alive, and an `Expect` header other than
 * `100-continue` (an empty one included) ignored. Node would answer those 417 with an empty body before the
 * application saw the request, on any method; Orthanc ignores them, and clients of both send them.
 */
export function serviceServer(handler: RequestListener): Server {
  const server = http.createServer(handler);
  server.on('checkExpectation', handler);
  return longKeepAlive(server);
}
