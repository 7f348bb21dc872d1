// DICOMweb proxy benchmark, on one stack in one run:
//  1. frames of a 200-slice 512² CT, 8 concurrent clients: through the proxy vs straight from Orthanc
//     (throughput ratio, added p50/p99 latency) — cold (each round a series the proxy has not read: every frame
//     a miss of its frame cache) and hot (the same series again: served from the cache); the proxy's memory after;
//  2. QIDO /studies for a doctor with 1,000 studies (p50, OHIF's study-list query);
//  3. OHIF time to first image (pixels on the canvas) through the proxy (one-study session, share link, study-list
//     session) vs pointed straight at Orthanc; and the time until an MPR of the whole CT is painted.
import http from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { chromium, type Page } from 'playwright-core';
import { OrthancClient } from '../common/orthanc.js';
import { runIndexerTick } from '../api/src/dicom/index-sync.js';
import { startViewer } from '../dicom-proxy/src/viewer.js';
import { ensureOhifDist } from '../scripts/lib/ohif.js';
import { dismissOverlays, withPixelReader, type PixelReader } from '../test/helpers/ohif.js';
import { freePort } from '../scripts/lib/ports.js';
import { CHROMIUM_PATH } from '../scripts/lib/system-packages.js';
import { runBench, startBenchServers } from './lib.js';
import { ApiClient } from '../test/helpers/client.js';
import { newUid, synthDicom } from '../test/helpers/dicom.js';
import { Fixtures } from '../test/helpers/fixtures.js';

const SLICES = Number(process.env.BENCH_SLICES ?? 200);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const QIDO_STUDIES = Number(process.env.BENCH_QIDO_STUDIES ?? 1000);
const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

// One keep-alive agent for every client, as a browser keeps its connections; Orthanc's `timeout=1` hint
// would otherwise make Node open a connection per request on the direct path only.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
agent.keepSocketAlive = (socket) => {
  (socket as Socket).setTimeout(500);
  (socket as Socket).unref();
  return true;
};

/** GETs a URL and reads its whole body; resolves with the status and the byte count. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Fetches every URL once with `clients` concurrent workers; returns the wall time and each latency. */
async function fetchAll(
  urls: string[],
  headers: Record<string, string>,
  clients: number,
): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < urls.length) {
        const url = urls[next++]!;
        const t = process.hrtime.bigint();
        const res = await get(url, headers);
        if (res.status !== 200 || res.bytes < 512 * 512 * 2) throw new Error(`${url}: ${res.status}, ${res.bytes} bytes`);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, latencies };
}

