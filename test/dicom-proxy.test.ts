import { expect } from 'chai';
import { createLogger } from '../common/logger.js';
import type { RunningProxy } from '../dicom-proxy/src/server.js';
import { newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestProxy, testConfig } from './helpers/server.js';

type DicomJson = Record<string, { Value?: unknown[] }>;
const uidOf = (item: DicomJson, tag: string) => String(item[tag]?.Value?.[0] ?? '');

describe('DICOMweb proxy (QIDO / WADO filtered by the patient–doctor links)', () => {
  let f: Fixtures;
  let proxy: RunningProxy;
  let base: string;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let p1: Actor & { identifier: string };
  let p2: Actor & { identifier: string };
  let p3: Actor & { identifier: string };
  const studies: Record<string, { study: string; series: string; sop: string }> = {};

  before(async () => {
    f = await fixtures();
    ({ proxy, base } = await startTestProxy());
    [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    p1 = await f.patient(a.secretary, [a.doctor.id]);
    p2 = await f.patient(a.secretary, [a.doctor.id]);
    p3 = await f.patient(b.secretary, [b.doctor.id]);
    for (const [name, patient, doctor] of [
      ['p1', p1, a.doctor],
      ['p2', p2, a.doctor],
      ['p3', p3, b.doctor],
    ] as const) {
      const ids = { study: newUid(), series: newUid(), sop: newUid() };
      const res = await upload(f.api.baseUrl, doctor.token, patient.id, [
        { name: 'x.dcm', data: synthDicom({ patientId: 'ELSEWHERE', studyUid: ids.study, seriesUid: ids.series, sopUid: ids.sop }) },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      studies[name] = ids;
    }
  });
  after(async () => proxy?.stop());

  const get = (who: Actor | null, path: string, accept = 'application/dicom+json') =>
    fetch(`${base}${path}`, { headers: { accept, ...(who ? { authorization: `Bearer ${who.token}` } : {}) } });
  const studyUids = async (who: Actor, query = '') =>
    ((await (await get(who, `/studies${query}`)).json()) as DicomJson[]).map((s) => uidOf(s, '0020000D'));

  it('QIDO /studies: a doctor sees its linked patients’ studies only, whatever the filters', async () => {
    const mine = await studyUids(a.doctor);
    expect(mine).to.include.members([studies.p1!.study, studies.p2!.study]);
    expect(mine).to.not.include(studies.p3!.study);
    expect(await studyUids(a.doctor, '?PatientID=*')).to.not.include(studies.p3!.study);
    expect(await studyUids(a.doctor, `?PatientID=${p3.identifier}`)).to.deep.equal([]);
    expect(await studyUids(a.doctor, `?StudyInstanceUID=${studies.p3!.study}`)).to.deep.equal([]);
    expect(await studyUids(a.doctor, `?PatientID=${p1.identifier}`)).to.deep.equal([studies.p1!.study]);
    const paged = await studyUids(a.doctor, '?limit=1');
    expect(paged).to.have.length(1);
  });

  it('QIDO /studies: a patient sees its own studies only; staff without links see none', async () => {
    expect(await studyUids(p1)).to.deep.equal([studies.p1!.study]);
    expect(await studyUids(p3)).to.deep.equal([studies.p3!.study]);
    for (const who of [a.secretary, a.admin]) {
      const res = await get(who, '/studies');
      expect(res.status, who.role).to.equal(200);
      expect(await res.json()).to.deep.equal([]);
    }
  });

  it('QIDO under a study and WADO answer 404 outside the caller’s patients', async () => {
    const s3 = studies.p3!;
    for (const path of [
      `/studies/${s3.study}/series`,
      `/studies/${s3.study}/metadata`,
      `/studies/${s3.study}/series/${s3.series}/instances/${s3.sop}`,
    ]) {
      expect((await get(a.doctor, path)).status, path).to.equal(404);
      expect((await get(p1, path)).status, path).to.equal(404);
      expect((await get(b.doctor, path)).status, path).to.not.equal(404);
    }
  });

  it('WADO metadata streams with URLs rewritten to the proxy; retrieve returns the DICOM file', async () => {
    const s1 = studies.p1!;
    const meta = await get(a.doctor, `/studies/${s1.study}/series/${s1.series}/metadata`);
    expect(meta.status).to.equal(200);
    const text = await meta.text();
    expect(text).to.not.include(process.env.ORTHANC_URL!);
    const items = JSON.parse(text) as DicomJson[];
    expect(uidOf(items[0]!, '00100020')).to.equal(p1.identifier);
    // Pixel data comes as a BulkDataURI, which must point at the proxy, never at Orthanc.
    const bulk = JSON.stringify(items).match(/"BulkDataURI":"([^"]+)"/);
    expect(bulk, 'a BulkDataURI in the metadata').to.not.equal(null);
    expect(bulk![1]).to.match(new RegExp(`^${base}/studies/${s1.study}/`));
    const pixels = await get(a.doctor, bulk![1]!.slice(base.length), 'multipart/related; type="application/octet-stream"');
    expect(pixels.status).to.equal(200);
    const file = await get(
      p1,
      `/studies/${s1.study}/series/${s1.series}/instances/${s1.sop}`,
      'multipart/related; type="application/dicom"',
    );
    expect(file.status).to.equal(200);
    expect(file.headers.get('content-type')).to.match(/^multipart\/related/);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.includes(Buffer.from('DICM'))).to.equal(true);
    const frames = await get(
      a.doctor,
      `/studies/${s1.study}/series/${s1.series}/instances/${s1.sop}/frames/1`,
      'multipart/related; type="application/octet-stream"',
    );
    expect(frames.status).to.equal(200);
  });

  it('serves the metadata of a stable series from its own store, recomputed when the series changes', async () => {
    const s1 = studies.p1!;
    const path = `/studies/${s1.study}/series/${s1.series}/metadata`;
    const waitStable = async () => {
      for (let i = 0; i < 60; i++) {
        const found = await (
          await testOrthanc().fetch('/tools/find', {
            method: 'POST',
            body: JSON.stringify({ Level: 'Series', Query: { SeriesInstanceUID: s1.series }, Expand: true }),
          })
        ).json();
        if (found[0]?.IsStable) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('series never became stable');
    };
    await waitStable();
    const first = await get(a.doctor, path);
    const firstBody = await first.text();
    expect(first.headers.get('x-mediconnect-cache')).to.be.oneOf(['miss', 'hit']);
    const second = await get(a.doctor, path);
    expect(second.headers.get('x-mediconnect-cache')).to.equal('hit');
    expect(await second.text()).to.equal(firstBody);
    expect(firstBody).to.include(base).and.not.include(process.env.ORTHANC_URL!);
    // The cache never bypasses authorization.
    expect((await get(b.doctor, path)).status).to.equal(404);
    // A new instance changes the series: recomputed once stable again.
    await upload(f.api.baseUrl, a.doctor.token, p1.id, [
      { name: 'more.dcm', data: synthDicom({ patientId: 'X', studyUid: s1.study, seriesUid: s1.series }) },
    ]);
    await waitStable();
    const third = await get(a.doctor, path);
    expect(third.headers.get('x-mediconnect-cache')).to.equal('miss');
    expect(JSON.parse(await third.text())).to.have.length(2);
  });

  it('refuses missing, forged and revoked tokens, and unknown paths', async () => {
    expect((await get(null, '/studies')).status).to.equal(401);
    const forged = await fetch(`${base}/studies`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(forged.status).to.equal(401);
    const doc = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
    await f.api.post('/api/auth/logout', { token: doc.token });
    expect((await get(doc, '/studies')).status).to.equal(401);
    expect((await get(a.doctor, '/patients')).status).to.equal(404);
    expect((await get(a.doctor, `/studies/${studies.p1!.study}/../..`)).status).to.equal(404);
    const del = await fetch(`${base}/studies/${studies.p1!.study}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${a.doctor.token}` },
    });
    // As Orthanc: 405 with what the resource takes (the error envelope says it too).
    expect(del.status).to.equal(405);
    expect(del.headers.get('allow')).to.equal('GET, HEAD, POST');
    expect((await del.json()).error).to.deep.include({ code: 'METHOD_NOT_ALLOWED', details: { allow: ['GET', 'HEAD', 'POST'] } });
    const stow = await fetch(`${base}/studies`, { method: 'POST', headers: { authorization: `Bearer ${a.doctor.token}` } });
    expect(stow.status).to.equal(403);
  });

  it('a new link opens the patient’s images at once, through the cache (LISTEN/NOTIFY)', async () => {
    const other = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
    // The denial is now cached for this doctor…
    expect((await get(other, `/studies/${studies.p1!.study}/metadata`)).status).to.equal(404);
    await f.api.post(`/api/patients/${p1.id}/doctors`, { token: a.secretary.token, body: { doctorId: other.id } });
    // …and the link's notification clears it (asynchronously: within a few milliseconds).
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await get(other, `/studies/${studies.p1!.study}/metadata`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).to.equal(200);
  });

  it('caches nothing while it is not listening: a link made behind its back is seen at once', async () => {
    const { AccessCache } = await import('../dicom-proxy/src/cache.js');
    const { DbListener } = await import('../common/listener.js');
    const { testDb } = await import('./helpers/db.js');
    // A listener never started: not listening.
    const cache = new AccessCache(testDb(), new DbListener(testConfig(), createLogger('silent', 'test'), 'test'), 60_000);
    const doctor = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
    const who = { userId: doctor.id, role: 'doctor' as const, hospitalId: a.hospital.id };
    expect(await cache.readable(who, studies.p2!.study)).to.equal(null);
    await testDb()('patient_doctor_links').insert({
      patient_id: p2.id,
      doctor_id: doctor.id,
      source: 'secretary',
      created_by: a.secretary.id,
    });
    expect((await cache.readable(who, studies.p2!.study))?.identifier).to.equal(p2.identifier);
  });
});
