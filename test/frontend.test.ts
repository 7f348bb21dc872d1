import { expect } from 'chai';
import http from 'node:http';
import type { Browser } from 'playwright-core';
import type { RunningApi } from '../api/src/server.js';
import { ConfigError } from '../common/config.js';
import { freePort } from '../scripts/lib/ports.js';
import { ApiClient } from './helpers/client.js';
import { Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { launchChromium } from './helpers/ohif.js';
import { startTestApi, testConfig } from './helpers/server.js';

/** A frontend's page on its own origin: it logs in and lists patients with fetch, and shows what happened. */
const PAGE = `<!doctype html><script>
async function run(api, email, password) {
  try {
    const login = await fetch(api + '/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    const { accessToken } = await login.json();
    const list = await fetch(api + '/api/patients?pageSize=5', { headers: { authorization: 'Bearer ' + accessToken } });
    return { status: list.status, requestId: list.headers.get('x-request-id'), body: await list.json() };
  } catch (err) {
    return { error: String(err) };
  }
}
</script>`;

describe('the API as a web frontend uses it (issue 10)', function () {
  this.timeout(120_000);
  let frontend: http.Server;
  let origin: string;
  let allowing: RunningApi;
  let closed: RunningApi;
  let browser: Browser;
  let h: HospitalWithStaff;

  before(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    frontend = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
    await new Promise<void>((resolve) => frontend.listen(port, '127.0.0.1', resolve));
    allowing = await startTestApi({ API_CORS_ORIGINS: `http://other.example, ${origin}` });
    closed = await startTestApi({ API_CORS_ORIGINS: '' });
    h = await new Fixtures(new ApiClient(allowing.url)).hospitalWithStaff();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await allowing?.stop();
    await closed?.stop();
    await new Promise((resolve) => frontend?.close(resolve));
  });

  describe('CORS', () => {
    it('a page on an allowed origin logs in and lists patients with fetch; on a closed API the browser blocks it', async () => {
      const page = await browser.newPage();
      await page.goto(origin);
      const ok = await page.evaluate(({ api, email, password }) => (window as unknown as { run: (...a: string[]) => Promise<unknown> }).run(api, email, password), { api: allowing.url, email: h.secretary.email, password: h.secretary.password });
      expect(ok).to.include({ status: 200 });
      expect((ok as { requestId: string }).requestId, 'X-Request-Id exposed').to.be.a('string');
      expect((ok as { body: { items: unknown[] } }).body.items).to.be.an('array');
      const blocked = await page.evaluate(({ api, email, password }) => (window as unknown as { run: (...a: string[]) => Promise<unknown> }).run(api, email, password), { api: closed.url, email: h.secretary.email, password: h.secretary.password });
      await page.close();
      expect(blocked).to.have.property('error').that.matches(/Failed to fetch|TypeError/);
    });

    it('answers preflights for allowed origins only, never with credentials', async () => {
      const preflight = (api: string, from: string) =>
        fetch(`${api}/api/auth/login`, { method: 'OPTIONS', headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
      const yes = await preflight(allowing.url, origin);
      expect(yes.status).to.equal(204);
      expect(yes.headers.get('access-control-allow-origin')).to.equal(origin);
      expect(yes.headers.get('access-control-allow-headers')).to.include('authorization').and.include('content-type');
      expect(yes.headers.get('access-control-allow-credentials')).to.equal(null);
      const no = await preflight(allowing.url, 'http://evil.example');
      expect(no.headers.get('access-control-allow-origin')).to.equal(null);
      expect((await preflight(closed.url, origin)).headers.get('access-control-allow-origin')).to.equal(null);
    });

    it('refuses `*` in production', () => {
      expect(() => testConfig({ NODE_ENV: 'production', API_CORS_ORIGINS: '*' })).to.throw(ConfigError, /API_CORS_ORIGINS/);
      expect(testConfig({ API_CORS_ORIGINS: 'http://a.example/, http://b.example' }).api.corsOrigins).to.deep.equal(['http://a.example', 'http://b.example']);
    });
  });
});
