import { expect } from 'chai';
import { pino } from 'pino';
import { startApi, type RunningApi } from '../api/src/server.js';
import type { Logger } from '../common/logger.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { freePort } from '../scripts/lib/ports.js';
import { testConfig } from './helpers/server.js';

/** A logger whose lines the test reads. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  ) as unknown as Logger;
  return { logger, lines };
}

describe('access log: each request’s line records the status the client received (API and proxy)', () => {
  let api: RunningApi;
  let proxy: RunningProxy;
  const apiLog = capturingLogger();
  const proxyLog = capturingLogger();
  before(async () => {
    const [apiPort, proxyPort] = [await freePort(), await freePort()];
    proxy = await startProxy(testConfig({ DICOM_WEB_URL: `http://127.0.0.1:${proxyPort}/dicom-web` }), {
      port: proxyPort,
      logger: proxyLog.logger,
    });
    api = await startApi(testConfig({ API_PORT: String(apiPort), DICOM_PROXY_INTERNAL_URL: proxy.url }), {
      port: apiPort,
      logger: apiLog.logger,
    });
  });
  after(async () => {
    await api?.stop();
    await proxy?.stop();
  });

  /** The status the access log wrote for the request that got this X-Request-Id. */
  const logged = (lines: Record<string, unknown>[], requestId: string | null) =>
    lines.find((l) => l.msg === 'request' && l.reqId === requestId)?.status;

  it('API: 200, 400, 401 and 404 are logged as answered', async () => {
    const cases: [string, RequestInit, number][] = [
      ['/api/openapi.json', {}, 200],
      ['/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email": 1}' }, 400],
      ['/api/patients', {}, 401],
      ['/api/nothing-here', {}, 404],
      ['/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' }, 400],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(`${api.url}${path}`, init);
      await res.arrayBuffer();
      expect(res.status, path).to.equal(status);
      expect(logged(apiLog.lines, res.headers.get('x-request-id')), path).to.equal(status);
    }
  });

  it('probes write no line at info: /healthz never, /readyz when it passes (API and proxy)', async () => {
    for (const [service, lines, missing] of [
      [api, apiLog.lines, '/api/nothing-here'],
      [proxy, proxyLog.lines, '/nothing-here'],
    ] as const) {
      const before = lines.length;
      for (const path of ['/healthz', '/readyz', '/healthz']) {
        const res = await fetch(`${service.url}${path}`);
        expect(res.status, path).to.equal(200);
        expect(await res.json(), path).to.have.property('status');
      }
      // A request that is logged, so that the lines above had the time to be written.
      const marker = await fetch(`${service.url}${missing}`);
      await marker.arrayBuffer();
      expect(logged(lines, marker.headers.get('x-request-id'))).to.equal(404);
      expect(
        lines.slice(before).filter((l) => l.msg === 'request' && ['/healthz', '/readyz'].includes(String(l.path))),
        service.url,
      ).to.deep.equal([]);
    }
  });

  it('proxy: 401 and 404 are logged as answered', async () => {
    for (const [path, status] of [
      ['/dicom-web/studies', 401],
      ['/nothing-here', 404],
    ] as const) {
      const res = await fetch(`${proxy.url}${path}`);
      await res.arrayBuffer();
      expect(res.status, path).to.equal(status);
      expect(logged(proxyLog.lines, res.headers.get('x-request-id')), path).to.equal(status);
    }
  });
});
