import { expect } from 'chai';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort } from '../scripts/lib/ports.js';
import { NGINX_PATH } from '../scripts/lib/system-packages.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { fixtures, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { spawnGroup, stopStarted } from './helpers/processes.js';
import { sharedApi, sharedDicomProxy } from './helpers/server.js';

/**
 * The reverse proxy of docker-compose.yml, deploy/nginx/mediconnect.conf, run by Debian's nginx in front of the
 * test API and proxy (the compose service names pointed at them): nginx accepts it, routes /api, /dicom-web and
 * the viewer, forwards a request id, and streams an upload through.
 */
describe('reverse proxy: deploy/nginx/mediconnect.conf under nginx (issue 11)', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let h: HospitalWithStaff;
  let nginx: ChildProcess;
  let viewer: http.Server;
  let base: string;
  let dir: string;

  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
    const [api, proxy] = [await sharedApi(), await sharedDicomProxy()];
    viewer = http.createServer((_req, res) => res.end('<title>OHIF viewer stand-in</title>'));
    await new Promise<void>((resolve) => viewer.listen(0, '127.0.0.1', resolve));
    const viewerPort = (viewer.address() as { port: number }).port;
    const port = await freePort();
    dir = mkdtempSync(path.join(process.env.MEDICONNECT_TEST_TMP!, 'nginx-'));
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d));
    const hostPort = (url: string) => new URL(url).host;
    const site = readFileSync('deploy/nginx/mediconnect.conf', 'utf8')
      .replace('server api:8000;', `server ${hostPort(api.url)};`)
      .replace('server dicom-proxy:8080;', `server ${hostPort(proxy.url)};`)
      .replace('server viewer:3000;', `server 127.0.0.1:${viewerPort};`)
      .replace(/listen 80;/, `listen 127.0.0.1:${port};`);
    expect(site, 'every compose service name was pointed at a test service').to.not.match(/server (api|dicom-proxy|viewer):/);
    writeFileSync(path.join(dir, 'mediconnect.conf'), site);
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/mediconnect.conf;
}
`,
    );
    const check = spawnSync(NGINX_PATH, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
    expect(check.status, check.stderr).to.equal(0);
    nginx = spawnGroup(NGINX_PATH, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    base = `http://127.0.0.1:${port}`;
    for (
      let i = 0;
      !(await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    ) {
      if (i > 100) throw new Error(`nginx did not start: ${readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    // nginx's master and its worker, SIGKILL if they linger.
    await stopStarted(nginx);
    await new Promise<void>((resolve) => viewer?.close(() => resolve()) ?? resolve());
  });

  it('routes /api to the API, /dicom-web to the proxy and the rest to the viewer, with a request id', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).to.equal(200);
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: h.doctor.email, password: h.doctor.password }),
    });
    expect(login.status).to.equal(200);
    // nginx's $request_id (32 hex digits) reaches the API, which answers with it.
    expect(login.headers.get('x-request-id')).to.match(/^[0-9a-f]{32}$/);
    const token = ((await login.json()) as { accessToken: string }).accessToken;
    const qido = await fetch(`${base}/dicom-web/studies`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/dicom+json' },
    });
    expect(qido.status).to.equal(200);
    expect(await qido.json()).to.be.an('array');
    const refused = await fetch(`${base}/dicom-web/studies`);
    expect(refused.status).to.equal(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal('AUTHENTICATION_REQUIRED');
    expect(await (await fetch(`${base}/viewer/`)).text()).to.contain('OHIF viewer stand-in');
  });

  it('streams an upload through (no body size limit) to the API', async () => {
    const patient = await f.patient(h.secretary, [h.doctor.id]);
    const files = [0, 1, 2].map((i) => ({
      name: `${i}.dcm`,
      data: synthDicom({ patientId: 'N', studyUid: newUid(), seriesUid: newUid(), rows: 512, columns: 512 }),
    }));
    const res = await upload(base, h.doctor.token, patient.id, files);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.stored).to.have.length(3);
  });
});
