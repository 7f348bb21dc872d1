import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { dicomTags, makeZip, newUid, s3ObjectFile, sample, synthDicom, testOrthanc, upload, zipEntries } from './helpers/dicom.js';
import { fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { runIndexerTick } from '../api/src/dicom/index-sync.js';

describe('DICOM imaging store', () => {
  let f: Fixtures;
  let api: ApiClient;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  let other: Actor & { identifier: string };
  const orthanc = testOrthanc();

  before(async () => {
    f = await fixtures();
    api = f.api;
    [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    patient = await f.patient(a.secretary, [a.doctor.id]);
    other = await f.patient(b.secretary, [b.doctor.id]);
  });

  const up = (who: Actor, patientId: string | null, files: { name: string; data: Buffer; type?: string }[]) =>
    upload(api.baseUrl, who.token, patientId, files);

  describe('upload', () => {
    it('stores each instance once, at the per-patient key in S3, with the patient’s identity, and indexes it', async () => {
      const res = await up(a.doctor, patient.id, [
        { name: 'CT_small.dcm', data: sample('CT_small.dcm') },
        { name: 'MR_small.dcm', data: sample('MR_small.dcm') },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.stored).to.have.length(2);
      expect(res.body.refused).to.deep.equal([]);
      expect(res.body.studies.map((s: { modalities: string[] }) => s.modalities[0]).sort()).to.deep.equal(['CT', 'MR']);
      for (const s of res.body.stored) {
        const tags = await (await orthanc.fetch(`/instances/${s.instanceId}/simplified-tags`)).json();
        expect(tags.PatientID).to.equal(patient.identifier);
        expect(tags.PatientName).to.match(/\^Pat$/);
        const key = `patients/${patient.identifier}/studies/${tags.StudyInstanceUID}/series/${tags.SeriesInstanceUID}/${tags.SOPInstanceUID}.dcm`;
        expect(existsSync(s3ObjectFile(key)), key).to.equal(true);
        const fromOrthanc = Buffer.from(await (await orthanc.fetch(`/instances/${s.instanceId}/file`)).arrayBuffer());
        expect(readFileSync(s3ObjectFile(key)).equals(fromOrthanc)).to.equal(true);
        const mapping = await testDb()('orthanc_storage_keys').where({ object_key: key });
        expect(mapping).to.have.length(1);
      }
      // Exactly one object per instance in the bucket.
      const objects = await testDb()('orthanc_storage_keys')
        .whereNotNull('object_key')
        .where('object_key', 'like', `patients/${patient.identifier}/%`);
      expect(objects).to.have.length(2);
      expect(dicomTags(readFileSync(s3ObjectFile(objects[0].object_key)), ['PatientID'])).to.deep.equal({ PatientID: patient.identifier });
    });

    it('accepts a ZIP of files and a whole synthetic series', async () => {
      const studyUid = newUid();
      const seriesUid = newUid();
      const slices = Array.from({ length: 12 }, (_, i) => ({
        name: `slice-${i}.dcm`,
        data: synthDicom({ patientId: 'CD-FROM-ELSEWHERE', studyUid, seriesUid, instanceNumber: i + 1 }),
      }));
      const res = await up(a.doctor, patient.id, [{ name: 'cd.zip', data: makeZip(slices), type: 'application/zip' }]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.stored).to.have.length(12);
      const study = res.body.studies[0];
      expect(study).to.include({
        studyInstanceUid: studyUid,
        numberOfSeries: 1,
        numberOfInstances: 12,
        patientId: patient.id,
        doctorId: a.doctor.id,
      });
      expect(study.bodyParts).to.deep.equal(['CHEST']);
      expect(study.studyDate).to.equal('2026-01-15');
    });

    it('refuses bad files one by one, stores the good ones, and leaves nothing of the refused behind', async () => {
      const before = (await (await orthanc.fetch('/statistics')).json()).CountInstances;
      const wrongPatient = synthDicom({ patientId: other.identifier, studyUid: newUid(), seriesUid: newUid() });
      const good = synthDicom({ patientId: 'X', studyUid: newUid(), seriesUid: newUid() });
      const zip = makeZip([
        { name: '../../etc/evil.dcm', data: good },
        { name: '/abs/evil.dcm', data: good },
        { name: 'ok/good.dcm', data: synthDicom({ patientId: 'Y', studyUid: newUid(), seriesUid: newUid() }) },
      ]);
      const res = await up(a.doctor, patient.id, [
        { name: 'notes.txt', data: Buffer.from('not an image'), type: 'text/plain' },
        { name: 'MR_truncated.dcm', data: sample('MR_truncated.dcm') },
        { name: 'badVR.dcm', data: sample('badVR.dcm') },
        { name: 'half.dcm', data: good.subarray(0, 200) },
        { name: 'other-patient.dcm', data: wrongPatient },
        { name: 'good.dcm', data: good },
        { name: 'bundle.zip', data: zip, type: 'application/zip' },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const refused = Object.fromEntries(res.body.refused.map((r: { file: string; code: string }) => [r.file, r.code]));
      expect(refused['notes.txt']).to.equal('NOT_DICOM');
      expect(refused['MR_truncated.dcm']).to.be.oneOf(['TRUNCATED', 'INVALID_DICOM']);
      expect(refused['badVR.dcm']).to.be.oneOf(['MALFORMED', 'INVALID_DICOM']);
      expect(refused['half.dcm']).to.equal('TRUNCATED');
      expect(refused['other-patient.dcm']).to.equal('WRONG_PATIENT');
      expect(refused['bundle.zip/../../etc/evil.dcm']).to.equal('UNSAFE_PATH');
      expect(refused['bundle.zip//abs/evil.dcm']).to.equal('UNSAFE_PATH');
      expect(res.body.stored.map((s: { file: string }) => s.file).sort()).to.deep.equal(['bundle.zip/ok/good.dcm', 'good.dcm']);
      const after = (await (await orthanc.fetch('/statistics')).json()).CountInstances;
      expect(after - before).to.equal(2);
      expect(existsSync(path.join(process.env.MEDICONNECT_TEST_TMP!, 's3', 'medical-images', 'etc'))).to.equal(false);
    });

    it('accepts `patientId` sent after the files (held in memory, within a bound)', async () => {
      const form = new FormData();
      form.append(
        'file',
        new Blob([new Uint8Array(synthDicom({ patientId: 'LATE', studyUid: newUid(), seriesUid: newUid() }))]),
        'late.dcm',
      );
      form.append('patientId', patient.id);
      const res = await fetch(`${api.baseUrl}/api/dicom/studies/upload_dicom/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.doctor.token}` },
        body: form,
      });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).to.equal(201);
      expect(body.stored).to.have.length(1);
    });

    it('refuses a study UID that already holds another patient’s images', async () => {
      const studyUid = newUid();
      const first = await up(b.doctor, other.id, [
        { name: 'theirs.dcm', data: synthDicom({ patientId: 'P', studyUid, seriesUid: newUid() }) },
      ]);
      expect(first.status).to.equal(201);
      const res = await up(a.doctor, patient.id, [
        { name: 'mine.dcm', data: synthDicom({ patientId: 'P', studyUid, seriesUid: newUid() }) },
      ]);
      expect(res.status).to.equal(400);
      expect(res.body.error.details.refused[0].code).to.equal('UID_CONFLICT');
      // The same patient may add to its own study.
      expect(
        (await up(b.doctor, other.id, [{ name: 'more.dcm', data: synthDicom({ patientId: 'P', studyUid, seriesUid: newUid() }) }])).status,
      ).to.equal(201);
    });

    it('answers 400 when no file could be stored', async () => {
      const res = await up(a.doctor, patient.id, [{ name: 'a.txt', data: Buffer.from('nope') }]);
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('NO_DICOM_STORED');
      expect(res.body.error.details.refused[0].code).to.equal('NOT_DICOM');
    });

    it('every refusal names its file: a part sent without a filename, and an upload with no file at all', async () => {
      const form = new FormData();
      form.append('patientId', patient.id);
      form.append('scan', synthDicom({ patientId: 'P', studyUid: newUid(), seriesUid: newUid() }).toString('latin1'));
      const noName = await fetch(`${f.api.baseUrl}/api/dicom/studies/upload_dicom/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.doctor.token}` },
        body: form,
      });
      const body = await noName.json();
      expect(noName.status).to.equal(400);
      expect(body.error.code).to.equal('NO_DICOM_STORED');
      expect(body.error.details.refused).to.deep.equal([
        { file: 'scan', code: 'NOT_A_FILE', reason: 'This part has no filename: it was sent as a form field, not as a file' },
      ]);
      const empty = await up(a.doctor, patient.id, []);
      expect(empty.status).to.equal(400);
      expect(empty.body.error.code).to.equal('NO_FILES');
    });

    it('only a linked doctor uploads: patient 403, unlinked doctor/secretary/admin 404', async () => {
      const file = [{ name: 'x.dcm', data: sample('CT_small.dcm') }];
      expect((await up(patient, patient.id, file)).status).to.equal(403);
      for (const who of [b.doctor, a.secretary, a.admin, await f.superAdmin()]) {
        expect((await up(who, patient.id, file)).status, who.role).to.equal(404);
      }
      const missing = await up(a.doctor, null, file);
      expect(missing.status).to.equal(400);
      expect(missing.body.error.details[0].field).to.equal('patientId');
      const json = await api.post('/api/dicom/studies/upload_dicom', { token: a.doctor.token, body: { patientId: patient.id } });
      expect(json.status).to.equal(415);
    });
  });

  describe('index, search and access', () => {
    let studyId: string;
    before(async () => {
      const res = await up(a.doctor, patient.id, [
        {
          name: 'mr.dcm',
          data: synthDicom({
            patientId: 'Z',
            studyUid: newUid(),
            seriesUid: newUid(),
            modality: 'MR',
            studyDate: '20251201',
            studyDescription: 'Knee MRI',
            bodyPart: 'KNEE',
          }),
        },
      ]);
      studyId = res.body.studies[0].id;
    });

    it('the linked doctor and the patient see the study; everyone else gets 404', async () => {
      for (const who of [a.doctor, patient]) {
        expect((await api.get(`/api/dicom/studies/${studyId}/`, { token: who.token })).status, who.role).to.equal(200);
        const series = await api.get(`/api/dicom/studies/${studyId}/series/`, { token: who.token });
        expect(series.body.items[0]).to.include({ modality: 'MR', bodyPart: 'KNEE', numberOfInstances: 1 });
      }
      for (const who of [b.doctor, other, a.secretary, a.admin, await f.superAdmin()]) {
        expect((await api.get(`/api/dicom/studies/${studyId}`, { token: who.token })).status, who.role).to.equal(404);
      }
      const list = await api.get('/api/dicom/studies/?pageSize=100', { token: b.doctor.token });
      expect(list.body.items.map((s: { id: string }) => s.id)).to.not.include(studyId);
      const log = await api.get(`/api/patients/${patient.id}/access-log?pageSize=100`, { token: patient.token });
      const actions = log.body.items.map((i: { action: string }) => i.action);
      expect(actions).to.include.members(['dicom.uploaded', 'dicom.study_read']);
    });

    it('searches by patient, modality, date range and text', async () => {
      const ids = async (query: string) =>
        (await api.get(`/api/dicom/studies?pageSize=100&${query}`, { token: a.doctor.token })).body.items.map((s: { id: string }) => s.id);
      expect(await ids(`patientId=${patient.id}&modality=mr`)).to.include(studyId);
      expect(await ids(`patientId=${patient.id}&modality=CT`)).to.not.include(studyId);
      expect(await ids('dateFrom=2025-11-01&dateTo=2025-12-31')).to.include(studyId);
      expect(await ids('dateFrom=2026-01-01')).to.not.include(studyId);
      expect(await ids('q=knee')).to.include(studyId);
      expect((await api.get(`/api/dicom/studies?patientId=${patient.id}`, { token: patient.token })).body.total).to.be.greaterThan(0);
      expect((await api.get('/api/dicom/studies?dateFrom=yesterday', { token: a.doctor.token })).status).to.equal(400);
    });

    it('a linked doctor organises a study (description, labels); patients may not (403)', async () => {
      const res = await api.patch(`/api/dicom/studies/${studyId}`, {
        token: a.doctor.token,
        body: { description: 'Left knee, follow-up', labels: ['follow-up', 'ortho'] },
      });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ description: 'Left knee, follow-up', dicomDescription: 'Knee MRI' });
      expect(res.body.labels).to.deep.equal(['follow-up', 'ortho']);
      expect(
        (await api.get('/api/dicom/studies?label=ortho', { token: patient.token })).body.items.map((s: { id: string }) => s.id),
      ).to.include(studyId);
      expect((await api.patch(`/api/dicom/studies/${studyId}`, { token: patient.token, body: { labels: [] } })).status).to.equal(403);
      expect((await api.patch(`/api/dicom/studies/${studyId}`, { token: b.doctor.token, body: { labels: [] } })).status).to.equal(404);
    });

    it('downloads the study as a ZIP stream for the doctor and the patient', async () => {
      for (const who of [a.doctor, patient]) {
        const res = await fetch(`${api.baseUrl}/api/dicom/studies/${studyId}/download/`, {
          headers: { authorization: `Bearer ${who.token}` },
        });
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('application/zip');
        const entries = zipEntries(Buffer.from(await res.arrayBuffer()));
        expect(entries.filter((e) => e.endsWith('.dcm'))).to.have.length(1);
      }
      expect(
        (await fetch(`${api.baseUrl}/api/dicom/studies/${studyId}/download`, { headers: { authorization: `Bearer ${b.doctor.token}` } }))
          .status,
      ).to.equal(404);
    });

    it('gives short-lived presigned URLs of the original objects', async () => {
      const res = await api.get(`/api/dicom/studies/${studyId}/presigned-urls`, { token: patient.token });
      expect(res.status).to.equal(200);
      expect(res.body.items).to.have.length(1);
      const item = res.body.items[0];
      expect(item.key).to.match(new RegExp(`^patients/${patient.identifier}/studies/`));
      expect(item.url).to.include('X-Amz-Signature=').and.include('X-Amz-Expires=300');
      const bytes = Buffer.from(await (await fetch(item.url)).arrayBuffer());
      expect(bytes.equals(readFileSync(s3ObjectFile(item.key)))).to.equal(true);
    });

    it('reports: a linked doctor writes, doctor and patient read them and download the PDF', async () => {
      const created = await api.post(`/api/dicom/studies/${studyId}/reports/`, {
        token: a.doctor.token,
        body: { title: 'MRI knee report', findings: 'Small meniscal tear.', conclusion: 'Conservative treatment.' },
      });
      expect(created.status).to.equal(201);
      expect(
        (
          await api.post(`/api/dicom/studies/${studyId}/reports`, {
            token: patient.token,
            body: { title: 't', findings: 'f', conclusion: 'c' },
          })
        ).status,
      ).to.equal(403);
      const list = await api.get(`/api/dicom/studies/${studyId}/reports`, { token: patient.token });
      expect(list.body.items.map((r: { id: string }) => r.id)).to.deep.equal([created.body.id]);
      const pdf = await fetch(`${api.baseUrl}/api/dicom/studies/${studyId}/reports/${created.body.id}/pdf`, {
        headers: { authorization: `Bearer ${patient.token}` },
      });
      expect(pdf.status).to.equal(200);
      expect(pdf.headers.get('content-type')).to.equal('application/pdf');
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pdf-')), 'r.pdf');
      writeFileSync(file, Buffer.from(await pdf.arrayBuffer()));
      const text = execFileSync('pdftotext', [file, '-']).toString();
      expect(text)
        .to.include('MRI knee report')
        .and.include('Small meniscal tear.')
        .and.include('Conservative treatment.')
        .and.include(patient.identifier);
      const stored = JSON.stringify(await testDb()('dicom_reports').where({ id: created.body.id }).first());
      expect(stored).to.not.include('meniscal');
      expect(
        (
          await fetch(`${api.baseUrl}/api/dicom/studies/${studyId}/reports/${created.body.id}/pdf`, {
            headers: { authorization: `Bearer ${b.doctor.token}` },
          })
        ).status,
      ).to.equal(404);
    });
  });

  describe('delete', () => {
    it('deletes a series, then a study, from Orthanc, the bucket and the index; patients may not', async () => {
      const studyUid = newUid();
      const [s1, s2] = [newUid(), newUid()];
      const res = await up(a.doctor, patient.id, [
        { name: '1.dcm', data: synthDicom({ patientId: 'Q', studyUid, seriesUid: s1 }) },
        { name: '2.dcm', data: synthDicom({ patientId: 'Q', studyUid, seriesUid: s2 }) },
      ]);
      const study = res.body.studies[0];
      const series = (await api.get(`/api/dicom/studies/${study.id}/series`, { token: a.doctor.token })).body.items;
      expect(series).to.have.length(2);
      const keys = async () =>
        (await testDb()('orthanc_storage_keys').where('object_key', 'like', `patients/${patient.identifier}/studies/${studyUid}/%`)).map(
          (r) => r.object_key,
        );
      expect(await keys()).to.have.length(2);
      expect((await api.delete(`/api/dicom/series/${series[0].id}`, { token: patient.token })).status).to.equal(403);
      expect((await api.delete(`/api/dicom/series/${series[0].id}`, { token: b.doctor.token })).status).to.equal(404);
      expect((await api.delete(`/api/dicom/series/${series[0].id}/`, { token: a.doctor.token })).status).to.equal(204);
      const remaining = await keys();
      expect(remaining).to.have.length(1);
      expect((await api.get(`/api/dicom/studies/${study.id}`, { token: a.doctor.token })).body.numberOfSeries).to.equal(1);
      expect((await api.delete(`/api/dicom/studies/${study.id}/`, { token: patient.token })).status).to.equal(403);
      expect((await api.delete(`/api/dicom/studies/${study.id}/`, { token: a.doctor.token })).status).to.equal(204);
      expect(await keys()).to.deep.equal([]);
      expect(existsSync(s3ObjectFile(remaining[0]))).to.equal(false);
      expect((await api.get(`/api/dicom/studies/${study.id}`, { token: a.doctor.token })).status).to.equal(404);
      expect(
        (await orthanc.fetch(`/studies/${(await testDb()('dicom_studies').where({ id: study.id }).first())?.orthanc_id ?? 'gone'}`)).status,
      ).to.equal(404);
      const actions = (
        await testDb()('audit_log').where({ patient_id: patient.id }).whereIn('action', ['dicom.series_deleted', 'dicom.study_deleted'])
      ).map((r) => r.action);
      expect(actions).to.include.members(['dicom.series_deleted', 'dicom.study_deleted']);
    });
  });

  describe('our own concurrency stays ours', () => {
    it('uploads of many files of several studies in one request, while the indexer runs, store every file once, every time', async () => {
      let indexing = true;
      const indexer = (async () => {
        while (indexing) await runIndexerTick(testDb(), orthanc);
      })();
      try {
        for (let round = 0; round < 4; round++) {
          const studies = Array.from({ length: 6 }, () => ({ study: newUid(), series: newUid() }));
          const files = studies.flatMap((s, i) =>
            [0, 1].map((n) => ({
              name: `${round}-${i}-${n}.dcm`,
              data: synthDicom({ patientId: 'ANY', studyUid: s.study, seriesUid: s.series, instanceNumber: n + 1 }),
            })),
          );
          const res = await up(a.doctor, patient.id, files);
          expect(res.status, JSON.stringify(res.body).slice(0, 400)).to.equal(201);
          expect(res.body.refused, `round ${round}`).to.deep.equal([]);
          expect(res.body.stored, `round ${round}`).to.have.length(12);
          expect(new Set(res.body.stored.map((s: { studyId: string }) => s.studyId)).size, `round ${round}: studies indexed`).to.equal(6);
          for (const s of studies) {
            const found = (await (
              await orthanc.fetch('/tools/find', {
                method: 'POST',
                body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: s.study } }),
              })
            ).json()) as unknown[];
            expect(found, `round ${round}: each file once`).to.have.length(2);
          }
        }
      } finally {
        indexing = false;
        await indexer;
      }
    });
  });

  describe('modalities (C-STORE) and the indexer', () => {
    it('indexes pushed instances to the matching patient; unmatched ones stay invisible and are listed for reconciliation', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cstore-'));
      const matchedStudy = newUid();
      const unmatchedStudy = newUid();
      writeFileSync(
        path.join(dir, 'matched.dcm'),
        synthDicom({ patientId: patient.identifier, studyUid: matchedStudy, seriesUid: newUid() }),
      );
      writeFileSync(
        path.join(dir, 'unmatched.dcm'),
        synthDicom({ patientId: 'HOSP-UNKNOWN-42', studyUid: unmatchedStudy, seriesUid: newUid() }),
      );
      const aeTitle = `CT${randomUUID().slice(0, 8).toUpperCase()}`;
      const registered = await api.post('/api/modalities', {
        token: a.admin.token,
        body: { aeTitle, host: '127.0.0.1', port: 11112, description: 'CT room 1' },
      });
      expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
      execFileSync('storescu', [
        '-aet',
        aeTitle,
        '-aec',
        'MEDICONNECT',
        '127.0.0.1',
        process.env.DICOM_PORT!,
        path.join(dir, 'matched.dcm'),
        path.join(dir, 'unmatched.dcm'),
      ]);
      await runIndexerTick(testDb(), orthanc);
      const matched = await testDb()('dicom_studies').where({ study_instance_uid: matchedStudy }).first();
      expect(matched.patient_id).to.equal(patient.id);
      expect((await api.get(`/api/dicom/studies/${matched.id}`, { token: patient.token })).status).to.equal(200);
      const unmatched = await testDb()('dicom_studies').where({ study_instance_uid: unmatchedStudy }).first();
      expect(unmatched.patient_id).to.equal(null);
      expect((await api.get(`/api/dicom/studies/${unmatched.id}`, { token: a.doctor.token })).status).to.equal(404);
      const list = await api.get('/api/dicom/unmatched?pageSize=100', { token: (await f.superAdmin()).token });
      expect(list.status).to.equal(200);
      expect(list.body.items.find((s: { studyInstanceUid: string }) => s.studyInstanceUid === unmatchedStudy)).to.include({
        dicomPatientId: 'HOSP-UNKNOWN-42',
        numberOfInstances: 1,
      });
      expect(list.body.totalInstances).to.be.greaterThan(0);
      for (const who of [a.secretary, patient]) expect((await api.get('/api/dicom/unmatched', { token: who.token })).status).to.equal(403);
    });

    it('the quarantine: the pushing hospital’s doctor assigns a study to its patient (identity rewritten) or discards one; other hospitals see nothing', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cstore-'));
      const [keepUid, dropUid] = [newUid(), newUid()];
      writeFileSync(path.join(dir, 'keep.dcm'), synthDicom({ patientId: 'WARD-7-0042', studyUid: keepUid, seriesUid: newUid() }));
      writeFileSync(path.join(dir, 'drop.dcm'), synthDicom({ patientId: 'WARD-7-0043', studyUid: dropUid, seriesUid: newUid() }));
      const aeTitle = `QA${randomUUID().slice(0, 8).toUpperCase()}`;
      expect(
        (await api.post('/api/modalities', { token: a.admin.token, body: { aeTitle, host: '127.0.0.1', port: 104 } })).status,
      ).to.equal(201);
      execFileSync('storescu', [
        '-aet',
        aeTitle,
        '-aec',
        'MEDICONNECT',
        '127.0.0.1',
        process.env.DICOM_PORT!,
        path.join(dir, 'keep.dcm'),
        path.join(dir, 'drop.dcm'),
      ]);
      await runIndexerTick(testDb(), orthanc);
      const listed = (await api.get('/api/dicom/unmatched?pageSize=100', { token: a.doctor.token })).body.items as {
        id: string;
        studyInstanceUid: string;
        sourceAeTitle: string;
      }[];
      const keep = listed.find((i) => i.studyInstanceUid === keepUid)!;
      const drop = listed.find((i) => i.studyInstanceUid === dropUid)!;
      expect(keep).to.include({ sourceAeTitle: aeTitle });
      expect(drop).to.not.equal(undefined);
      const seenByB = (await api.get('/api/dicom/unmatched?pageSize=100', { token: b.doctor.token })).body.items as {
        studyInstanceUid: string;
      }[];
      expect(seenByB.map((i) => i.studyInstanceUid)).to.not.include.members([keepUid, dropUid]);
      expect(
        (await api.post(`/api/dicom/unmatched/${keep.id}/assign`, { token: b.doctor.token, body: { patientId: patient.id } })).status,
      ).to.equal(404);
      expect(
        (await api.post(`/api/dicom/unmatched/${keep.id}/assign`, { token: patient.token, body: { patientId: patient.id } })).status,
      ).to.equal(403);
      const assigned = await api.post(`/api/dicom/unmatched/${keep.id}/assign`, { token: a.doctor.token, body: { patientId: patient.id } });
      expect(assigned.status, JSON.stringify(assigned.body)).to.equal(200);
      expect(assigned.body.instances).to.equal(1);
      const filed = await api.get(`/api/dicom/studies/${assigned.body.studyId}`, { token: patient.token });
      expect(filed.status).to.equal(200);
      expect(filed.body.studyInstanceUid).to.equal(keepUid);
      const copies = (await (
        await orthanc.fetch('/tools/find', {
          method: 'POST',
          body: JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: keepUid }, Expand: true }),
        })
      ).json()) as { PatientMainDicomTags: { PatientID: string } }[];
      expect(copies.map((c) => c.PatientMainDicomTags.PatientID)).to.deep.equal([patient.identifier]);
      const log = await api.get(`/api/patients/${patient.id}/access-log?pageSize=100`, { token: patient.token });
      expect(log.body.items.some((e: { action: string }) => e.action === 'dicom.reconciled')).to.equal(true);
      expect((await api.delete(`/api/dicom/unmatched/${drop.id}`, { token: b.doctor.token })).status).to.equal(404);
      expect((await api.delete(`/api/dicom/unmatched/${drop.id}`, { token: a.doctor.token })).status).to.equal(204);
      const left = (await (
        await orthanc.fetch('/tools/find', {
          method: 'POST',
          body: JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: dropUid } }),
        })
      ).json()) as unknown[];
      expect(left).to.deep.equal([]);
    });

    it('a device files images only under its own hospital’s patients: another hospital’s patient goes to the quarantine', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cstore-'));
      const studyUid = newUid();
      writeFileSync(path.join(dir, 'x.dcm'), synthDicom({ patientId: patient.identifier, studyUid, seriesUid: newUid() }));
      const aeTitle = `BX${randomUUID().slice(0, 8).toUpperCase()}`;
      expect(
        (await api.post('/api/modalities', { token: b.admin.token, body: { aeTitle, host: '127.0.0.1', port: 104 } })).status,
      ).to.equal(201);
      execFileSync('storescu', ['-aet', aeTitle, '-aec', 'MEDICONNECT', '127.0.0.1', process.env.DICOM_PORT!, path.join(dir, 'x.dcm')]);
      await runIndexerTick(testDb(), orthanc);
      const row = await testDb()('dicom_studies').where({ study_instance_uid: studyUid }).first();
      expect(row.patient_id, 'hospital B’s device, hospital A’s patient').to.equal(null);
      expect(row.dicom_patient_id).to.equal(patient.identifier);
      for (const who of [a.doctor, patient, b.doctor])
        expect((await api.get(`/api/dicom/studies/${row.id}`, { token: who.token })).status).to.equal(404);
    });

    it('a push never takes, hides or shadows another patient’s images: foreign study, series or SOP UIDs are refused at the door', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cstore-'));
      // The owner's study, uploaded through the API by its doctor.
      const owned = { study: newUid(), series: newUid(), sop: newUid() };
      const res = await up(a.doctor, patient.id, [
        { name: 'owned.dcm', data: synthDicom({ patientId: 'ANY', studyUid: owned.study, seriesUid: owned.series, sopUid: owned.sop }) },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      const studyId = res.body.studies[0].id as string;
      const [aAet, bAet] = [`GA${randomUUID().slice(0, 8).toUpperCase()}`, `GB${randomUUID().slice(0, 8).toUpperCase()}`];
      expect(
        (await api.post('/api/modalities', { token: a.admin.token, body: { aeTitle: aAet, host: '127.0.0.1', port: 104 } })).status,
      ).to.equal(201);
      expect(
        (await api.post('/api/modalities', { token: b.admin.token, body: { aeTitle: bAet, host: '127.0.0.1', port: 104 } })).status,
      ).to.equal(201);
      const push = (aet: string, tags: { patientId: string; studyUid: string; seriesUid: string; sopUid: string }) => {
        const file = path.join(dir, `${randomUUID()}.dcm`);
        writeFileSync(file, synthDicom(tags));
        return spawnSync('storescu', ['-v', '-aet', aet, '-aec', 'MEDICONNECT', '127.0.0.1', process.env.DICOM_PORT!, file], {
          encoding: 'utf8',
        });
      };
      const copiesOf = async (sop: string) =>
        ((await (await orthanc.fetch('/tools/lookup', { method: 'POST', body: sop })).json()) as unknown[]).length;
      const instancesOfStudy = async () =>
        (
          (await (
            await orthanc.fetch('/tools/find', {
              method: 'POST',
              body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: owned.study } }),
            })
          ).json()) as unknown[]
        ).length;
      const refusals: [string, string, { patientId: string; studyUid: string; seriesUid: string; sopUid: string }][] = [
        [
          'another hospital’s device, the owner’s PatientID, into the owned study',
          bAet,
          { patientId: patient.identifier, studyUid: owned.study, seriesUid: newUid(), sopUid: newUid() },
        ],
        [
          'an unknown PatientID with the owned study’s UID',
          aAet,
          { patientId: 'WARD-9-0001', studyUid: owned.study, seriesUid: newUid(), sopUid: newUid() },
        ],
        [
          'the owned series’ UID in another study',
          bAet,
          { patientId: other.identifier, studyUid: newUid(), seriesUid: owned.series, sopUid: newUid() },
        ],
        [
          'the owned instance’s SOP UID under another patient',
          bAet,
          { patientId: other.identifier, studyUid: newUid(), seriesUid: newUid(), sopUid: owned.sop },
        ],
      ];
      for (const [what, aet, tags] of refusals) {
        const pushed = push(aet, tags);
        expect(`${pushed.stdout}${pushed.stderr}`, what).to.match(/Received Store Response \(.*0x0?124\)/);
        expect(await copiesOf(tags.sopUid), what).to.equal(tags.sopUid === owned.sop ? 1 : 0);
      }
      await runIndexerTick(testDb(), orthanc);
      // The owner's study is untouched: one instance, still the patient's, readable by its doctor and itself.
      expect(await instancesOfStudy()).to.equal(1);
      expect((await testDb()('dicom_studies').where({ id: studyId }).first()).patient_id).to.equal(patient.id);
      for (const who of [a.doctor, patient])
        expect((await api.get(`/api/dicom/studies/${studyId}`, { token: who.token })).status, who.role).to.equal(200);
      // Nothing of it sits in any quarantine.
      for (const who of [a.doctor, b.doctor]) {
        const items = (await api.get('/api/dicom/unmatched?pageSize=100', { token: who.token })).body.items as {
          studyInstanceUid: string;
        }[];
        expect(
          items.map((i) => i.studyInstanceUid),
          who.email,
        ).to.not.include(owned.study);
      }
      // The owner's hospital's device adds to the study under the right PatientID.
      const added = push(aAet, { patientId: patient.identifier, studyUid: owned.study, seriesUid: newUid(), sopUid: newUid() });
      expect(added.status, added.stderr).to.equal(0);
      expect(await instancesOfStudy()).to.equal(2);
      await runIndexerTick(testDb(), orthanc);
      expect((await testDb()('dicom_studies').where({ id: studyId }).first()).patient_id).to.equal(patient.id);
    });

    it('only registered, active devices may store: an unknown AE title, or a deactivated device, stores nothing', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cstore-'));
      const studyUid = newUid();
      writeFileSync(path.join(dir, 'x.dcm'), synthDicom({ patientId: patient.identifier, studyUid, seriesUid: newUid() }));
      const push = (aet: string) => {
        try {
          execFileSync('storescu', ['-aet', aet, '-aec', 'MEDICONNECT', '127.0.0.1', process.env.DICOM_PORT!, path.join(dir, 'x.dcm')], {
            stdio: 'pipe',
          });
          return true;
        } catch {
          return false;
        }
      };
      const stored = async () =>
        (
          (await (
            await orthanc.fetch('/tools/find', {
              method: 'POST',
              body: JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: studyUid } }),
            })
          ).json()) as unknown[]
        ).length;
      expect(push('INTRUDER')).to.equal(false);
      expect(await stored()).to.equal(0);
      const aeTitle = `MR${randomUUID().slice(0, 8).toUpperCase()}`;
      const device = (await api.post('/api/modalities', { token: a.admin.token, body: { aeTitle, host: '127.0.0.1', port: 11112 } })).body;
      expect((await api.patch(`/api/modalities/${device.id}`, { token: a.admin.token, body: { isActive: false } })).body.isActive).to.equal(
        false,
      );
      expect(push(aeTitle)).to.equal(false);
      expect(await stored()).to.equal(0);
      // Registered from another host: refused too.
      const elsewhere = `US${randomUUID().slice(0, 8).toUpperCase()}`;
      expect(
        (await api.post('/api/modalities', { token: a.admin.token, body: { aeTitle: elsewhere, host: '10.1.2.3', port: 104 } })).status,
      ).to.equal(201);
      expect(push(elsewhere)).to.equal(false);
      expect(await stored()).to.equal(0);
      expect((await api.patch(`/api/modalities/${device.id}`, { token: a.admin.token, body: { isActive: true } })).status).to.equal(200);
      expect(push(aeTitle)).to.equal(true);
      expect(await stored()).to.equal(1);
    });

    it('the registry: a hospital admin manages its own devices (409 on a taken AE title); other hospitals 404, other roles 403', async () => {
      const aeTitle = `DX${randomUUID().slice(0, 8).toUpperCase()}`;
      const created = await api.post('/api/modalities', {
        token: a.admin.token,
        body: { aeTitle, host: 'dx-room.example', port: 104, description: 'X-ray' },
      });
      expect(created.status).to.equal(201);
      expect(created.body).to.include({ aeTitle, host: 'dx-room.example', port: 104, isActive: true, hospitalId: a.hospital.id });
      expect((await api.post('/api/modalities', { token: b.admin.token, body: { aeTitle, host: 'x', port: 104 } })).status).to.equal(409);
      // Devices and toolkits compare AE titles without case: the same title in lower case is the same device.
      const lower = await api.post('/api/modalities', {
        token: b.admin.token,
        body: { aeTitle: aeTitle.toLowerCase(), host: 'x', port: 104 },
      });
      expect(lower.status, JSON.stringify(lower.body)).to.equal(409);
      expect(lower.body.error.code).to.equal('AE_TITLE_TAKEN');
      expect((await api.get('/api/modalities', { token: a.admin.token })).body.items.map((m: { id: string }) => m.id)).to.include(
        created.body.id,
      );
      expect((await api.get('/api/modalities', { token: b.admin.token })).body.items.map((m: { id: string }) => m.id)).to.not.include(
        created.body.id,
      );
      for (const call of [
        () => api.get(`/api/modalities/${created.body.id}`, { token: b.admin.token }),
        () => api.patch(`/api/modalities/${created.body.id}`, { token: b.admin.token, body: { port: 105 } }),
        () => api.delete(`/api/modalities/${created.body.id}`, { token: b.admin.token }),
      ]) {
        expect((await call()).status).to.equal(404);
      }
      for (const who of [a.doctor, a.secretary, patient, await f.superAdmin()]) {
        expect((await api.get('/api/modalities', { token: who.token })).status, who.role).to.equal(403);
        expect(
          (await api.post('/api/modalities', { token: who.token, body: { aeTitle: 'X1', host: 'x', port: 104 } })).status,
          who.role,
        ).to.equal(403);
      }
      expect(
        (await api.post('/api/modalities', { token: a.admin.token, body: { aeTitle: 'BAD\\AE', host: 'x', port: 104 } })).status,
      ).to.equal(400);
      expect(
        (await api.post('/api/modalities', { token: a.admin.token, body: { aeTitle: 'OK', host: 'x', port: 70000 } })).status,
      ).to.equal(400);
      expect((await api.delete(`/api/modalities/${created.body.id}`, { token: a.admin.token })).status).to.equal(204);
      expect((await api.get(`/api/modalities/${created.body.id}`, { token: a.admin.token })).status).to.equal(404);
      // The AE title is free again.
      expect(
        (await api.post('/api/modalities', { token: a.admin.token, body: { aeTitle, host: 'dx-room.example', port: 104 } })).status,
      ).to.equal(201);
    });

    it('resumes from its cursor and never double-processes with concurrent ticks', async () => {
      // Let the feed settle: studies pushed by the tests above turn "stable" a second after their last instance.
      for (let quiet = 0; quiet < 2;) {
        quiet = (await runIndexerTick(testDb(), orthanc)) === 0 ? quiet + 1 : 0;
        await new Promise((r) => setTimeout(r, 1200));
      }
      const before = await testDb()('dicom_studies').count({ n: '*' }).first();
      const results = await Promise.all([runIndexerTick(testDb(), orthanc), runIndexerTick(testDb(), orthanc)]);
      expect(results).to.deep.equal([0, 0]);
      const cursor = await testDb()('dicom_index_cursor').first();
      const last = (await orthanc.changes(Number(cursor.last_seq), 1)).Last;
      expect(Number(cursor.last_seq)).to.equal(last);
      expect(await testDb()('dicom_studies').count({ n: '*' }).first()).to.deep.equal(before);
    });
  });
});
