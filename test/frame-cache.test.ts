import { expect } from 'chai';
import type { RunningProxy } from '../dicom-proxy/src/server.js';
import { freePort } from '../scripts/lib/ports.js';
import { testDb } from './helpers/db.js';
import { newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { parseMultipart } from './helpers/multipart.js';
import { startTestProxy } from './helpers/server.js';

const FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*';
const CAP_MB = 2;

/** Polls `check` until it holds (a NOTIFY reaches the proxy asynchronously), at most 10 s. */
async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within 10 s`);
}

describe('frame cache: images read again come from the proxy’s memory, as Orthanc’s bytes, after the same authorization', function () {
  this.timeout(180_000);
  let f: Fixtures;
  let clinic: HospitalWithStaff;
  let other: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  let proxy: RunningProxy;
  let base: string;
  let metricsUrl: string;
  const study = newUid();
  const [seriesA, seriesB] = [newUid(), newUid()];
  const sopsA = Array.from({ length: 3 }, () => newUid());
  const sopsB = Array.from({ length: 20 }, () => newUid());
  let studyId: string;

  before(async () => {
    f = await fixtures();
    [clinic, other] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    patient = await f.patient(clinic.secretary, [clinic.doctor.id]);
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    ({ proxy, base } = await startTestProxy({ DICOM_PROXY_FRAME_CACHE_MB: String(CAP_MB), DICOM_PROXY_METRICS_PORT: String(metricsPort) }));
    // Series A: three small slices; series B: twenty 256×256 slices (128 KB of pixels each: more than the cap in all).
    const files = [
      ...sopsA.map((sop, i) => ({ sop, series: seriesA, size: 64, n: i + 1 })),
      ...sopsB.map((sop, i) => ({ sop, series: seriesB, size: 256, n: i + 1 })),
    ].map(({ sop, series, size, n }) => ({
      name: `${sop}.dcm`,
      data: synthDicom({
        patientId: 'ignored',
        studyUid: study,
        seriesUid: series,
        sopUid: sop,
        instanceNumber: n,
        rows: size,
        columns: size,
      }),
    }));
    const res = await upload(f.api.baseUrl, clinic.doctor.token, patient.id, files);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.stored).to.have.length(files.length);
    studyId = (await f.api.get(`/api/dicom/studies?q=${study}`, { token: clinic.doctor.token })).body.items[0].id;
  });
  after(async () => proxy?.stop());

  const instance = (series: string, sop: string) => `/studies/${study}/series/${series}/instances/${sop}`;
  const get = (pathname: string, token: string | null, accept: string, method = 'GET') =>
    fetch(`${base}${pathname}`, { method, headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  /** A sample of the proxy's /metrics: the series whose labels include all of `labels` (0 when absent). */
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const text = await (await fetch(metricsUrl)).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (m?.[1] === name && wanted.every((w) => (m[2] ?? '').split(',').includes(w))) return Number(m[3]);
    }
    return 0;
  };
  const frameHits = () => metric('mediconnect_cache_lookups_total', { cache: 'frames', result: 'hit' });

  it('a frame, a rendering and a thumbnail read twice: Orthanc’s answer, then the cache’s — the same bytes; HEAD too', async () => {
    const hitsBefore = await frameHits();
    const frame = `${instance(seriesA, sopsA[0]!)}/frames/1`;
    const direct = await testOrthanc().fetch(`/dicom-web${frame}`, { headers: { accept: FRAME_ACCEPT } });
    const expected = parseMultipart(direct.headers.get('content-type'), Buffer.from(await direct.arrayBuffer()));
    for (const round of ['miss', 'hit']) {
      const res = await get(frame, clinic.doctor.token, FRAME_ACCEPT);
      expect(res.status, round).to.equal(200);
      expect(res.headers.get('x-mediconnect-cache')).to.equal(round);
      const parts = parseMultipart(res.headers.get('content-type'), Buffer.from(await res.arrayBuffer()));
      // Orthanc's part headers name its own root; the proxy's name the proxy's.
      const orthancRoot = `${process.env.ORTHANC_URL}/dicom-web`;
      expect(parts.map((p) => p.headers)).to.deep.equal(
        expected.map((p) => Object.fromEntries(Object.entries(p.headers).map(([k, v]) => [k, v.split(orthancRoot).join(base)]))),
      );
      expect(parts[0]!.headers['content-location'], 'a part header the cache rewrites per caller').to.include(base);
      expect(parts.map((p) => p.body.equals(expected[0]!.body))).to.deep.equal([true]);
      expect(parts[0]!.body.length, 'the 64×64×16-bit frame').to.equal(64 * 64 * 2);
    }
    for (const [pathname, reference] of [
      [`${instance(seriesA, sopsA[1]!)}/rendered?window=100,500,linear`, `${instance(seriesA, sopsA[1]!)}/rendered?window=100,500,linear`],
      [`${instance(seriesA, sopsA[1]!)}/frames/1/rendered`, `${instance(seriesA, sopsA[1]!)}/frames/1/rendered`],
      [`/studies/${study}/series/${seriesA}/thumbnail`, `${instance(seriesA, sopsA[1]!)}/rendered?viewport=128,128`],
    ] as const) {
      const orthanc = Buffer.from(
        await (await testOrthanc().fetch(`/dicom-web${reference}`, { headers: { accept: 'image/jpeg' } })).arrayBuffer(),
      );
      expect(orthanc.length).to.be.greaterThan(100);
      for (const round of ['miss', 'hit']) {
        const res = await get(pathname, clinic.doctor.token, 'image/jpeg');
        expect(res.status, `${pathname} ${round}`).to.equal(200);
        expect(res.headers.get('x-mediconnect-cache'), pathname).to.equal(round);
        expect(res.headers.get('content-type')).to.equal('image/jpeg');
        expect(Buffer.from(await res.arrayBuffer()).equals(orthanc), `${pathname} ${round}: Orthanc's bytes`).to.equal(true);
      }
    }
    // Another transfer syntax or media type is another entry.
    const other = await get(
      frame,
      clinic.doctor.token,
      'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1',
    );
    expect(other.headers.get('x-mediconnect-cache')).to.equal('miss');
    await other.arrayBuffer();
    const head = await get(frame, clinic.doctor.token, FRAME_ACCEPT, 'HEAD');
    expect([head.status, head.headers.get('x-mediconnect-cache')]).to.deep.equal([200, 'hit']);
    const hits = await frameHits();
    expect(hits - hitsBefore, 'hits counted in /metrics').to.equal(5);
    expect(await metric('mediconnect_frame_cache_bytes')).to.equal(proxy.frames.stats.bytes);
    expect(proxy.frames.stats.bytes).to.be.greaterThan(64 * 64 * 2);
  });

  it('the cache decides nothing: whoever may not read the study is refused as before, and a hit is audited', async () => {
    const frame = `${instance(seriesA, sopsA[0]!)}/frames/1`;
    expect((await get(frame, clinic.doctor.token, FRAME_ACCEPT)).headers.get('x-mediconnect-cache')).to.equal('hit');
    const outsider = await f.patient(clinic.secretary, [clinic.doctor.id]);
    const foreignStudy = newUid();
    expect(
      (
        await upload(f.api.baseUrl, clinic.doctor.token, outsider.id, [
          { name: 'x.dcm', data: synthDicom({ patientId: 'x', studyUid: foreignStudy, seriesUid: newUid() }) },
        ])
      ).status,
    ).to.equal(201);
    const foreignId = (await f.api.get(`/api/dicom/studies?q=${foreignStudy}`, { token: clinic.doctor.token })).body.items[0].id;
    const session = await f.api.post(`/api/dicom/studies/${foreignId}/viewer-sessions`, { token: clinic.doctor.token });
    for (const [who, token, status] of [
      ['a doctor of another hospital', other.doctor.token, 404],
      ['another patient of the same doctor', outsider.token, 404],
      ['a viewer session of another study', session.body.token as string, 404],
      ['no token', null, 401],
    ] as const) {
      const res = await get(frame, token, FRAME_ACCEPT);
      expect(res.status, who).to.equal(status);
      expect(res.headers.get('x-mediconnect-cache'), who).to.equal(null);
      expect((await res.json()).error.code, who).to.be.a('string');
    }
    const own = await get(frame, patient.token, FRAME_ACCEPT);
    expect([own.status, own.headers.get('x-mediconnect-cache')], 'the patient itself').to.deep.equal([200, 'hit']);
    await own.arrayBuffer();
    const audited = await testDb()('audit_log').where({ action: 'dicom.images_viewed', actor_id: patient.id, target_id: studyId });
    expect(audited, 'the read from the cache is in the patient’s trail').to.have.length(1);
  });

  it('holds no more than its cap, however many frames are read', async () => {
    for (const sop of sopsB) {
      const res = await get(`${instance(seriesB, sop)}/frames/1`, clinic.doctor.token, FRAME_ACCEPT);
      expect(res.status).to.equal(200);
      expect((await res.arrayBuffer()).byteLength).to.be.greaterThan(256 * 256 * 2);
    }
    expect(proxy.frames.stats.bytes).to.be.at.most(CAP_MB * 1024 * 1024);
    expect(proxy.frames.stats.entries, 'older entries made room').to.be.lessThan(sopsB.length);
    const last = await get(`${instance(seriesB, sopsB.at(-1)!)}/frames/1`, clinic.doctor.token, FRAME_ACCEPT);
    expect(last.headers.get('x-mediconnect-cache'), 'the most recent stays').to.equal('hit');
    await last.arrayBuffer();
  });

  it('a study that moves to another patient, loses a series or is deleted: its images are no longer served from memory', async () => {
    const frame = `${instance(seriesA, sopsA[2]!)}/frames/1`;
    // Read until served from memory: a fill that raced the announcement of the last change is not kept (by design).
    const warm = async (pathname = frame) => {
      for (let i = 0; i < 20; i++) {
        const res = await get(pathname, clinic.doctor.token, FRAME_ACCEPT);
        await res.arrayBuffer();
        if (res.headers.get('x-mediconnect-cache') === 'hit') return 'hit';
        await new Promise((r) => setTimeout(r, 50));
      }
      return 'miss';
    };
    const cached = () => proxy.frames.lookup(`${study}\n${frame}\n\n${FRAME_ACCEPT}`, study).hit !== null;
    expect(await warm()).to.equal('hit');
    // The owner recorded in the index changes (as re-filing a study does): the trigger announces it.
    const owner = (await testDb()('dicom_studies').where({ id: studyId }).first('patient_id')).patient_id as string;
    const elsewhere = await f.patient(clinic.secretary, [clinic.doctor.id]);
    await testDb()('dicom_studies').where({ id: studyId }).update({ patient_id: elsewhere.id });
    await eventually('dropped after the owner changed', () => !cached());
    await testDb()('dicom_studies').where({ id: studyId }).update({ patient_id: owner });
    expect(await warm()).to.equal('hit');
    // A series deleted: Orthanc no longer has its instances, and neither does the cache.
    const series = (await f.api.get(`/api/dicom/studies/${studyId}/series`, { token: clinic.doctor.token })).body.items as {
      id: string;
      seriesInstanceUid: string;
    }[];
    const a = series.find((s) => s.seriesInstanceUid === seriesA)!;
    expect((await f.api.delete(`/api/dicom/series/${a.id}`, { token: clinic.doctor.token })).status).to.equal(204);
    await eventually('dropped after a series was deleted', () => !cached());
    const gone = await get(frame, clinic.doctor.token, FRAME_ACCEPT);
    expect(gone.status, 'as Orthanc: the instance is gone').to.equal(404);
    expect((await testOrthanc().fetch(`/dicom-web${frame}`, { headers: { accept: FRAME_ACCEPT } })).status).to.equal(404);
    // The study deleted: nothing of it is held.
    const frameB = `${instance(seriesB, sopsB.at(-1)!)}/frames/1`;
    expect(await warm(frameB)).to.equal('hit');
    expect((await f.api.delete(`/api/dicom/studies/${studyId}`, { token: clinic.doctor.token })).status).to.equal(204);
    await eventually(
      'the study’s entries dropped',
      () => proxy.frames.lookup(`${study}\n${frameB}\n\n${FRAME_ACCEPT}`, study).hit === null,
    );
    expect((await get(frameB, clinic.doctor.token, FRAME_ACCEPT)).status).to.equal(404);
  });
});
