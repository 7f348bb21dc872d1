import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { DateTime } from 'luxon';
import { erasePatient } from '../api/src/patients/erase.js';
import { testDb } from './helpers/db.js';
import { newUid, s3ObjectFile, synthDicom, testOrthanc, upload } from './helpers/dicom.js';
import { ALL_WEEK, fixtures, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';

describe('erasure on request (issue 11)', function () {
  this.timeout(120_000);
  let f: Fixtures;
  let h: HospitalWithStaff;

  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
    expect((await f.api.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: ALL_WEEK })).status).to.equal(200);
  });

  it('removes one patient’s images (objects under its prefix), records, appointments, links, shares and notifications; anonymises the account; audits it; spares everyone else', async () => {
    const [patient, other] = [await f.patient(h.secretary, [h.doctor.id]), await f.patient(h.secretary, [h.doctor.id])];
    const studyUid = newUid();
    const seriesUid = newUid();
    const sop = newUid();
    const uploaded = await upload(f.api.baseUrl, h.doctor.token, patient.id, [
      { name: 'a.dcm', data: synthDicom({ patientId: 'E', studyUid, seriesUid, sopUid: sop }) },
    ]);
    const kept = await upload(f.api.baseUrl, h.doctor.token, other.id, [
      { name: 'b.dcm', data: synthDicom({ patientId: 'E', studyUid: newUid(), seriesUid: newUid() }) },
    ]);
    expect(
      (
        await f.api.post('/api/medical-records', {
          token: h.doctor.token,
          body: { patientId: patient.id, type: 'note', title: 'T', content: 'C' },
        })
      ).status,
    ).to.equal(201);
    const startsAt = DateTime.now()
      .setZone('Europe/Paris')
      .plus({ days: 4 })
      .set({ hour: 9, minute: 0, second: 0, millisecond: 0 })
      .toISO()!;
    const appt = await f.api.post('/api/appointments', {
      token: patient.token,
      body: { doctorId: h.doctor.id, startsAt, durationMinutes: 30, reason: 'Check' },
    });
    expect(appt.status).to.equal(201);
    expect(
      (await f.api.post(`/api/dicom/studies/${uploaded.body.studies[0].id}/shares`, { token: patient.token, body: {} })).status,
    ).to.equal(201);
    const key = `patients/${patient.identifier}/studies/${studyUid}/series/${seriesUid}/${sop}.dcm`;
    expect(existsSync(s3ObjectFile(key))).to.equal(true);

    // A failed login counted under its address: erased with it.
    expect((await f.api.post('/api/auth/login', { body: { email: patient.email, password: 'not-the-password' } })).status).to.equal(401);
    const [failure] = await testDb()('login_failures').where({ kind: 'account', key: patient.email.toLowerCase() });
    expect(failure).to.not.equal(undefined);

    // The identifier must confirm the target.
    let refused = false;
    await erasePatient(testDb(), testOrthanc(), patient.id, other.identifier, {
      requestId: 'test',
      ip: '127.0.0.1',
      userAgent: null,
    }).catch(() => (refused = true));
    expect(refused).to.equal(true);
    expect(await testDb()('medical_record_entries').where({ patient_id: patient.id })).to.have.length(1);

    const report = await erasePatient(testDb(), testOrthanc(), patient.id, patient.identifier, {
      requestId: 'test',
      ip: '127.0.0.1',
      userAgent: null,
    });
    expect(report).to.include({ orthancPatients: 1, studies: 1, recordEntries: 1, appointments: 1, objectsLeft: 0 });
    expect(existsSync(s3ObjectFile(key)), 'the object under the patient’s prefix').to.equal(false);
    expect(await (await testOrthanc().fetch('/tools/lookup', { method: 'POST', body: studyUid })).json()).to.deep.equal([]);
    for (const table of [
      'medical_record_entries',
      'appointments',
      'dicom_studies',
      'patient_doctor_links',
      'study_shares',
      'dicom_reports',
    ]) {
      expect(await testDb()(table).where({ patient_id: patient.id }), table).to.deep.equal([]);
    }
    expect(await testDb()('notifications').whereRaw(`data->>'appointmentId' = ?`, [appt.body.id])).to.deep.equal([]);
    const account = await testDb()('users').where({ id: patient.id }).first();
    expect(account).to.include({ first_name: 'Erased', is_active: false });
    expect(account.email).to.match(/@erased\.invalid$/);
    expect((await f.api.post('/api/auth/login', { body: { email: patient.email, password: patient.password } })).status).to.equal(401);
    expect(await testDb()('audit_log').where({ action: 'patient.erased', target_id: patient.id })).to.have.length(1);
    // Its logins: closed, with neither address nor browser, and no refresh token left; no failed-login trace.
    const sessions = await testDb()('sessions').where({ user_id: patient.id });
    expect(report.sessions).to.equal(sessions.length).and.to.be.at.least(1);
    expect(
      sessions.map((s: { ip: string | null; user_agent: string | null; revoked_reason: string }) => [s.ip, s.user_agent, s.revoked_reason]),
    ).to.deep.equal(sessions.map(() => [null, null, 'erased']));
    expect(
      await testDb()('refresh_tokens').whereIn(
        'session_id',
        sessions.map((s: { id: string }) => s.id),
      ),
    ).to.deep.equal([]);
    // (The login tried above after the erasure counts a new failure, under an address no account has any more.)
    expect(await testDb()('login_failures').where({ id: failure.id })).to.deep.equal([]);
    // The other patient keeps everything.
    expect((await f.api.get(`/api/dicom/studies/${kept.body.studies[0].id}`, { token: h.doctor.token })).status).to.equal(200);
    expect((await f.api.get(`/api/patients/${other.id}`, { token: h.secretary.token })).status).to.equal(200);
  });
});
