import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { sharedDicomProxy } from './helpers/server.js';
import { ALL_WEEK, fixtures, randomEmail, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';

describe('API consistency: what a client meets at the edges (issue 21, low items)', () => {
  let f: Fixtures;
  let api: ApiClient;
  let h: HospitalWithStaff;
  before(async () => {
    f = await fixtures();
    api = f.api;
    h = await f.hospitalWithStaff();
  });

  it('a deactivated doctor’s or patient’s old tokens answer ACCOUNT_INACTIVE (access and refresh), as the README says', async () => {
    const doctor = await f.login((await f.account('doctor', h.hospital.id, h.admin.token)).email, 'mediconnect');
    const patient = await f.patient(h.secretary, [h.doctor.id]);
    expect((await api.patch(`/api/doctors/${doctor.id}`, { token: h.admin.token, body: { isActive: false } })).status).to.equal(200);
    expect((await api.patch(`/api/patients/${patient.id}`, { token: h.secretary.token, body: { isActive: false } })).status).to.equal(200);
    for (const who of [doctor, patient]) {
      const me = await api.get('/api/auth/me', { token: who.token });
      expect(me.status, who.role).to.equal(401);
      expect(me.body.error.code, who.role).to.equal('ACCOUNT_INACTIVE');
      const refreshed = await api.post('/api/auth/refresh', { body: { refreshToken: who.refreshToken } });
      expect(refreshed.body.error.code, who.role).to.equal('ACCOUNT_INACTIVE');
    }
  });

  it('a slot window whose `to` is before `from` says so (not “at most 62 days”)', async () => {
    const res = await api.get(`/api/doctors/${h.doctor.id}/availability?to=2020-01-01T00:00:00Z`, { token: h.secretary.token });
    expect(res.status).to.equal(400);
    expect(res.body.error.message).to.match(/`to` is not after `from`/);
    expect(res.body.error.details[0].field).to.equal('to');
  });

  it('a JSON endpoint sent text or a form answers 415, not 400 listing every field', async () => {
    const body = JSON.stringify({
      email: randomEmail('ct'),
      firstName: 'A',
      lastName: `B${randomUUID().slice(0, 4)}`,
      birthDate: '1970-01-01',
      sex: 'female',
      doctorIds: [h.doctor.id],
    });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await api.post('/api/patients', {
        token: h.secretary.token,
        rawBody: type === 'text/plain' ? body : 'firstName=A',
        headers: { 'content-type': type },
      });
      expect(res.status, type).to.equal(415);
      expect(res.body.error.code, type).to.equal('UNSUPPORTED_MEDIA_TYPE');
    }
    // JSON, with a charset or under a +json type, is JSON.
    const json = await api.post('/api/patients', {
      token: h.secretary.token,
      rawBody: body,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(json.status, JSON.stringify(json.body)).to.equal(201);
  });

  it('empty query parameters, as search boxes send them, mean “not set”', async () => {
    for (const path of ['/api/patients?q=&pageSize=', '/api/appointments?q=&status=', '/api/medical-records?q=']) {
      const res = await api.get(path, { token: h.doctor.token });
      expect(res.status, `${path} ${JSON.stringify(res.body)}`).to.equal(200);
    }
  });

  it('a patient’s doctors say whether each can still care for it: active, inactive (account or hospital), deleted', async () => {
    const leaving = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
    const gone = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
    const patient = await f.createPatient(h.secretary, [h.doctor.id, leaving.id, gone.id]);
    expect((await api.patch(`/api/doctors/${leaving.id}`, { token: h.admin.token, body: { isActive: false } })).status).to.equal(200);
    expect((await api.delete(`/api/doctors/${gone.id}`, { token: h.admin.token })).status).to.equal(204);
    const links = (await api.get(`/api/patients/${patient.id}/doctors`, { token: h.secretary.token })).body.items as {
      doctorId: string;
      doctorStatus: string;
    }[];
    const status = Object.fromEntries(links.map((l) => [l.doctorId, l.doctorStatus]));
    expect(status).to.deep.include({ [h.doctor.id]: 'active', [leaving.id]: 'inactive' });
    expect(status[gone.id]).to.equal('deleted');
  });

  it('the same appointment request sent four times at once makes one appointment; the others answer 409 DUPLICATE_REQUEST naming it', async () => {
    const doctor = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
    expect((await api.put(`/api/doctors/${doctor.id}/availability`, { token: doctor.token, body: ALL_WEEK })).status).to.equal(200);
    const patient = await f.patient(h.secretary, [doctor.id]);
    const startsAt = DateTime.now()
      .setZone('Europe/Paris')
      .plus({ days: 5 })
      .set({ hour: 10, minute: 0, second: 0, millisecond: 0 })
      .toISO()!;
    const body = { doctorId: doctor.id, startsAt, durationMinutes: 30, reason: 'Check-up' };
    const answers = await Promise.all([0, 1, 2, 3].map(() => api.post('/api/appointments', { token: patient.token, body })));
    const created = answers.filter((a) => a.status === 201);
    expect(created).to.have.length(1);
    for (const refused of answers.filter((a) => a.status !== 201)) {
      expect(refused.status).to.equal(409);
      expect(refused.body.error.code).to.equal('DUPLICATE_REQUEST');
    }
    const mine = (await api.get(`/api/appointments?pageSize=100`, { token: patient.token })).body.items as { id: string }[];
    expect(mine.map((a) => a.id)).to.deep.equal([created[0]!.body.id]);
    // Cancelled, the slot may be asked again.
    expect(
      (await api.post(`/api/appointments/${created[0]!.body.id}/cancel`, { token: patient.token, body: { reason: 'Changed my mind' } }))
        .status,
    ).to.equal(200);
    expect((await api.post('/api/appointments', { token: patient.token, body })).status).to.equal(201);
  });

  it('in French: field messages, every answer’s Content-Language, and the automatic reasons of notifications', async () => {
    const secretary = h.secretary;
    expect((await api.patch('/api/auth/me', { token: secretary.token, body: { locale: 'fr' } })).status).to.equal(200);
    const me = await api.get('/api/auth/me', { token: secretary.token });
    expect(me.headers.get('content-language')).to.equal('fr');
    const bad = await api.post('/api/patients', {
      token: secretary.token,
      body: { email: 'not-an-email', firstName: 'A', lastName: 'B', birthDate: '1970-01-01', sex: 'female', doctorIds: [h.doctor.id] },
    });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.details.find((d: { field: string }) => d.field === 'email').message).to.equal('Adresse e-mail invalide');
    expect(bad.headers.get('content-language')).to.equal('fr');
    // A French patient is told, in French, why its appointment with a departing doctor ended.
    const doctor = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
    expect((await api.put(`/api/doctors/${doctor.id}/availability`, { token: doctor.token, body: ALL_WEEK })).status).to.equal(200);
    const patient = await f.patient(secretary, [doctor.id]);
    expect((await api.patch('/api/auth/me', { token: patient.token, body: { locale: 'fr' } })).status).to.equal(200);
    const startsAt = DateTime.now()
      .setZone('Europe/Paris')
      .plus({ days: 6 })
      .set({ hour: 11, minute: 0, second: 0, millisecond: 0 })
      .toISO()!;
    expect(
      (
        await api.post('/api/appointments', {
          token: patient.token,
          body: { doctorId: doctor.id, startsAt, durationMinutes: 30, reason: 'Contrôle' },
        })
      ).status,
    ).to.equal(201);
    expect((await api.patch(`/api/doctors/${doctor.id}`, { token: h.admin.token, body: { isActive: false } })).status).to.equal(200);
    const told = (await api.get('/api/notifications?pageSize=100', { token: patient.token })).body.items as {
      type: string;
      body: string;
      data: { reason?: string };
    }[];
    const cancelled = told.find((n) => n.type === 'appointment.cancelled')!;
    expect(cancelled.body).to.include('n’exerce plus dans cet hôpital');
    expect(cancelled.data.reason).to.include('n’exerce plus');
  });

  it('list filters narrow what the caller sees and never reveal another hospital’s relations (doctorId, patientId, q)', async () => {
    const other = await f.hospitalWithStaff();
    for (const d of [h.doctor, other.doctor])
      expect((await api.put(`/api/doctors/${d.id}/availability`, { token: d.token, body: ALL_WEEK })).status).to.equal(200);
    // Followed in both hospitals; an appointment in each.
    const shared = await f.patient(h.secretary, [h.doctor.id]);
    await testDb()('patient_doctor_links').insert({
      patient_id: shared.id,
      doctor_id: other.doctor.id,
      source: 'secretary',
      created_by: other.secretary.id,
    });
    const when = (days: number) =>
      DateTime.now().setZone('Europe/Paris').plus({ days }).set({ hour: 14, minute: 0, second: 0, millisecond: 0 }).toISO()!;
    const mine = (
      await api.post('/api/appointments', {
        token: shared.token,
        body: { doctorId: h.doctor.id, startsAt: when(7), durationMinutes: 30, reason: 'Ici' },
      })
    ).body;
    const theirs = (
      await api.post('/api/appointments', {
        token: shared.token,
        body: { doctorId: other.doctor.id, startsAt: when(8), durationMinutes: 30, reason: 'Ailleurs' },
      })
    ).body;
    const ids = async (path: string, token: string) => ((await api.get(path, { token })).body.items as { id: string }[]).map((i) => i.id);
    for (const who of [h.secretary, h.doctor]) {
      expect(await ids(`/api/appointments?pageSize=100&doctorId=${other.doctor.id}`, who.token), who.role).to.deep.equal([]);
      const ofPatient = await ids(`/api/appointments?pageSize=100&patientId=${shared.id}`, who.token);
      expect(ofPatient, who.role).to.include(mine.id).and.not.include(theirs.id);
      expect(await ids(`/api/appointments?pageSize=100&q=Ailleurs`, who.token), who.role).to.not.include(theirs.id);
      expect(await ids(`/api/patients?pageSize=100&doctorId=${other.doctor.id}`, who.token), who.role).to.not.include(shared.id);
    }
    // The patient, whose relations they all are, sees both.
    expect(await ids('/api/appointments?pageSize=100', shared.token)).to.include.members([mine.id, theirs.id]);
  });

  // A NUL character is refused as 400 on every door, never a 500 (PostgreSQL stores no 0x00).
  it('a NUL character in a JSON field, a query parameter or a path segment of the API: 400 INVALID_CHARACTER naming where, nothing written', async () => {
    const lastName = `Nul${randomUUID().slice(0, 6)}`;
    const created = await api.post('/api/patients', {
      token: h.secretary.token,
      body: {
        email: randomEmail('nul'),
        firstName: 'A\u0000B',
        lastName,
        birthDate: '1970-01-01',
        sex: 'female',
        doctorIds: [h.doctor.id],
      },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(400);
    expect(created.body.error.code).to.equal('INVALID_CHARACTER');
    expect(created.body.error.details.map((d: { field: string }) => d.field)).to.deep.equal(['firstName']);
    expect(await testDb()('users').where({ last_name: lastName }).first()).to.equal(undefined);
    for (const path of ['/api/patients?q=%00', '/api/patients?q=a%00b', '/api/patients/%00', '/api/appointments?status=%00']) {
      const res = await api.get(path, { token: h.secretary.token });
      expect(res.status, path).to.equal(400);
      expect(res.body.error.code, path).to.equal('INVALID_CHARACTER');
    }
    const nested = await api.put(`/api/doctors/${h.doctor.id}/availability`, {
      token: h.doctor.token,
      body: { timezone: 'Europe/Paris', weekly: [], exceptions: [{ date: '2030-01-01', reason: 'x\u0000' }] },
    });
    expect(nested.status).to.equal(400);
    expect(nested.body.error.details.map((d: { field: string }) => d.field)).to.deep.equal(['exceptions.0.reason']);
  });

  it('a NUL character in a DICOMweb query of the proxy: 400', async () => {
    const proxy = await sharedDicomProxy();
    const res = await fetch(`${proxy.url}/dicom-web/studies?PatientName=%00`, { headers: { authorization: `Bearer ${h.doctor.token}` } });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('INVALID_CHARACTER');
  });
});
