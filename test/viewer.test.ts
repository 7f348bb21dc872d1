import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { createLogger } from '../common/logger.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { startViewer } from '../dicom-proxy/src/viewer.js';
import { ensureOhifDist } from '../scripts/lib/ohif.js';
import { freePort } from '../scripts/lib/ports.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { testConfig } from './helpers/server.js';
import { launchChromium, waitForPixels } from './helpers/ohif.js';

describe('OHIF Viewer in Chromium, through the proxy with a viewer session: pixels on the canvas', function () {
  this.timeout(180_000);
  let f: Fixtures;
  let proxy: RunningProxy;
  let viewer: Awaited<ReturnType<typeof startViewer>>;
  let browser: Browser;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  const study = { uid: newUid(), series: newUid(), id: '' };
  const otherStudy = { uid: newUid(), id: '' };
  let base: string;

  before(async () => {
    f = await fixtures();
    const proxyPort = await freePort();
    base = `http://127.0.0.1:${proxyPort}/dicom-web`;
    const config = testConfig({ DICOM_WEB_URL: base });
    proxy = await startProxy(config, { port: proxyPort, logger: createLogger('silent', 'proxy-test') });
    viewer = await startViewer(config, { distDir: ensureOhifDist(), port: await freePort() });
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
    const slices = [1, 2, 3].map((n) => ({
      name: `${n}.dcm`,
      data: synthDicom({ patientId: 'V', studyUid: study.uid, seriesUid: study.series, instanceNumber: n, rows: 128, columns: 128 }),
    }));
    study.id = (await upload(f.api.baseUrl, h.doctor.token, patient.id, slices)).body.studies[0].id;
    otherStudy.id = (
      await upload(f.api.baseUrl, h.doctor.token, patient.id, [
        { name: 'o.dcm', data: synthDicom({ patientId: 'V', studyUid: otherStudy.uid, seriesUid: newUid() }) },
      ])
    ).body.studies[0].id;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await viewer?.stop();
    await proxy?.stop();
  });

  /** Opens the viewer and records every answer of the proxy, and what the page's CSP refused, until `done` says enough. */
  async function openViewer(url: string, done: (seen: { url: string; status: number }[]) => boolean) {
    const page = await browser.newPage();
    const seen: { url: string; status: number }[] = [];
    const refused: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text().slice(0, 300));
      if (process.env.VIEWER_DEBUG) console.error('[browser]', m.type(), m.text().slice(0, 300));
    });
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`Refused to load ${e.blockedURI} (Content Security Policy: ${e.violatedDirective})`),
      ),
    );
    page.on('response', (r) => {
      if (r.url().startsWith(base)) seen.push({ url: r.url(), status: r.status() });
    });
    const response = await page.goto(url);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !done(seen)) await new Promise((r) => setTimeout(r, 250));
    return { page, seen, refused, headers: response?.headers() ?? {} };
  }

  it('loads the study’s series and pixels from the proxy, authorized by the session token', async () => {
    const session = await f.api.post(`/api/dicom/studies/${study.id}/viewer-sessions`, { token: h.doctor.token });
    expect(session.status).to.equal(201);
    const url = new URL(session.body.viewerUrl.replace(/^https?:\/\/[^/]+\/viewer/, `${viewer.url}/viewer`));
    const pixelsLoaded = (seen: { url: string; status: number }[]) =>
      seen.some((s) => s.url.includes(`/series/${study.series}/metadata`) && s.status === 200) &&
      seen.some((s) => /\/(frames\/\d+|bulk\/|rendered)/.test(s.url) && s.status === 200);
    const { page, seen, refused, headers } = await openViewer(url.toString(), pixelsLoaded);
    const shown = await waitForPixels(page);
    // Kept for people debugging the viewer: a picture of what OHIF showed.
    await page.screenshot({ path: path.join(mkdtempSync(path.join(os.tmpdir(), 'ohif-')), 'viewer.png') });
    await page.close();
    expect(shown.viewport, JSON.stringify(shown.all)).to.be.greaterThan(10_000);
    expect(shown.thumbnail, JSON.stringify(shown.all)).to.be.greaterThan(1_000);
    expect(pixelsLoaded(seen), JSON.stringify(seen.slice(0, 20))).to.equal(true);
    expect(seen.every((s) => s.url.includes(`/t/${encodeURIComponent(session.body.token)}/`))).to.equal(true);
    expect(seen.filter((s) => s.status >= 400)).to.deep.equal([]);
    // The page, whose URL carries the token, leaks no referrer, cannot be framed, and OHIF works under its CSP.
    expect(headers['referrer-policy']).to.equal('no-referrer');
    expect(headers['x-frame-options']).to.equal('DENY');
    expect(headers['content-security-policy'])
      .to.include("frame-ancestors 'none'")
      .and.include(`connect-src 'self' ${new URL(base).origin}`);
    expect(refused, 'what the CSP refused').to.deep.equal([]);
  });

  it('shows the image through the API origin too (DICOM_WEB_URL = the API’s /api/dicom)', async () => {
    const apiViewer = await startViewer(testConfig({ DICOM_WEB_URL: `${f.api.baseUrl}/api/dicom` }), {
      distDir: ensureOhifDist(),
      port: await freePort(),
    });
    try {
      const session = await f.api.post(`/api/dicom/studies/${study.id}/viewer-sessions`, { token: patient.token });
      const page = await browser.newPage();
      const seen: string[] = [];
      page.on('response', (r) => {
        if (r.url().startsWith(f.api.baseUrl)) seen.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(`${apiViewer.url}/viewer?StudyInstanceUIDs=${study.uid}&token=${encodeURIComponent(session.body.token)}`);
      const shown = await waitForPixels(page);
      await page.close();
      expect(shown.viewport, JSON.stringify(seen.slice(0, 10))).to.be.greaterThan(10_000);
      expect(seen.some((u) => u.includes('/api/dicom/qido/t/'))).to.equal(true);
      expect(seen.some((u) => /\/api\/dicom\/wado\/t\/.*\/frames\//.test(u))).to.equal(true);
      expect(seen.filter((u) => !u.startsWith('200'))).to.deep.equal([]);
    } finally {
      await apiViewer.stop();
    }
  });

  it('a session for one study opens nothing of another study', async () => {
    const session = await f.api.post(`/api/dicom/studies/${study.id}/viewer-sessions`, { token: patient.token });
    const url = `${viewer.url}/viewer?StudyInstanceUIDs=${otherStudy.uid}&token=${encodeURIComponent(session.body.token)}`;
    const { page, seen } = await openViewer(
      url,
      (s) => s.some((x) => x.status === 404) || s.some((x) => x.status === 200 && x.url.includes('/metadata')),
    );
    const shown = await waitForPixels(page, 5_000);
    await page.close();
    expect(shown.viewport, 'no image in the viewport').to.equal(0);
    expect(shown.thumbnail, 'no thumbnail').to.equal(0);
    expect(seen.filter((s) => s.status === 200 && s.url.includes('/metadata'))).to.deep.equal([]);
    expect(seen.some((s) => s.status === 404 || (s.status === 200 && !s.url.includes(otherStudy.uid)))).to.equal(true);
  });
});
