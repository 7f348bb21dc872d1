import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { createLogger } from '../common/logger.js';
import { startProxy, type RunningProxy } from '../dicom-proxy/src/server.js';
import { startViewer } from '../dicom-proxy/src/viewer.js';
import { ensureOhifDist } from '../scripts/lib/ohif.js';
import { freePort } from '../scripts/lib/ports.js';
import { newUid, synthDicom, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { dismissOverlays, launchChromium, probePixels, waitForPixels, withPixelReader, type PixelReader } from './helpers/ohif.js';
import { testConfig } from './helpers/server.js';

describe('OHIF tools through the proxy: layouts, MPR, 3D, capture (issue 9)', function () {
  this.timeout(300_000);
  let f: Fixtures;
  let proxy: RunningProxy;
  let viewer: Awaited<ReturnType<typeof startViewer>>;
  let browser: Browser;
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  const study = { uid: newUid(), id: '' };

  before(async () => {
    f = await fixtures();
    const proxyPort = await freePort();
    const config = testConfig({ DICOM_WEB_URL: `http://127.0.0.1:${proxyPort}/dicom-web` });
    proxy = await startProxy(config, { port: proxyPort, logger: createLogger('silent', 'proxy-test') });
    viewer = await startViewer(config, { distDir: ensureOhifDist(), port: await freePort() });
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
    // A CT volume (40 slices of 128², 1 mm apart) and three short series: enough for every layout.
    const files = [];
    const volume = newUid();
    for (let n = 1; n <= 40; n++)
      files.push({
        name: `v${n}.dcm`,
        data: synthDicom({
          patientId: 'T',
          studyUid: study.uid,
          seriesUid: volume,
          seriesNumber: 1,
          instanceNumber: n,
          rows: 128,
          columns: 128,
        }),
      });
    for (let s = 0; s < 3; s++) {
      const series = newUid();
      for (let n = 1; n <= 3; n++)
        files.push({
          name: `s${s}-${n}.dcm`,
          data: synthDicom({
            patientId: 'T',
            studyUid: study.uid,
            seriesUid: series,
            seriesNumber: s + 2,
            instanceNumber: n,
            rows: 128,
            columns: 128,
          }),
        });
    }
    const res = await upload(f.api.baseUrl, h.doctor.token, patient.id, files);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).to.equal(201);
    study.id = res.body.studies[0].id;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await viewer?.stop();
    await proxy?.stop();
  });

  async function openStudy(): Promise<Page> {
    const session = await f.api.post(`/api/dicom/studies/${study.id}/viewer-sessions`, { token: h.doctor.token });
    const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
    if (process.env.VIEWER_DEBUG) page.on('console', (m) => console.error('[browser]', m.type(), m.text().slice(0, 300)));
    await page.goto(`${viewer.url}/viewer?StudyInstanceUIDs=${study.uid}&token=${encodeURIComponent(session.body.token)}`);
    const shown = await waitForPixels(page);
    expect(shown.viewport).to.be.greaterThan(1_000);
    await dismissOverlays(page);
    return page;
  }

  /** Opens the layout menu and picks an entry (a preset's name, or a grid cell `Layout-{col}-{row}`). */
  async function chooseLayout(page: Page, entry: string): Promise<void> {
    const menu = page.locator('[data-cy="Layout-0-0"]');
    if (!(await menu.isVisible())) await page.locator('[data-cy="Layout"]').click();
    await menu.waitFor();
    const item = page.locator(`[data-cy="${entry}"]`).first();
    // The grid picks rows and columns on hover, and applies them on click.
    await item.hover();
    await item.click();
  }

  /** Grid cells, once there are `cells` of them, and how many show image pixels (each counted once by position). */
  async function litPanes(page: Page, cells: number, want: number, timeoutMs = 90_000): Promise<{ panes: number; lit: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Grid cells: empty ones carry no viewport pane yet.
      const panes = await page.evaluate(() => document.querySelector('[data-cy="viewport-grid"]')?.children.length ?? 0);
      const painted = await probePixels(page);
      const lit = new Set(
        painted
          .filter((p) => p.tag === 'CANVAS' && p.inViewport && p.lit > 1_000 && p.box.w > 50)
          .map((p) => `${Math.round(p.box.x / 20)}:${Math.round(p.box.y / 20)}`),
      ).size;
      if ((panes === cells && lit >= want) || Date.now() > deadline) return { panes, lit };
      await page.waitForTimeout(500);
    }
  }

  it('2×2 and 3×3 layouts: the grid has four and nine viewports, four of them show pixels (one per series)', async () => {
    const page = await openStudy();
    await chooseLayout(page, 'Layout-1-1');
    const two = await litPanes(page, 4, 4);
    expect(two.panes).to.equal(4);
    expect(two.lit, 'viewports with pixels').to.equal(4);
    await chooseLayout(page, 'Layout-2-2');
    const three = await litPanes(page, 9, 4);
    await page.close();
    expect(three.panes).to.equal(9);
    // Four series for nine cells: each series shown once, the other cells left empty.
    expect(three.lit).to.equal(4);
  });

  /** Per viewport (by its cornerstone id): pixels lit, and a checksum of what it shows. */
  async function paintedViewports(page: Page): Promise<{ id: string; lit: number; sum: number }[]> {
    await withPixelReader(page);
    return page.evaluate(() => {
      const pixels = (window as unknown as { __mcPixels: PixelReader }).__mcPixels;
      return [...document.querySelectorAll('[data-viewport-uid]')].map((el) => {
        let lit = 0;
        let sum = 0;
        for (const canvas of el.querySelectorAll('canvas')) {
          const count = pixels(canvas);
          lit += count.lit;
          sum = (sum * 31 + count.sum) % 1_000_000_007;
        }
        return { id: el.getAttribute('data-viewport-uid')!, lit, sum };
      });
    });
  }

  /** Waits until `want` viewports show pixels (over 1,000) that differ from what any viewport showed `before`. */
  async function newlyPainted(page: Page, before: { sum: number }[], want: number, timeoutMs = 90_000) {
    const old = new Set(before.map((b) => b.sum));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = (await paintedViewports(page)).filter((v) => v.lit > 1_000 && !old.has(v.sum));
      if (now.length >= want || Date.now() > deadline) return now;
      await page.waitForTimeout(500);
    }
  }

  it('MPR: three orthogonal viewports of the CT volume show pixels (axial square, sagittal and coronal 40 slices high)', async () => {
    const page = await openStudy();
    const before = await paintedViewports(page);
    await chooseLayout(page, 'MPR');
    const lit = await newlyPainted(page, before, 3);
    await page.close();
    expect(lit, JSON.stringify(lit)).to.have.length(3);
    // Reformatted, not three copies of one slice: the 128 × 40 mm planes cover less of their viewport than the 128 × 128 mm one.
    const counts = lit.map((v) => v.lit).sort((a, b) => a - b);
    expect(counts[0]! / counts[2]!, JSON.stringify(lit)).to.be.lessThan(0.8);
  });

  it('3D: the volume-rendering viewport renders the CT (what it shows differs from the 2D slice)', async () => {
    const page = await openStudy();
    const before = await paintedViewports(page);
    await chooseLayout(page, '3D only');
    const lit = await newlyPainted(page, before, 1);
    await page.close();
    expect(lit, JSON.stringify(before)).to.have.length(1);
  });

  it('the capture tool downloads the viewport as an image with non-background pixels', async () => {
    const page = await openStudy();
    await page.locator('[data-cy="Capture"]').click();
    const download = page.waitForEvent('download', { timeout: 60_000 });
    await page.getByRole('button', { name: /^save image$/i }).click();
    const file = await (await download).path();
    const image = readFileSync(file!);
    // OHIF saves JPEG by default (PNG on request): decoded by the browser, as a user's image viewer would.
    const type =
      image.subarray(0, 2).toString('hex') === 'ffd8' ? 'image/jpeg' : image.subarray(1, 4).toString() === 'PNG' ? 'image/png' : 'unknown';
    expect(type, 'a JPEG or PNG file').to.not.equal('unknown');
    await withPixelReader(page);
    const lit = await page.evaluate(
      async ({ b64, mime }) => {
        const img = new Image();
        img.src = `data:${mime};base64,${b64}`;
        await img.decode();
        const n = (window as unknown as { __mcPixels: PixelReader }).__mcPixels(img).lit;
        return { n, width: img.naturalWidth, height: img.naturalHeight };
      },
      { b64: image.toString('base64'), mime: type },
    );
    await page.close();
    expect(lit.width).to.be.greaterThan(100);
    expect(lit.n, 'non-background pixels in the captured image').to.be.greaterThan(5_000);
  });
});
