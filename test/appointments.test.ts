import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import type { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { ALL_WEEK, fixtures, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';

/** A future instant: `days` ahead at a local hour in Paris, on a slot no other test uses (random minute block). */
function at(days: number, hour: number, minute = 0): string {
  return DateTime.now().setZone('Europe/Paris').plus({ days }).set({ hour, minute, second: 0, millisecond: 0 }).toISO()!;
}

describe('appointments', () => {
  let f: Fixtures;
  let api: ApiClient;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  let patient: Actor;
  let day = 10;
  /** A fresh day for each test, so slots never collide between tests. */
  const nextDay = () => ++day;

  before(async () => {
    f = await fixtures();
    api = f.api;
    [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    for (const h of [a, b])
      expect((await api.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: ALL_WEEK })).status).to.equal(200);
    // First linked to hospital A's doctor only.
    patient = await f.patient(a.secretary, [a.doctor.id]);
  });

  const request = (who: Actor, doctorId: string, startsAt: string, durationMinutes = 30) =>
    api.post('/api/appointments', { token: who.token, body: { doctorId, startsAt, durationMinutes, reason: 'Check-up' } });

  describe('requests', () => {
    it('a patient requests an appointment with a doctor of another hospital → requested, no link yet', async () => {
      const res = await request(patient, b.doctor.id, at(nextDay(), 9));
      expect(res.status).to.equal(201);
      expect(res.body).to.include({ status: 'requested', durationMinutes: 30, reason: 'Check-up' });
      expect(res.body.startsAt).to.match(/\+0[12]:00$/);
      expect(res.body.doctor).to.include({ id: b.doctor.id, hospitalId: b.hospital.id });
      expect((await api.get(`/api/patients/${patient.id}`, { token: b.doctor.token })).status).to.equal(404);
      expect((await api.get(`/api/appointments/${res.body.id}`, { token: b.doctor.token })).status).to.equal(404);
      expect((await api.get(`/api/appointments/${res.body.id}`, { token: b.secretary.token })).status).to.equal(200);
      expect((await api.get(`/api/appointments/${res.body.id}`, { token: a.secretary.token })).status).to.equal(404);
    });

    it('keeps reasons encrypted at rest', async () => {
      const secret = `Chest pain ${randomUUID()}`;
      const res = await api.post('/api/appointments', {
        token: patient.token,
        body: { doctorId: b.doctor.id, startsAt: at(nextDay(), 9), durationMinutes: 30, reason: secret },
      });
      expect(res.body.reason).to.equal(secret);
      const cancelled = await api.post(`/api/appointments/${res.body.id}/cancel`, {
        token: patient.token,
        body: { reason: `Better ${secret}` },
      });
      expect(cancelled.body.statusReason).to.equal(`Better ${secret}`);
      const row = await testDb()('appointments').where({ id: res.body.id }).first();
      expect(JSON.stringify(row)).to.not.include(secret);
      expect((await api.get(`/api/appointments/${res.body.id}`, { token: b.secretary.token })).body.reason).to.equal(secret);
    });

    it('refuses requests outside availability (409), in the past (400), for unknown doctors (400)', async () => {
      const closedDoctor = await f.account('doctor', b.hospital.id, b.admin.token);
      const outside = await request(patient, closedDoctor.id, at(nextDay(), 9));
      expect(outside.status).to.equal(409);
      expect(outside.body.error.code).to.equal('OUTSIDE_AVAILABILITY');
      expect((await request(patient, b.doctor.id, DateTime.now().minus({ hours: 1 }).toISO()!)).status).to.equal(400);
      expect((await request(patient, randomUUID(), at(nextDay(), 9))).status).to.equal(400);
      const bad = await api.post('/api/appointments', {
        token: patient.token,
        body: { doctorId: b.doctor.id, startsAt: 'tomorrow', reason: '' },
      });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.details.map((d: { field: string }) => d.field)).to.include.members(['startsAt', 'reason']);
    });

    it('only patients request appointments (403 for other roles)', async () => {
      for (const actor of [a.doctor, a.secretary, a.admin, await f.superAdmin()]) {
        expect((await request(actor, b.doctor.id, at(nextDay(), 9))).status, actor.role).to.equal(403);
      }
    });
  });

  describe('validation and the patient–doctor link', () => {
    it('a secretary of the doctor’s hospital validates and the link is created; the patient’s first hospital gets 404', async () => {
      const appt = (await request(patient, b.doctor.id, at(nextDay(), 10))).body;
      const wrongHospital = await api.post(`/api/appointments/${appt.id}/validate`, { token: a.secretary.token });
      expect(wrongHospital.status).to.equal(404);
      expect((await api.post(`/api/appointments/${appt.id}/validate`, { token: patient.token })).status).to.equal(403);
      expect((await api.post(`/api/appointments/${appt.id}/validate`, { token: b.doctor.token })).status).to.equal(403);
      const ok = await api.post(`/api/appointments/${appt.id}/validate`, { token: b.secretary.token });
      expect(ok.status).to.equal(200);
      expect(ok.body).to.include({ status: 'validated' });
      expect(ok.body.statusChangedBy).to.deep.equal({ id: b.secretary.id, firstName: 'Test', lastName: 'secretary', role: 'secretary' });
      expect(ok.body.requestedBy).to.include({ id: patient.id, role: 'patient' });
      const link = await testDb()('patient_doctor_links').where({ patient_id: patient.id, doctor_id: b.doctor.id }).first();
      expect(link).to.include({ source: 'appointment', appointment_id: appt.id, created_by: b.secretary.id });
      expect((await api.get(`/api/patients/${patient.id}`, { token: b.doctor.token })).status).to.equal(200);
      expect((await api.get(`/api/appointments/${appt.id}`, { token: b.doctor.token })).status).to.equal(200);
      const again = await api.post(`/api/appointments/${appt.id}/validate`, { token: b.secretary.token });
      expect(again.status).to.equal(409);
      expect(again.body.error.code).to.equal('INVALID_STATUS');
    });

    it('validating for an already linked doctor keeps one link', async () => {
      const appt = (await request(patient, a.doctor.id, at(nextDay(), 9))).body;
      expect((await api.post(`/api/appointments/${appt.id}/validate`, { token: a.secretary.token })).status).to.equal(200);
      const links = await testDb()('patient_doctor_links').where({ patient_id: patient.id, doctor_id: a.doctor.id });
      expect(links).to.have.length(1);
      expect(links[0].source).to.equal('patient_creation');
    });

    it('refuses requests overlapping a validated appointment', async () => {
      const d = nextDay();
      const first = (await request(patient, b.doctor.id, at(d, 14))).body;
      await api.post(`/api/appointments/${first.id}/validate`, { token: b.secretary.token });
      const other = await f.patient(b.secretary, [b.doctor.id]);
      const overlap = await request(other, b.doctor.id, at(d, 14, 15));
      expect(overlap.status).to.equal(409);
      expect(overlap.body.error.code).to.equal('SLOT_TAKEN');
      expect((await request(other, b.doctor.id, at(d, 14, 30))).status).to.equal(201);
      const slots = await api.get(
        `/api/doctors/${b.doctor.id}/availability?from=${encodeURIComponent(at(d, 13))}&to=${encodeURIComponent(at(d, 16))}`,
        { token: other.token },
      );
      expect(slots.body.slots).to.have.length(2);
    });

    it('two secretaries validating overlapping requests at the same moment cannot double-book', async () => {
      const d = nextDay();
      const second = await f.activate((await f.account('secretary', b.hospital.id, b.admin.token)).email);
      const p2 = await f.patient(b.secretary, [b.doctor.id]);
      for (let round = 0; round < 3; round++) {
        const x = (await request(patient, b.doctor.id, at(d, 8 + round * 2))).body;
        const y = (await request(p2, b.doctor.id, at(d, 8 + round * 2, 10))).body;
        const results = await Promise.all([
          api.post(`/api/appointments/${x.id}/validate`, { token: b.secretary.token }),
          api.post(`/api/appointments/${y.id}/validate`, { token: second.token }),
        ]);
        expect(results.map((r) => r.status).sort(), `round ${round}`).to.deep.equal([200, 409]);
        expect(results.find((r) => r.status === 409)!.body.error.code).to.equal('SLOT_TAKEN');
      }
      const validated = await testDb()('appointments')
        .where({ doctor_id: b.doctor.id, status: 'validated' })
        .whereBetween('starts_at', [new Date(at(d, 0)), new Date(at(d, 23))]);
      expect(validated).to.have.length(3);
    });
  });

  describe('cancel, reschedule, complete', () => {
    it('the patient cancels its own request with a reason; other hospitals get 404, doctors 403', async () => {
      const appt = (await request(patient, b.doctor.id, at(nextDay(), 9))).body;
      expect((await api.post(`/api/appointments/${appt.id}/cancel`, { token: a.secretary.token, body: { reason: 'x' } })).status).to.equal(
        404,
      );
      expect((await api.post(`/api/appointments/${appt.id}/cancel`, { token: b.doctor.token, body: { reason: 'x' } })).status).to.equal(
        403,
      );
      expect((await api.post(`/api/appointments/${appt.id}/cancel`, { token: patient.token, body: { reason: '' } })).status).to.equal(400);
      const res = await api.post(`/api/appointments/${appt.id}/cancel`, { token: patient.token, body: { reason: 'Feeling better' } });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ status: 'cancelled', statusReason: 'Feeling better' });
      expect((await api.post(`/api/appointments/${appt.id}/cancel`, { token: patient.token, body: { reason: 'again' } })).status).to.equal(
        409,
      );
      const other = await f.patient(b.secretary, [b.doctor.id]);
      expect((await api.post(`/api/appointments/${appt.id}/cancel`, { token: other.token, body: { reason: 'x' } })).status).to.equal(404);
    });

    it('the hospital’s secretary cancels a validated appointment, freeing the slot', async () => {
      const d = nextDay();
      const appt = (await request(patient, b.doctor.id, at(d, 11))).body;
      await api.post(`/api/appointments/${appt.id}/validate`, { token: b.secretary.token });
      expect(
        (await api.post(`/api/appointments/${appt.id}/cancel`, { token: b.secretary.token, body: { reason: 'Doctor away' } })).body.status,
      ).to.equal('cancelled');
      expect((await request(patient, b.doctor.id, at(d, 11))).status).to.equal(201);
    });

    it('the patient reschedules while requested only; the secretary any time before it starts', async () => {
      const appt = (await request(patient, b.doctor.id, at(nextDay(), 9))).body;
      const moved = await api.post(`/api/appointments/${appt.id}/reschedule`, {
        token: patient.token,
        body: { startsAt: at(day, 15), durationMinutes: 45 },
      });
      expect(moved.status).to.equal(200);
      expect(moved.body.durationMinutes).to.equal(45);
      expect(Date.parse(moved.body.startsAt)).to.equal(Date.parse(at(day, 15)));
      await api.post(`/api/appointments/${appt.id}/validate`, { token: b.secretary.token });
      const refused = await api.post(`/api/appointments/${appt.id}/reschedule`, { token: patient.token, body: { startsAt: at(day, 16) } });
      expect(refused.status).to.equal(409);
      await testDb()('appointments').where({ id: appt.id }).update({ reminder_sent_at: new Date() });
      const bySecretary = await api.post(`/api/appointments/${appt.id}/reschedule`, {
        token: b.secretary.token,
        body: { startsAt: at(day, 17) },
      });
      expect(bySecretary.status).to.equal(200);
      expect(bySecretary.body).to.include({ status: 'validated', reminderSentAt: null, durationMinutes: 45 });
      expect(
        (await api.post(`/api/appointments/${appt.id}/reschedule`, { token: a.secretary.token, body: { startsAt: at(day, 18) } })).status,
      ).to.equal(404);
    });

    it('doctor or secretary mark a started validated appointment completed or missed', async () => {
      const appt = (await request(patient, b.doctor.id, at(nextDay(), 9))).body;
      await api.post(`/api/appointments/${appt.id}/validate`, { token: b.secretary.token });
      const early = await api.post(`/api/appointments/${appt.id}/complete`, { token: b.doctor.token });
      expect(early.status).to.equal(409);
      expect(early.body.error.code).to.equal('NOT_STARTED');
      // Time travel: the appointment took place an hour ago.
      await testDb()('appointments')
        .where({ id: appt.id })
        .update({ starts_at: new Date(Date.now() - 3_600_000), ends_at: new Date(Date.now() - 1_800_000) });
      expect((await api.post(`/api/appointments/${appt.id}/complete`, { token: patient.token })).status).to.equal(403);
      expect((await api.post(`/api/appointments/${appt.id}/complete`, { token: a.doctor.token })).status).to.equal(404);
      const done = await api.post(`/api/appointments/${appt.id}/complete`, { token: b.doctor.token });
      expect(done.status).to.equal(200);
      expect(done.body.status).to.equal('completed');
      expect((await api.post(`/api/appointments/${appt.id}/no-show`, { token: b.secretary.token })).status).to.equal(409);
      const appt2 = (await request(patient, b.doctor.id, at(nextDay(), 9))).body;
      await api.post(`/api/appointments/${appt2.id}/validate`, { token: b.secretary.token });
      await testDb()('appointments')
        .where({ id: appt2.id })
        .update({ starts_at: new Date(Date.now() - 3_600_000), ends_at: new Date(Date.now() - 1_800_000) });
      expect((await api.post(`/api/appointments/${appt2.id}/no-show`, { token: b.secretary.token })).body.status).to.equal('no_show');
    });

    it('serves the seed endpoints with trailing slashes: list, read, PUT, DELETE', async () => {
      const created = await api.post('/api/appointments/', {
        token: patient.token,
        body: { doctorId: b.doctor.id, startsAt: at(nextDay(), 9), durationMinutes: 20, reason: 'Seed' },
      });
      expect(created.status).to.equal(201);
      const list = await api.get('/api/appointments/?status=requested&pageSize=100', { token: patient.token });
      expect(list.body.items.map((x: { id: string }) => x.id)).to.include(created.body.id);
      expect(list.body.items.every((x: { patient: { id: string } }) => x.patient.id === patient.id)).to.equal(true);
      expect((await api.get(`/api/appointments/${created.body.id}/`, { token: patient.token })).status).to.equal(200);
      const put = await api.put(`/api/appointments/${created.body.id}/`, {
        token: patient.token,
        body: { startsAt: at(day, 10), durationMinutes: 30, reason: 'Changed' },
      });
      expect(put.status).to.equal(200);
      expect(put.body).to.include({ reason: 'Changed', durationMinutes: 30 });
      expect((await api.delete(`/api/appointments/${created.body.id}/`, { token: patient.token })).status).to.equal(204);
      expect((await api.get(`/api/appointments/${created.body.id}/`, { token: patient.token })).body.status).to.equal('cancelled');
      expect((await api.get('/api/appointments/', { token: a.admin.token })).status).to.equal(403);
    });

    it('lists what each role may see', async () => {
      const appt = (await request(patient, b.doctor.id, at(nextDay(), 9))).body;
      const ids = async (who: Actor) =>
        (await api.get('/api/appointments?pageSize=100&status=requested', { token: who.token })).body.items.map(
          (x: { id: string }) => x.id,
        );
      expect(await ids(patient)).to.include(appt.id);
      expect(await ids(b.secretary)).to.include(appt.id);
      expect(await ids(a.secretary)).to.not.include(appt.id);
      expect(await ids(a.doctor)).to.not.include(appt.id);
    });
  });

  describe('notifications', () => {
    it('a status change notifies the patient, the linked doctor and the hospital’s secretaries, not the actor', async () => {
      const p = await f.patient(b.secretary, [b.doctor.id]);
      const appt = (await request(p, b.doctor.id, at(nextDay(), 9))).body;
      const forAppt = async (who: Actor) =>
        (await api.get('/api/notifications?pageSize=100', { token: who.token })).body.items.filter(
          (n: { data: { appointmentId?: string } }) => n.data.appointmentId === appt.id,
        );
      expect((await forAppt(b.secretary)).map((n: { type: string }) => n.type)).to.deep.equal(['appointment.requested']);
      // Already linked to the patient: the doctor hears of the request too.
      expect((await forAppt(b.doctor)).map((n: { type: string }) => n.type)).to.deep.equal(['appointment.requested']);
      await api.post(`/api/appointments/${appt.id}/validate`, { token: b.secretary.token });
      expect((await forAppt(p)).map((n: { type: string }) => n.type)).to.deep.equal(['appointment.validated']);
      expect((await forAppt(b.doctor)).map((n: { type: string }) => n.type).sort()).to.deep.equal([
        'appointment.requested',
        'appointment.validated',
      ]);
      expect((await forAppt(b.secretary)).map((n: { type: string }) => n.type)).to.deep.equal(['appointment.requested']);
    });

    it('marks notifications read one by one or all at once; nobody reads another’s', async () => {
      const p = await f.patient(b.secretary, [b.doctor.id]);
      const appt = (await request(p, b.doctor.id, at(nextDay(), 9))).body;
      await api.post(`/api/appointments/${appt.id}/validate`, { token: b.secretary.token });
      await api.post(`/api/appointments/${appt.id}/cancel`, { token: b.secretary.token, body: { reason: 'Closed' } });
      const unread = await api.get('/api/notifications?unread=true', { token: p.token });
      expect(unread.body.unreadCount).to.equal(2);
      const first = unread.body.items[0];
      expect((await api.post(`/api/notifications/${first.id}/read`, { token: b.doctor.token })).status).to.equal(404);
      const read = await api.post(`/api/notifications/${first.id}/read`, { token: p.token });
      expect(read.body).to.include({ read: true });
      expect(
        (await api.get('/api/notifications?unread=false', { token: p.token })).body.items.map((n: { id: string }) => n.id),
      ).to.deep.equal([first.id]);
      expect((await api.post('/api/notifications/read-all', { token: p.token })).body.updated).to.equal(1);
      expect((await api.get('/api/notifications', { token: p.token })).body.unreadCount).to.equal(0);
    });
  });
});