async function main(): Promise<void> {
  const servers = await startBenchServers(2, { proxyProcess: true });
  const { config, api, proxy } = servers;
  const viewer = await startViewer(config, { distDir: ensureOhifDist(), port: await freePort() });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-web-security'],
  });
  try {
    const f = new Fixtures(new ApiClient(api.url));
    const clinic = await f.hospitalWithStaff();
    const orthanc = new OrthancClient(config.orthanc);
    const orthancAuth = `Basic ${Buffer.from(`${config.orthanc.username}:${config.orthanc.password}`).toString('base64')}`;

    // 1. Frames: one series read again and again (hot), and one new series per round (cold).
    const patient = await f.createPatient(clinic.secretary, [clinic.doctor.id]);
    const study = newUid();
    const storeSeries = async () => {
      const series = newUid();
      const sops: string[] = [];
      for (let i = 0; i < SLICES; i++) {
        const sop = newUid();
        sops.push(sop);
        await orthanc.storeInstance(
          Readable.from([
            synthDicom({
              patientId: patient.identifier,
              studyUid: study,
              seriesUid: series,
              sopUid: sop,
              instanceNumber: i + 1,
              rows: 512,
              columns: 512,
            }),
          ]),
        );
      }
      return { series, sops };
    };
    const hot = await storeSeries();
    const cold: { series: string; sops: string[] }[] = [];
    for (let round = 0; round < ROUNDS; round++) cold.push(await storeSeries());
    const { series, sops } = hot;
    await runIndexerTick(api.deps.db, orthanc);
    const framePath = (sop: string, seriesUid = series) => `/studies/${study}/series/${seriesUid}/instances/${sop}/frames/1`;
    const viaProxy = sops.map((s) => `${proxy.url}/dicom-web${framePath(s)}`);
    // The API origin's WADO root forwards to the proxy: one more HTTP hop (docs/architecture.md, "Why two hops").
    const viaApi = sops.map((s) => `${api.url}/api/dicom/wado${framePath(s)}`);
    const direct = sops.map((s) => `${config.orthanc.url}/dicom-web${framePath(s)}`);
    const coldProxy = cold.map((c) => c.sops.map((s) => `${proxy.url}/dicom-web${framePath(s, c.series)}`));
    const coldDirect = cold.map((c) => c.sops.map((s) => `${config.orthanc.url}/dicom-web${framePath(s, c.series)}`));
    // Orthanc straight, as the proxy asks it (identity), and as a browser would (gzip): the proxy could
    // either pass Orthanc's encoded bytes through or ask for identity; this measures which is faster.
    const proxyHeaders = { accept: FRAME_ACCEPT, authorization: `Bearer ${clinic.doctor.token}` };
    const directHeaders = { accept: FRAME_ACCEPT, authorization: orthancAuth, 'accept-encoding': 'identity' };
    const gzipHeaders = { accept: FRAME_ACCEPT, authorization: orthancAuth, 'accept-encoding': 'gzip' };
    await fetchAll(viaProxy.slice(0, 20), proxyHeaders, CLIENTS);
    await fetchAll(direct.slice(0, 20), directHeaders, CLIENTS);
    await fetchAll(viaApi.slice(0, 20), proxyHeaders, CLIENTS);
    // The hot series read once whole: from here on, the proxy serves it from its frame cache.
    await fetchAll(viaProxy, proxyHeaders, CLIENTS);
    const runs = {
      proxy: { seconds: 0, latencies: [] as number[] },
      api: { seconds: 0, latencies: [] as number[] },
      direct: { seconds: 0, latencies: [] as number[] },
      gzip: { seconds: 0, latencies: [] as number[] },
      coldProxy: { seconds: 0, latencies: [] as number[] },
      coldDirect: { seconds: 0, latencies: [] as number[] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, urls, headers] of [
        ['direct', direct, directHeaders],
        ['gzip', direct, gzipHeaders],
        ['proxy', viaProxy, proxyHeaders],
        ['api', viaApi, proxyHeaders],
        // Cold: Orthanc straight first (so both read files the system has cached alike), then the proxy's first read.
        ['coldDirect', coldDirect[round]!, directHeaders],
        ['coldProxy', coldProxy[round]!, proxyHeaders],
      ] as const) {
        const r = await fetchAll(urls, headers, CLIENTS);
        runs[name].seconds += r.seconds;
        runs[name].latencies.push(...r.latencies);
      }
    }
    const fps = (r: { seconds: number }) => (SLICES * ROUNDS) / r.seconds;
    const sorted = (r: { latencies: number[] }) => [...r.latencies].sort((x, y) => x - y);
    const [pSorted, dSorted, gSorted, aSorted] = [sorted(runs.proxy), sorted(runs.direct), sorted(runs.gzip), sorted(runs.api)];
    const [cpSorted, cdSorted] = [sorted(runs.coldProxy), sorted(runs.coldDirect)];
    const proxyMetrics = await (await fetch(`${proxy.metricsUrl}/metrics`)).text();
    const metricValue = (pattern: RegExp) => Number(pattern.exec(proxyMetrics)?.[1] ?? Number.NaN);
    const cacheBytes = metricValue(/^mediconnect_frame_cache_bytes\{[^}]*\} (\S+)$/m);
    const cacheHits = metricValue(/^mediconnect_cache_lookups_total\{(?=[^}]*cache="frames")(?=[^}]*result="hit")[^}]*\} (\S+)$/m);
    const cacheMisses = metricValue(/^mediconnect_cache_lookups_total\{(?=[^}]*cache="frames")(?=[^}]*result="miss")[^}]*\} (\S+)$/m);
    const rss = metricValue(/^mediconnect_process_resident_memory_bytes\{[^}]*\} (\S+)$/m);

    // 2. QIDO for a doctor with many studies (spread over 50 patients, 64² slices).
    const doctor = await f.activate((await f.account('doctor', clinic.hospital.id, clinic.admin.token)).email);
    const patients = [];
    for (let i = 0; i < 50; i++) patients.push(await f.createPatient(clinic.secretary, [doctor.id]));
    for (let i = 0; i < QIDO_STUDIES; i++) {
      const owner = patients[i % patients.length]!;
      await orthanc.storeInstance(
        Readable.from([
          synthDicom({
            patientId: owner.identifier,
            studyUid: newUid(),
            seriesUid: newUid(),
            rows: 16,
            columns: 16,
            studyDate: `2025${String((i % 12) + 1).padStart(2, '0')}15`,
          }),
        ]),
      );
    }
    while ((await runIndexerTick(api.deps.db, orthanc, undefined, 50)) > 0);
    const qidoUrl = `${proxy.url}/dicom-web/studies?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060`;
    const qidoTimes: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t = process.hrtime.bigint();
      const res = await fetch(qidoUrl, { headers: { authorization: `Bearer ${doctor.token}`, accept: 'application/dicom+json' } });
      const rows = (await res.json()) as unknown[];
      if (rows.length !== 101) throw new Error(`QIDO answered ${rows.length} rows`);
      if (i >= 10) qidoTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    qidoTimes.sort((x, y) => x - y);

    // 3. OHIF time to first image: the same viewer, its DICOMweb roots pointed at the proxy or at Orthanc.
    const session = await f.api.post(
      `/api/dicom/studies/${(await f.api.get(`/api/dicom/studies?q=${study}`, { token: clinic.doctor.token })).body.items[0].id}/viewer-sessions`,
      { token: clinic.doctor.token },
    );
    const original = await (await fetch(`${viewer.url}/app-config.js`)).text();
    const directConfig = original
      .replace(/var qidoRoot = [^;]+;/, `var qidoRoot = ${JSON.stringify(`${config.orthanc.url}/dicom-web`)};`)
      .replace(/var wadoRoot = [^;]+;/, `var wadoRoot = ${JSON.stringify(`${config.orthanc.url}/dicom-web`)};`);
    // The same study through a share link and through a study-list session (opened on the study).
    const studyId = session.body.studyId as string;
    const share = await f.api.post(`/api/dicom/studies/${studyId}/shares`, { token: clinic.doctor.token, body: { expiresInHours: 1 } });
    const list = await f.api.post('/api/viewer-sessions', { token: clinic.doctor.token, body: {} });
    const tokens = {
      session: session.body.token as string,
      share: share.body.token as string,
      list: list.body.token as string,
      direct: session.body.token as string,
    };
    type Route = keyof typeof tokens;
    const firstImage = async (route: Route, then?: (page: Page) => Promise<void>): Promise<number> => {
      const viaOrthanc = route === 'direct';
      // Orthanc wants its credentials on every request: the browser context sends them (CDP, no interception).
      // The viewer's CSP allows the proxy only (as it should): the reference run straight at Orthanc bypasses it.
      const context = await browser.newContext(viaOrthanc ? { extraHTTPHeaders: { authorization: orthancAuth }, bypassCSP: true } : {});
      const page = await context.newPage();
      if (process.env.VIEWER_DEBUG) page.on('console', (m) => console.error('[browser]', m.type(), m.text().slice(0, 300)));
      if (viaOrthanc) await page.route('**/app-config.js', (r) => r.fulfill({ body: directConfig, contentType: 'application/javascript' }));
      const t = Date.now();
      await page.goto(`${viewer.url}/viewer?StudyInstanceUIDs=${study}&token=${encodeURIComponent(tokens[route])}`);
      await withPixelReader(page);
      await page.waitForFunction(
        () => {
          const canvas = document.querySelector('canvas.cornerstone-canvas') as HTMLCanvasElement | null;
          return !!canvas && (window as unknown as { __mcPixels: PixelReader }).__mcPixels(canvas, 97).lit > 0;
        },
        null,
        { timeout: 120_000, polling: 50 },
      );
      let ms = Date.now() - t;
      if (then) {
        await dismissOverlays(page);
        const t2 = Date.now();
        await then(page);
        ms = Date.now() - t2;
      }
      await context.close();
      return ms;
    };
    for (const route of ['session', 'direct', 'share', 'list'] as const) await firstImage(route);
    const ohif: Record<Route, number[]> = { session: [], direct: [], share: [], list: [] };
    for (let i = 0; i < 3; i++)
      for (const route of ['direct', 'session', 'share', 'list'] as const) ohif[route].push(await firstImage(route));
    // MPR of the whole series: from the click on the layout to three planes painted.
    const mpr: number[] = [];
    for (let i = 0; i < 2; i++) {
      mpr.push(
        await firstImage('session', async (page) => {
          await page.locator('[data-cy="Layout"]').click();
          await page.locator('[data-cy="MPR"]').click();
          await page.waitForFunction(
            () => {
              const panes = [...document.querySelectorAll('[data-viewport-uid]')];
              if (panes.length !== 3) return false;
              return panes.every((pane) => {
                const canvas = pane.querySelector('canvas');
                return !!canvas && (window as unknown as { __mcPixels: PixelReader }).__mcPixels(canvas, 31).lit > 200;
              });
            },
            null,
            { timeout: 300_000, polling: 100 },
          );
        }),
      );
    }
    const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;

    console.log(`\nDICOMweb proxy benchmark (2-core machine, local storage)`);
    console.log(`  frames, ${SLICES} slices of 512×512×16 bit, ${CLIENTS} concurrent clients, ${ROUNDS} rounds each:`);
    console.log(
      `    straight from Orthanc : ${fps(runs.direct).toFixed(0)} frames/s, p50 ${percentile(dSorted, 50).toFixed(1)} ms, p99 ${percentile(dSorted, 99).toFixed(1)} ms`,
    );
    console.log(
      `    Orthanc, gzip-encoded : ${fps(runs.gzip).toFixed(0)} frames/s, p50 ${percentile(gSorted, 50).toFixed(1)} ms, p99 ${percentile(gSorted, 99).toFixed(1)} ms (what passing its encoding through would cost)`,
    );
    const line = (label: string, r: { seconds: number }, v: number[]) =>
      console.log(
        `    ${label.padEnd(22)}: ${fps(r).toFixed(0)} frames/s, p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms`,
      );
    line('through the proxy, hot', runs.proxy, pSorted);
    console.log(
      `    hot: ratio ${(fps(runs.proxy) / fps(runs.direct)).toFixed(2)} of Orthanc straight (target ≥ 2); added p50 ${(percentile(pSorted, 50) - percentile(dSorted, 50)).toFixed(1)} ms, p99 ${(percentile(pSorted, 99) - percentile(dSorted, 99)).toFixed(1)} ms`,
    );
    line('Orthanc, cold series', runs.coldDirect, cdSorted);
    line('through the proxy, cold', runs.coldProxy, cpSorted);
    console.log(
      `    cold: ratio ${(fps(runs.coldProxy) / fps(runs.coldDirect)).toFixed(2)} (target ≥ 0.9); added p50 ${(percentile(cpSorted, 50) - percentile(cdSorted, 50)).toFixed(1)} ms, added p99 ${(percentile(cpSorted, 99) - percentile(cdSorted, 99)).toFixed(1)} ms (target ≤ 5 ms)`,
    );
    console.log(
      `    frame cache: ${(cacheBytes / 2 ** 20).toFixed(0)} MB held (cap ${config.proxy.frameCache.maxBytes / 2 ** 20} MB), hit ratio ${(cacheHits / (cacheHits + cacheMisses)).toFixed(2)}; the proxy's resident memory ${(rss / 2 ** 20).toFixed(0)} MB`,
    );
    console.log(
      `    via the API origin    : ${fps(runs.api).toFixed(0)} frames/s, p50 ${percentile(aSorted, 50).toFixed(1)} ms, p99 ${percentile(aSorted, 99).toFixed(1)} ms (API → proxy → Orthanc: the extra hop costs ${(percentile(aSorted, 50) - percentile(pSorted, 50)).toFixed(1)} ms at p50, ${(percentile(aSorted, 99) - percentile(pSorted, 99)).toFixed(1)} ms at p99, ratio ${(fps(runs.api) / fps(runs.proxy)).toFixed(2)} of the proxy)`,
    );
    console.log(
      `  QIDO /studies?limit=101, doctor with ${QIDO_STUDIES} studies: p50 ${percentile(qidoTimes, 50).toFixed(1)} ms, p99 ${percentile(qidoTimes, 99).toFixed(1)} ms (target p50 < 20 ms)`,
    );
    const ratio = (route: Route) => (median(ohif[route]) / median(ohif.direct)).toFixed(2);
    console.log(
      `  OHIF time to first image (median of 3), straight at Orthanc ${median(ohif.direct)} ms; through the proxy (target ≤ 1.1 × Orthanc):`,
    );
    console.log(`    one-study viewer session : ${median(ohif.session)} ms, ratio ${ratio('session')}`);
    console.log(`    share link               : ${median(ohif.share)} ms, ratio ${ratio('share')}`);
    console.log(`    study-list session       : ${median(ohif.list)} ms, ratio ${ratio('list')}`);
    console.log(`  OHIF MPR of the ${SLICES}-slice CT, layout click to three planes painted: ${mpr.map((m) => `${m} ms`).join(', ')}`);
  } finally {
    await browser.close();
    await viewer.stop();
    await servers.stop();
  }
}

runBench(main);
