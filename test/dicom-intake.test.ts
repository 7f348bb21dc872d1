import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { testDb } from './helpers/db.js';
import { PYDICOM_TEST_FILES } from '../scripts/lib/system-packages.js';
import { explicitElement, nestedSequence, streamedZipBomb, withElementsBeforePixels, zipBomb } from './helpers/dicom-hostile.js';
import { startTestApi } from './helpers/server.js';
import { newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { fixtures, type Actor, type HospitalWithStaff } from './helpers/fixtures.js';

describe('imaging intake: hostile files never reach Orthanc', function () {
  this.timeout(60_000);
  let h: HospitalWithStaff;
  let patient: Actor & { identifier: string };
  let apiUrl: string;

  before(async () => {
    const f = await fixtures();
    apiUrl = f.api.baseUrl;
    h = await f.hospitalWithStaff();
    patient = await f.patient(h.secretary, [h.doctor.id]);
  });

  const image = () => synthDicom({ patientId: 'ANY', studyUid: newUid(), seriesUid: newUid(), sopUid: newUid() });
  const instancesOf = async (studyUid: string) =>
    (await (
      await testOrthanc().fetch('/tools/find', {
        method: 'POST',
        body: JSON.stringify({ Level: 'Instance', Query: { StudyInstanceUID: studyUid } }),
      })
    ).json()) as string[];

  it('a file nested 5,000 sequences deep is refused (MALFORMED, named), alone or among good files; Orthanc stays up', async () => {
    const deepUid = newUid();
    const deep = withElementsBeforePixels(
      synthDicom({ patientId: 'ANY', studyUid: deepUid, seriesUid: newUid() }),
      nestedSequence(5000, false),
    );
    const alone = await upload(apiUrl, h.doctor.token, patient.id, [{ name: 'deep.dcm', data: deep }]);
    expect(alone.status).to.equal(400);
    expect(alone.body.error.code).to.equal('NO_DICOM_STORED');
    expect(JSON.stringify(alone.body.error.details)).to.include('deep.dcm').and.include('MALFORMED');
    const good = image();
    const mixed = await upload(apiUrl, h.doctor.token, patient.id, [
      { name: 'good.dcm', data: good },
      { name: 'deep.dcm', data: deep },
      { name: 'good2.dcm', data: image() },
    ]);
    expect(mixed.status, JSON.stringify(mixed.body)).to.equal(201);
    expect(mixed.body.stored.map((s: { file: string }) => s.file).sort()).to.deep.equal(['good.dcm', 'good2.dcm']);
    expect(mixed.body.refused).to.deep.equal([
      { file: 'deep.dcm', code: 'MALFORMED', reason: 'Sequences are nested deeper than 32 levels' },
    ]);
    expect(await instancesOf(deepUid)).to.deep.equal([]);
    expect((await testOrthanc().system()).Version).to.be.a('string');
  });

  it('a second StudyInstanceUID out of order is refused before Orthanc could keep the first', async () => {
    const first = newUid();
    const second = Buffer.from(`${newUid()}`.padEnd(64, '\0').slice(0, 64));
    const twoUids = withElementsBeforePixels(
      synthDicom({ patientId: 'ANY', studyUid: first, seriesUid: newUid() }),
      explicitElement(0x0020, 0x000d, 'UI', second),
    );
    const res = await upload(apiUrl, h.doctor.token, patient.id, [{ name: 'two-uids.dcm', data: twoUids }]);
    expect(res.status).to.equal(400);
    expect(JSON.stringify(res.body.error.details)).to.include('two-uids.dcm').and.include('out of order');
    expect(await instancesOf(first)).to.deep.equal([]);
  });

  it('a series or SOP Instance UID of another patient is refused (UID_CONFLICT); the owner keeps its images', async () => {
    const f = await fixtures();
    const other = await f.patient(h.secretary, [h.doctor.id]);
    const owned = { study: newUid(), series: newUid(), sop: newUid() };
    const first = await upload(apiUrl, h.doctor.token, patient.id, [
      { name: 'owner.dcm', data: synthDicom({ patientId: 'ANY', studyUid: owned.study, seriesUid: owned.series, sopUid: owned.sop }) },
    ]);
    expect(first.status).to.equal(201);
    const attempts = [
      {
        name: 'series.dcm',
        data: synthDicom({ patientId: 'ANY', studyUid: newUid(), seriesUid: owned.series, sopUid: newUid() }),
        level: 'Series Instance UID',
      },
      {
        name: 'sop.dcm',
        data: synthDicom({ patientId: 'ANY', studyUid: newUid(), seriesUid: newUid(), sopUid: owned.sop }),
        level: 'SOP Instance UID',
      },
      {
        name: 'study.dcm',
        data: synthDicom({ patientId: 'ANY', studyUid: owned.study, seriesUid: newUid(), sopUid: newUid() }),
        level: 'Study Instance UID',
      },
    ];
    for (const attempt of attempts) {
      const res = await upload(apiUrl, h.doctor.token, other.id, [{ name: attempt.name, data: attempt.data }]);
      expect(res.status, attempt.name).to.equal(400);
      expect(res.body.error.details.refused, attempt.name).to.deep.equal([
        { file: attempt.name, code: 'UID_CONFLICT', reason: `This ${attempt.level} already belongs to another patient’s images` },
      ]);
    }
    expect(await instancesOf(owned.study)).to.have.length(1);
    // The owner adds to its own series and instance freely (the same instance again is idempotent).
    const again = await upload(apiUrl, h.doctor.token, patient.id, [
      { name: 'again.dcm', data: synthDicom({ patientId: 'ANY', studyUid: owned.study, seriesUid: owned.series, sopUid: owned.sop }) },
    ]);
    expect(again.status, JSON.stringify(again.body)).to.equal(201);
  });

  it('a ZIP bomb (400 MB of zeros in a few hundred KB) is refused as TOO_LARGE before it is inflated into Orthanc', async () => {
    const bomb = zipBomb(400);
    expect(bomb.length).to.be.lessThan(1024 * 1024);
    const res = await upload(apiUrl, h.doctor.token, patient.id, [
      { name: 'bomb.zip', data: bomb, type: 'application/zip' },
      { name: 'good.dcm', data: image() },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.refused).to.have.length(1);
    expect(res.body.refused[0]).to.include({ file: 'bomb.zip/bomb.dcm', code: 'TOO_LARGE' });
    expect(res.body.refused[0].reason).to.match(/compressed more than 100:1/);
    expect(res.body.stored.map((s: { file: string }) => s.file)).to.deep.equal(['good.dcm']);
  });

  it('a streamed ZIP bomb (sizes only in a data descriptor) is refused as TOO_LARGE while it inflates, and nothing of it is stored', async () => {
    const studyUid = newUid();
    const bomb = streamedZipBomb(synthDicom({ patientId: 'ANY', studyUid, seriesUid: newUid(), rows: 8, columns: 8 }), 512);
    expect(bomb.length).to.be.lessThan(1024 * 1024);
    // The local header declares no size: only counting while inflating tells.
    expect(bomb.readUInt16LE(6) & 0x8, 'data descriptor flag').to.equal(0x8);
    expect([bomb.readUInt32LE(18), bomb.readUInt32LE(22)]).to.deep.equal([0, 0]);
    const rssBefore = process.memoryUsage().rss;
    const res = await upload(apiUrl, h.doctor.token, patient.id, [
      { name: 'good.dcm', data: image() },
      { name: 'bomb.zip', data: bomb, type: 'application/zip' },
    ]);
    const rssAfter = process.memoryUsage().rss;
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.refused.map((r: { file: string; code: string }) => [r.file, r.code])).to.deep.equal([
      ['bomb.zip/bomb.dcm', 'TOO_LARGE'],
      ['bomb.zip', 'TOO_LARGE'],
    ]);
    expect(res.body.refused[0].reason).to.match(/compressed more than 100:1/);
    expect(res.body.stored.map((s: { file: string }) => s.file)).to.deep.equal(['good.dcm']);
    expect(await instancesOf(studyUid)).to.deep.equal([]);
    // The API runs in this process here: its memory, before and after, for the record.
    console.error(
      `      streamed 512 MB ZIP bomb: RSS of the process serving the API ${Math.round(rssBefore / 2 ** 20)} MB before, ${Math.round(rssAfter / 2 ** 20)} MB after`,
    );
  });

  it('a legacy file without the Part-10 header (a raw implicit-VR dataset) is stored with a proper meta header; garbage stays NOT_DICOM', async () => {
    // pydicom's rtstruct.dcm is such a file; written again under fresh UIDs, still without preamble or meta.
    const script = `import sys, io, pydicom
from pydicom.uid import generate_uid
ds = pydicom.dcmread(sys.argv[1], force=True)
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.SOPInstanceUID = generate_uid()
out = io.BytesIO(); ds.save_as(out, write_like_original=True); sys.stdout.buffer.write(out.getvalue())`;
    const raw = execFileSync('/usr/bin/python3', ['-c', script, path.join(PYDICOM_TEST_FILES, 'rtstruct.dcm')]);
    expect(raw.toString('latin1', 128, 132)).to.not.equal('DICM');
    const res = await upload(apiUrl, h.doctor.token, patient.id, [
      { name: 'legacy.dcm', data: raw },
      { name: 'notes.dcm', data: Buffer.from('not DICOM at all\n'.repeat(20)) },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect(res.body.refused.map((r: { file: string; code: string }) => [r.file, r.code])).to.deep.equal([['notes.dcm', 'NOT_DICOM']]);
    const stored = Buffer.from(await (await testOrthanc().fetch(`/instances/${res.body.stored[0].instanceId}/file`)).arrayBuffer());
    expect(stored.toString('latin1', 128, 132)).to.equal('DICM');
    const meta = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          'import sys, io, json, pydicom; d = pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read())); print(json.dumps([str(d.file_meta.TransferSyntaxUID), str(d.file_meta.MediaStorageSOPInstanceUID), str(d.SOPInstanceUID), str(d.PatientID)]))',
        ],
        { input: stored },
      ).toString(),
    );
    expect(meta[0]).to.equal('1.2.840.10008.1.2');
    expect(meta[1]).to.equal(meta[2]);
    expect(meta[3]).to.equal(patient.identifier);
  });

  it('a file over UPLOAD_MAX_FILE_MB is refused as TOO_LARGE, counted as it streams (sizes cannot lie)', async () => {
    const small = await startTestApi({ UPLOAD_MAX_FILE_MB: '1' });
    try {
      const big = synthDicom({ patientId: 'ANY', studyUid: newUid(), seriesUid: newUid(), rows: 1024, columns: 1024 });
      const res = await upload(small.url, h.doctor.token, patient.id, [
        { name: 'big.dcm', data: big },
        { name: 'small.dcm', data: image() },
      ]);
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.refused).to.deep.equal([
        { file: 'big.dcm', code: 'TOO_LARGE', reason: 'The file is larger than this server accepts (1 MB)' },
      ]);
      expect(res.body.stored.map((s: { file: string }) => s.file)).to.deep.equal(['small.dcm']);
    } finally {
      await small.stop();
    }
  });

  it('corpus: every file of Debian’s pydicom test data, one by one and then all in one request, is stored or refused with a documented code; Orthanc stays up', async function () {
    this.timeout(300_000);
    const documented = new Set([
      'NOT_DICOM',
      'TRUNCATED',
      'MALFORMED',
      'UNSUPPORTED',
      'WRONG_PATIENT',
      'UID_CONFLICT',
      'INVALID_DICOM',
      'TOO_LARGE',
      'INVALID_ZIP',
      'UNSAFE_PATH',
    ]);
    const files = (readdirSync(PYDICOM_TEST_FILES, { recursive: true }) as string[])
      .map((name) => ({ name, full: path.join(PYDICOM_TEST_FILES, name) }))
      .filter((f) => statSync(f.full).isFile())
      .map((f) => ({ name: f.name.replaceAll('/', '_'), data: readFileSync(f.full) }));
    expect(files.length).to.be.greaterThan(60);
    const counts: Record<string, number> = {};
    for (const file of files) {
      const res = await upload(apiUrl, h.doctor.token, patient.id, [file]);
      expect([201, 400], `${file.name}: ${JSON.stringify(res.body)}`).to.include(res.status);
      const outcome = res.status === 201 ? 'stored' : res.body.error.details.refused[0]?.code;
      expect(outcome === 'stored' || documented.has(outcome), `${file.name}: ${JSON.stringify(res.body)}`).to.equal(true);
      counts[outcome] = (counts[outcome] ?? 0) + 1;
    }
    const all = await upload(apiUrl, h.doctor.token, patient.id, files);
    expect(all.status, JSON.stringify(all.body).slice(0, 500)).to.equal(201);
    expect(all.body.stored.length + all.body.refused.length).to.equal(files.length);
    for (const r of all.body.refused as { code: string }[]) expect(documented.has(r.code), r.code).to.equal(true);
    expect((await testOrthanc().system()).Version).to.be.a('string');
    // The public files keep their public UIDs: remove them, so other suites can store the same files.
    const f = await fixtures();
    for (
      let page = await f.api.get(`/api/dicom/studies?patientId=${patient.id}&pageSize=100`, { token: h.doctor.token });
      page.body.items.length;
      page = await f.api.get(`/api/dicom/studies?patientId=${patient.id}&pageSize=100`, { token: h.doctor.token })
    ) {
      for (const study of page.body.items as { id: string }[])
        expect((await f.api.delete(`/api/dicom/studies/${study.id}/`, { token: h.doctor.token })).status).to.equal(204);
    }
    console.error(
      `      corpus of ${files.length} files, one by one: ${JSON.stringify(counts)}; all in one request: ${all.body.stored.length} stored, ${all.body.refused.length} refused`,
    );
  });

  it('two uploads racing with one new Study UID for two patients: exactly one wins, the other gets UID_CONFLICT, one copy stays', async () => {
    const f = await fixtures();
    const rival = await f.patient(h.secretary, [h.doctor.id]);
    for (let round = 0; round < 4; round++) {
      const uid = newUid();
      const file = (who: string) => [
        { name: `${who}.dcm`, data: synthDicom({ patientId: 'ANY', studyUid: uid, seriesUid: newUid(), sopUid: newUid() }) },
      ];
      const [one, two] = await Promise.all([
        upload(apiUrl, h.doctor.token, patient.id, file('one')),
        upload(apiUrl, h.doctor.token, rival.id, file('two')),
      ]);
      const statuses = [one.status, two.status].sort();
      expect(statuses, JSON.stringify([one.body, two.body])).to.deep.equal([201, 400]);
      const loser = one.status === 400 ? one : two;
      expect(loser.body.error.details.refused[0].code).to.equal('UID_CONFLICT');
      const owners = await testDb()('dicom_studies').where({ study_instance_uid: uid }).whereNotNull('patient_id');
      expect(owners).to.have.length(1);
      expect(await instancesOf(uid)).to.have.length(1);
    }
  });

  it('a push to Orthanc reusing another patient’s Study UID is indexed into the quarantine, never to a second owner', async () => {
    const f = await fixtures();
    const rival = await f.patient(h.secretary, [h.doctor.id]);
    const uid = newUid();
    expect(
      (
        await upload(apiUrl, h.doctor.token, patient.id, [
          { name: 'a.dcm', data: synthDicom({ patientId: 'ANY', studyUid: uid, seriesUid: newUid() }) },
        ])
      ).status,
    ).to.equal(201);
    await testOrthanc().storeInstance(Readable.from([synthDicom({ patientId: rival.identifier, studyUid: uid, seriesUid: newUid() })]));
    const { runIndexerTick } = await import('../api/src/dicom/index-sync.js');
    await runIndexerTick(testDb(), testOrthanc());
    const rows = await testDb()('dicom_studies').where({ study_instance_uid: uid }).orderBy('created_at').select('patient_id');
    expect(rows.map((r) => r.patient_id)).to.deep.equal([patient.id, null]);
  });
});
