import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { freePort } from '../scripts/lib/ports.js';
import { listProcesses } from '../scripts/lib/processes.js';
import { createLogger } from '../common/logger.js';
import { orthancInstanceId } from '../common/orthanc.js';
import { runIndexerTick } from '../api/src/dicom/index-sync.js';
import { startGate, type RunningGate } from '../dicom-gate/src/server.js';
import { STATUS } from '../dicom-gate/src/dimse.js';
import { statusOf } from '../dicom-gate/src/intake.js';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { dicomTags, newUid, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { nestedSequence, withElementsBeforePixels } from './helpers/dicom-hostile.js';
import { twoHospitals, type TwoHospitals } from './helpers/fixtures.js';
import { rawPush } from './helpers/scu.js';
import { sharedApi, testConfig } from './helpers/server.js';

/** A registered device of a hospital, written straight to the registry (as an admin's POST /api/modalities would). */
async function device(hospitalId: string, host = '127.0.0.1'): Promise<string> {
  const aeTitle = `GT${randomUUID().slice(0, 8).toUpperCase()}`;
  await testDb()('modalities').insert({ hospital_id: hospitalId, ae_title: aeTitle, host, port: 104 });
  return aeTitle;
}

/** The Orthanc process of the test stack (its configuration sits in the run's folder). */
function orthancPids(): number[] {
  const config = `${process.env.MEDICONNECT_TEST_TMP}/orthanc/orthanc.json`;
  return listProcesses()
    .filter((p) => p.command.includes('Orthanc') && p.command.includes(config))
    .map((p) => p.pid);
}

describe('DICOM gate on the real stack: what a device pushes goes through the upload’s intake before Orthanc (dicom-gate/src)', function () {
  this.timeout(120_000);
  let w: TwoHospitals;
  let gate: RunningGate;
  let metricsUrl: string;
  const orthanc = testOrthanc();
  const storedCopies = async (sop: string) =>
    ((await (await orthanc.fetch('/tools/lookup', { method: 'POST', body: sop })).json()) as unknown[]).length;

  before(async () => {
    w = await twoHospitals();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    gate = await startGate(testConfig({ DICOM_GATE_METRICS_PORT: String(metricsPort) }), {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('silent', 'gate-test'),
    });
  });
  after(() => gate?.stop());

  it('a file nested 5,000 sequences deep is refused (0xC000) before Orthanc reads it; Orthanc is the same process; the next instance of the association, and the next association, are stored', async () => {
    const aet = await device(w.a.hospital.id);
    const pids = orthancPids();
    expect(pids, 'the test stack’s Orthanc').to.have.length(1);
    const deepSop = newUid();
    const deep = withElementsBeforePixels(
      synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid(), sopUid: deepSop }),
      nestedSequence(5000, false),
    );
    const goodSop = newUid();
    const good = synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid(), sopUid: goodSop });
    const pushed = await rawPush(gate.port, aet, [deep, good]);
    expect(pushed).to.deep.equal({ accepted: true, statuses: [STATUS.CANNOT_UNDERSTAND, STATUS.SUCCESS] });
    expect(await storedCopies(deepSop)).to.equal(0);
    expect(await storedCopies(goodSop)).to.equal(1);
    expect(orthancPids(), 'Orthanc never restarted').to.deep.equal(pids);
    const again = newUid();
    expect(
      await rawPush(gate.port, aet, [
        synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid(), sopUid: again }),
      ]),
    ).to.deep.equal({ accepted: true, statuses: [STATUS.SUCCESS] });
    expect(await storedCopies(again)).to.equal(1);
  });

  it('an association aborted in the middle of a dataset stores nothing of it; the gate goes on', async () => {
    const aet = await device(w.a.hospital.id);
    const [first, cut] = [newUid(), newUid()];
    const files = [first, cut].map((sop) =>
      synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid(), sopUid: sop, rows: 256, columns: 256 }),
    );
    const pushed = await rawPush(gate.port, aet, files, { abortAfter: 40_000 });
    expect(pushed.statuses[0]).to.equal(STATUS.SUCCESS);
    expect(await storedCopies(first)).to.equal(1);
    expect(await storedCopies(cut)).to.equal(0);
    const after = newUid();
    expect(
      (
        await rawPush(gate.port, aet, [
          synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid(), sopUid: after }),
        ])
      ).statuses,
    ).to.deep.equal([STATUS.SUCCESS]);
  });

  it('its patient’s instance gets the whole patient module (ID, name, issuer, birth date, sex), as an upload does; the receipt names Orthanc’s own instance id', async () => {
    const aet = await device(w.a.hospital.id);
    const [study, series, sop] = [newUid(), newUid(), newUid()];
    const file = synthDicom({ patientId: w.patient.identifier, studyUid: study, seriesUid: series, sopUid: sop });
    expect((await rawPush(gate.port, aet, [file])).statuses).to.deep.equal([STATUS.SUCCESS]);
    const [found] = (await (await orthanc.fetch('/tools/lookup', { method: 'POST', body: sop })).json()) as { ID: string }[];
    expect(found!.ID).to.equal(orthancInstanceId(w.patient.identifier, study, series, sop));
    const receipt = await testDb()('dicom_gate_receipts').where({ orthanc_instance_id: found!.ID }).first();
    expect(receipt).to.include({ ae_title: aet, hospital_id: w.a.hospital.id });
    const row = await testDb()('patients as p')
      .join('users as u', 'u.id', 'p.user_id')
      .where('p.user_id', w.patient.id)
      .first('p.birth_date', 'p.sex', 'u.first_name', 'u.last_name');
    const storedFile = Buffer.from(await (await orthanc.fetch(`/instances/${found!.ID}/file`)).arrayBuffer());
    const tags = dicomTags(storedFile, ['PatientID', 'PatientName', 'IssuerOfPatientID', 'PatientBirthDate', 'PatientSex']);
    const birth = row.birth_date instanceof Date ? row.birth_date.toISOString().slice(0, 10) : String(row.birth_date);
    expect(tags).to.include({
      PatientID: w.patient.identifier,
      IssuerOfPatientID: 'MEDICONNECT',
      PatientBirthDate: birth.replace(/-/g, ''),
    });
    expect(String(tags.PatientName).toUpperCase()).to.include(String(row.last_name).toUpperCase().slice(0, 3));
    expect(tags.PatientSex).to.equal({ female: 'F', male: 'M', other: 'O', unknown: '' }[row.sex as string]);
    await runIndexerTick(testDb(), orthanc);
    const indexed = await testDb()('dicom_studies').where({ study_instance_uid: study }).first();
    expect(indexed).to.include({ patient_id: w.patient.id, source_ae_title: aet, source_hospital_id: w.a.hospital.id });
    // Deleted, then uploaded through the API by a doctor: the instance is the upload's now, and no old receipt
    // files it by the device (npm run repair drops receipts of instances Orthanc no longer holds).
    await orthanc.delete('instances', found!.ID);
    const api = await sharedApi();
    const again = await upload(api.url, w.a.doctor.token, w.patient.id, [{ name: 'again.dcm', data: file }]);
    expect(again.status, JSON.stringify(again.body)).to.equal(201);
    expect(again.body.stored[0].instanceId).to.equal(found!.ID);
    expect(await testDb()('dicom_gate_receipts').where({ orthanc_instance_id: found!.ID }).first()).to.equal(undefined);
  });

  it('another hospital’s device cannot add to, take or hide an owned study; the owner’s file is byte-identical after; the foreign hospital has nothing to assign or discard', async () => {
    const { a, b, patient } = w;
    const owned = { study: newUid(), series: newUid(), sop: newUid() };
    const api = await sharedApi();
    const res = await upload(api.url, a.doctor.token, patient.id, [
      { name: 'owned.dcm', data: synthDicom({ patientId: 'ANY', studyUid: owned.study, seriesUid: owned.series, sopUid: owned.sop }) },
    ]);
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const studyId = res.body.studies[0].id as string;
    const [id] = ((await (await orthanc.fetch('/tools/lookup', { method: 'POST', body: owned.sop })).json()) as { ID: string }[]).map(
      (r) => r.ID,
    );
    const before = Buffer.from(await (await orthanc.fetch(`/instances/${id}/file`)).arrayBuffer());
    const bAet = await device(b.hospital.id);
    const attempts = [
      { patientId: patient.identifier, studyUid: owned.study, seriesUid: newUid(), sopUid: newUid() },
      { patientId: 'WARD-9-0001', studyUid: owned.study, seriesUid: newUid(), sopUid: newUid() },
      { patientId: 'WARD-9-0001', studyUid: newUid(), seriesUid: owned.series, sopUid: newUid() },
      { patientId: 'WARD-9-0001', studyUid: newUid(), seriesUid: newUid(), sopUid: owned.sop },
    ];
    const pushed = await rawPush(
      gate.port,
      bAet,
      attempts.map((t) => synthDicom(t)),
    );
    expect(pushed.statuses).to.deep.equal(attempts.map(() => STATUS.REFUSED_NOT_AUTHORIZED));
    await runIndexerTick(testDb(), orthanc);
    expect((await testDb()('dicom_studies').where({ id: studyId }).first()).patient_id).to.equal(patient.id);
    expect(Buffer.from(await (await orthanc.fetch(`/instances/${id}/file`)).arrayBuffer()).equals(before)).to.equal(true);
    const owner = new ApiClient(api.url);
    expect((await owner.get(`/api/dicom/studies/${studyId}`, { token: patient.token })).status).to.equal(200);
    expect(
      (await owner.get('/api/dicom/unmatched?pageSize=100', { token: b.doctor.token })).body.items.map(
        (i: { studyInstanceUid: string }) => i.studyInstanceUid,
      ),
    ).to.not.include(owned.study);
    expect(
      (await owner.post(`/api/dicom/unmatched/${studyId}/assign`, { token: b.doctor.token, body: { patientId: patient.id } })).status,
    ).to.equal(404);
    expect((await owner.delete(`/api/dicom/unmatched/${studyId}`, { token: b.doctor.token })).status).to.equal(404);
  });

  it('one intake, two doors: the same hostile files get the same refusal code through the upload and the gate, and good ones are stored by both', async () => {
    const api = (await sharedApi()).url;
    // An image of another patient, whose UIDs the hostile files borrow.
    const other = await w.f.patient(w.a.secretary, [w.a.doctor.id]);
    const [takenStudy, takenSeries, takenSop] = [newUid(), newUid(), newUid()];
    const owned = await upload(api, w.a.doctor.token, other.id, [
      { name: 'owner.dcm', data: synthDicom({ patientId: 'ANY', studyUid: takenStudy, seriesUid: takenSeries, sopUid: takenSop }) },
    ]);
    expect(owned.status).to.equal(201);
    const mine = { patientId: w.patient.identifier };
    // Each door gets its own copy (fresh UIDs where the UID is not the point), built by the same recipe.
    const cases: { name: string; code: string | null; file: () => Buffer }[] = [
      { name: 'good', code: null, file: () => synthDicom({ ...mine, studyUid: newUid(), seriesUid: newUid() }) },
      {
        name: 'nested 5,000 deep',
        code: 'MALFORMED',
        file: () => withElementsBeforePixels(synthDicom({ ...mine, studyUid: newUid(), seriesUid: newUid() }), nestedSequence(5000, false)),
      },
      {
        name: 'truncated',
        code: 'TRUNCATED',
        file: () => {
          const whole = synthDicom({ ...mine, studyUid: newUid(), seriesUid: newUid() });
          return whole.subarray(0, whole.length - 100);
        },
      },
      { name: 'another’s study', code: 'UID_CONFLICT', file: () => synthDicom({ ...mine, studyUid: takenStudy, seriesUid: newUid() }) },
      { name: 'another’s series', code: 'UID_CONFLICT', file: () => synthDicom({ ...mine, studyUid: newUid(), seriesUid: takenSeries }) },
      {
        name: 'another’s instance',
        code: 'UID_CONFLICT',
        file: () => synthDicom({ ...mine, studyUid: newUid(), seriesUid: newUid(), sopUid: takenSop }),
      },
    ];
    for (const c of cases) {
      const uploaded = await upload(api, w.a.doctor.token, w.patient.id, [{ name: `${c.name}.dcm`, data: c.file() }]);
      const uploadCode = uploaded.status === 201 ? null : (uploaded.body.error.details.refused[0].code as string);
      const aet = await device(w.a.hospital.id);
      const pushed = await rawPush(gate.port, aet, [c.file()]);
      const audited = await testDb()('audit_log')
        .where({ action: 'dicom.push_refused' })
        .whereRaw(`details->>'aeTitle' = ?`, [aet])
        .select('details');
      const gateCode = audited.length === 0 ? null : (audited[0].details.code as string);
      expect({ name: c.name, upload: uploadCode, gate: gateCode }).to.deep.equal({ name: c.name, upload: c.code, gate: c.code });
      expect(pushed.statuses, c.name).to.deep.equal([c.code === null ? STATUS.SUCCESS : statusOf(c.code)]);
    }
    expect(await storedCopies(takenSop), 'the owner’s instance, once').to.equal(1);
  });

  it('holds at most DICOM_MAX_ASSOCIATIONS connections: one more is closed at once and counted; a place freed serves the next push', async () => {
    const metricsPort = await freePort();
    const small = await startGate(testConfig({ DICOM_MAX_ASSOCIATIONS: '2', DICOM_GATE_METRICS_PORT: String(metricsPort) }), {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('silent', 'gate-small'),
    });
    try {
      const connect = () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(small.port, '127.0.0.1', () => resolve(socket));
          socket.on('error', () => undefined);
        });
      const held = [await connect(), await connect()];
      const third = await connect();
      const closed = await new Promise<boolean>((resolve) => {
        third.on('close', () => resolve(true));
        setTimeout(() => resolve(false), 5_000);
      });
      expect(closed, 'the third connection is closed by the gate').to.equal(true);
      for (const socket of held) socket.destroy();
      const aet = await device(w.a.hospital.id);
      // The held sockets' close reaches the gate asynchronously: the push waits for a free place.
      let pushed = await rawPush(small.port, aet, [
        synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid() }),
      ]);
      for (let i = 0; i < 20 && !pushed.accepted; i++) {
        await new Promise((r) => setTimeout(r, 100));
        pushed = await rawPush(small.port, aet, [synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid() })]);
      }
      expect(pushed).to.deep.equal({ accepted: true, statuses: [STATUS.SUCCESS] });
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(text).to.match(/mediconnect_gate_associations_total\{result="refused_too_many",service="dicom-gate"\} [1-9]/);
    } finally {
      await small.stop();
    }
  });

  it('refused associations and instances are counted in the gate’s /metrics and audited with their reason, never the identifiers', async () => {
    // Its own pushes (the test does not lean on the others): one stored, one malformed, one into a study the index
    // gives to a patient (uploaded through the API, which indexes at once).
    const aet = await device(w.a.hospital.id);
    const owned = newUid();
    const uploaded = await upload((await sharedApi()).url, w.a.doctor.token, w.patient.id, [
      { name: 'owned.dcm', data: synthDicom({ patientId: 'ANY', studyUid: owned, seriesUid: newUid() }) },
    ]);
    expect(uploaded.status).to.equal(201);
    const deep = withElementsBeforePixels(
      synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid() }),
      nestedSequence(5000, false),
    );
    const good = synthDicom({ patientId: w.patient.identifier, studyUid: newUid(), seriesUid: newUid() });
    const intoOwned = synthDicom({ patientId: 'NOT-A-PATIENT', studyUid: owned, seriesUid: newUid() });
    expect((await rawPush(gate.port, aet, [good, deep, intoOwned])).statuses).to.deep.equal([
      STATUS.SUCCESS,
      STATUS.CANNOT_UNDERSTAND,
      STATUS.REFUSED_NOT_AUTHORIZED,
    ]);
    const refusedAt = await rawPush(gate.port, 'NOBODY', [synthDicom({ patientId: 'X', studyUid: newUid(), seriesUid: newUid() })]);
    expect(refusedAt).to.deep.equal({ accepted: false, statuses: [] });
    const elsewhere = await device(w.a.hospital.id, '10.9.8.7');
    expect(
      (await rawPush(gate.port, elsewhere, [synthDicom({ patientId: 'X', studyUid: newUid(), seriesUid: newUid() })])).accepted,
    ).to.equal(false);
    const text = await (await fetch(metricsUrl)).text();
    expect(text).to.match(/mediconnect_gate_associations_total\{result="refused_unknown_ae_title",service="dicom-gate"\} [1-9]/);
    expect(text).to.match(/mediconnect_gate_associations_total\{result="refused_wrong_host",service="dicom-gate"\} [1-9]/);
    expect(text).to.match(/mediconnect_gate_instances_total\{result="refused",code="MALFORMED",service="dicom-gate"\} [1-9]/);
    expect(text).to.match(/mediconnect_gate_instances_total\{result="stored",code="",service="dicom-gate"\} [1-9]/);
    const refusals = await testDb()('audit_log').where({ action: 'dicom.push_refused' }).select('details');
    expect(refusals.map((r) => r.details.code)).to.include.members(['MALFORMED', 'UID_CONFLICT']);
    expect(JSON.stringify(refusals)).to.not.include(w.patient.identifier);
    const associations = await testDb()('audit_log').where({ action: 'dicom.association_refused' }).select('details');
    expect(associations.map((r) => r.details.why)).to.include.members(['unknown_ae_title', 'wrong_host']);
  });
});
