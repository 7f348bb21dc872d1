import { expect } from 'chai';
import { DateTime } from 'luxon';
import { runReminderTick } from '../api/src/workers/reminders.js';
import type { RunningApi } from '../api/src/server.js';
import { freePort } from '../scripts/lib/ports.js';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { ALL_WEEK, Fixtures, type Actor, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestApi, testConfig } from './helpers/server.js';

/** A future instant `days` ahead at a local hour in Paris, on a whole minute. */
const at = (days: number, hour: number, minute = 0) =>
  DateTime.now().setZone('Europe/Paris').plus({ days }).set({ hour, minute, second: 0, millisecond: 0 }).toISO()!;

describe('care workflow: lifecycles, bounds and audit (issue 12)', function () {
  this.timeout(60_000);
  let api: RunningApi;
  let client: ApiClient;
  let f: Fixtures;
  let h: HospitalWithStaff;
  let day = 3;
  const nextDay = () => ++day;

  before(async () => {
    // SMTP configured (nothing listens): e-mails are queued in the outbox, where the test reads them.
    api = await startTestApi({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(await freePort()), SCHEDULER_ENABLED: 'false' });
    client = new ApiClient(api.url);
    f = new Fixtures(client);
    h = await f.hospitalWithStaff();
    expect((await client.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: ALL_WEEK })).status).to.equal(200);
  });
  after(() => api?.stop());

  const request = (who: Actor, doctorId: string, startsAt: string) =>
    client.post('/api/appointments', { token: who.token, body: { doctorId, startsAt, durationMinutes: 30, reason: 'Check-up' } });

  /** Notification types and outbox e-mails of one appointment, by recipient id. */
  async function messagesOf(appointmentId: string): Promise<{ notified: Record<string, string[]>; mailed: Record<string, string[]> }> {
    const rows: { user_id: string; type: string; to_address: string | null }[] = await testDb()('notifications as n')
      .leftJoin('email_outbox as e', 'e.notification_id', 'n.id')
      .whereRaw(`n.data->>'appointmentId' = ?`, [appointmentId])
      .orderBy('n.created_at')
      .select('n.user_id', 'n.type', 'e.to_address');
    const notified: Record<string, string[]> = {};
    const mailed: Record<string, string[]> = {};
    for (const r of rows) {
      (notified[r.user_id] ??= []).push(r.type);
      if (r.to_address) (mailed[r.user_id] ??= []).push(r.type);
    }
    return { notified, mailed };
  }

  describe('1 and 11: free slots are bounded, aligned and in the future', () => {
    it('refuses an unbounded window with 400 at once, whichever end is missing', async () => {
      for (const q of [
        'to=3000-01-01T00:00:00Z',
        'from=2026-01-01T00:00:00Z&to=3000-01-01T00:00:00Z',
        `from=${encodeURIComponent(DateTime.now().plus({ days: 1 }).toISO()!)}&to=2999-01-01T00:00:00Z`,
      ]) {
        const res = await client.get(`/api/doctors/${h.doctor.id}/availability?${q}`, { token: h.secretary.token });
        expect(res.status, q).to.equal(400);
        expect(res.body.error.details[0].field).to.equal('to');
      }
      // `from` alone: 14 days from it, fine.
      expect(
        (await client.get(`/api/doctors/${h.doctor.id}/availability?from=2026-01-01T00:00:00Z`, { token: h.secretary.token })).status,
      ).to.equal(200);
    });

    it('bounds a worst-case slot search by its window, and /healthz keeps answering during 20 of them at once', async () => {
      // The most a doctor's hours can hold: 100 weekly entries (14 one-hour entries a day, 2 more on Monday)
      // and 500 exceptions, each cutting one hour in two; the search then covers the longest window allowed.
      const doctor = await f.account('doctor', h.hospital.id, h.admin.token);
      const weekly = [1, 2, 3, 4, 5, 6, 7].flatMap((weekday) =>
        Array.from({ length: weekday === 1 ? 16 : 14 }, (_, i) => ({
          weekday,
          start: `${String(4 + i).padStart(2, '0')}:00`,
          end: `${String(4 + i).padStart(2, '0')}:30`,
        })),
      );
      const firstDay = DateTime.now().setZone('Europe/Paris').plus({ days: 1 }).startOf('day');
      const exceptions = Array.from({ length: 500 }, (_, i) => {
        const start = firstDay.plus({ days: Math.floor(i / 10), hours: 4 + (i % 10), minutes: 10 });
        return { from: start.toISO()!, to: start.plus({ minutes: 5 }).toISO()! };
      });
      const set = await client.put(`/api/doctors/${doctor.id}/availability`, {
        token: h.secretary.token,
        body: { timezone: 'Europe/Paris', weekly, exceptions },
      });
      expect(set.status, JSON.stringify(set.body).slice(0, 300)).to.equal(200);
      const now = DateTime.now();
      const longest = `/api/doctors/${doctor.id}/availability?to=${encodeURIComponent(now.plus({ days: 62 }).minus({ minutes: 1 }).toISO()!)}`;
      // The work has a bound: a window one minute longer is refused before anything is computed…
      const tooLong = await client.get(
        `/api/doctors/${doctor.id}/availability?from=${encodeURIComponent(now.toISO()!)}&to=${encodeURIComponent(now.plus({ days: 62, minutes: 1 }).toISO()!)}`,
        { token: h.secretary.token },
      );
      expect(tooLong.status).to.equal(400);
      expect(tooLong.body.error.details[0].field).to.equal('to');
      // …and the longest window yields at most one slot per weekly entry and day, plus one per exception.
      const one = await client.get(longest, { token: h.secretary.token });
      expect(one.status).to.equal(200);
      expect(one.body.slots.length).to.be.within(weekly.length * 8, weekly.length * 10 + exceptions.length);
      expect(one.body.exceptions).to.have.length(500);
      // The process stays responsive during 20 such searches: each probe answers, within seconds (how fast
      // is `npm run bench:api`'s business, which prints it).
      const load = Array.from({ length: 20 }, () => client.get(longest, { token: h.secretary.token }));
      for (let i = 0; i < 5; i++) expect((await fetch(`${api.url}/healthz`, { signal: AbortSignal.timeout(10_000) })).status).to.equal(200);
      for (const res of await Promise.all(load)) {
        expect(res.status).to.equal(200);
        expect(res.body.slots).to.have.length(one.body.slots.length);
      }
    });

    it('offers only future slots on a 5-minute grid, and the first one offered can be booked', async () => {
      const res = await client.get(`/api/doctors/${h.doctor.id}/availability?from=2020-01-01T00:00:00Z&to=2020-01-20T00:00:00Z`, {
        token: h.secretary.token,
      });
      expect(res.status).to.equal(200);
      expect(res.body.slots).to.deep.equal([]);
      const now = await client.get(`/api/doctors/${h.doctor.id}/availability`, { token: h.secretary.token });
      const first = now.body.slots[0].startsAt as string;
      expect(Date.parse(first)).to.be.greaterThan(Date.now());
      expect(Date.parse(first) % (5 * 60_000)).to.equal(0);
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      // The first slot may be only minutes away: book it as soon as it was offered.
      const booked = await request(patient, h.doctor.id, DateTime.fromISO(first).toISO()!);
      expect(booked.status, JSON.stringify(booked.body)).to.equal(201);
    });
  });

  describe('2: every response carrying medical data is audited', () => {
    it('walks every record route and finds one access-log entry per answer with medical data', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const t = h.doctor.token;
      const before = Number((await testDb()('audit_log').where({ actor_id: h.doctor.id, patient_id: patient.id }).count({ c: '*' }))[0]!.c);
      const created = await client.post('/api/medical-records', {
        token: t,
        body: { patientId: patient.id, type: 'note', title: 'Visit', content: 'Stable' },
      });
      expect(created.status).to.equal(201);
      const id = created.body.id;
      const calls: [string, () => Promise<{ status: number }>][] = [
        ['read', () => client.get(`/api/medical-records/${id}`, { token: t })],
        ['list', () => client.get(`/api/medical-records?patientId=${patient.id}`, { token: t })],
        [
          'patch that changes nothing (null prescription on a note)',
          () => client.patch(`/api/medical-records/${id}`, { token: t, body: { prescription: null } }),
        ],
        ['patch with the current value', () => client.patch(`/api/medical-records/${id}`, { token: t, body: { title: 'Visit' } })],
        ['patch that changes', () => client.patch(`/api/medical-records/${id}`, { token: t, body: { content: 'Better' } })],
        ['history', () => client.get(`/api/medical-records/${id}/history`, { token: t })],
        ['whole record', () => client.get(`/api/patients/${patient.id}/medical-record`, { token: t })],
      ];
      for (const [what, call] of calls) {
        const countBefore = Number(
          (await testDb()('audit_log').where({ actor_id: h.doctor.id, patient_id: patient.id }).count({ c: '*' }))[0]!.c,
        );
        expect((await call()).status, what).to.equal(200);
        const countAfter = Number(
          (await testDb()('audit_log').where({ actor_id: h.doctor.id, patient_id: patient.id }).count({ c: '*' }))[0]!.c,
        );
        expect(countAfter - countBefore, what).to.equal(1);
      }
      const total = Number((await testDb()('audit_log').where({ actor_id: h.doctor.id, patient_id: patient.id }).count({ c: '*' }))[0]!.c);
      expect(total - before).to.equal(calls.length + 1);
      // And the patient sees them in its access log.
      const log = await client.get(`/api/patients/${patient.id}/access-log?pageSize=100`, { token: patient.token });
      expect(log.body.items.filter((i: { actor: { id: string } | null }) => i.actor?.id === h.doctor.id)).to.have.length(calls.length + 1);
    });
  });

  describe('3 and 4: appointments follow their doctor and patient', () => {
    it('unlinking a doctor cancels its future appointments with that patient, with a reason; the patient is told (the secretary did it), the unlinked doctor is not, and no reminder follows', async () => {
      const doctor = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
      expect((await client.put(`/api/doctors/${doctor.id}/availability`, { token: doctor.token, body: ALL_WEEK })).status).to.equal(200);
      const patient = await f.patient(h.secretary, [h.doctor.id, doctor.id]);
      const other = await f.patient(h.secretary, [doctor.id]);
      const soon = DateTime.now().plus({ hours: 3 }).set({ second: 0, millisecond: 0 }).toISO()!;
      const validated = (await request(patient, doctor.id, soon)).body;
      expect((await client.post(`/api/appointments/${validated.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
      const requested = (await request(patient, doctor.id, at(nextDay(), 10))).body;
      const withOther = (await request(other, doctor.id, at(nextDay(), 10))).body;
      const withFirst = (await request(patient, h.doctor.id, at(nextDay(), 10))).body;

      const unlinked = await client.delete(`/api/patients/${patient.id}/doctors/${doctor.id}`, { token: h.secretary.token });
      expect(unlinked.status, JSON.stringify(unlinked.body)).to.equal(200);
      for (const appt of [validated, requested]) {
        const seen = await client.get(`/api/appointments/${appt.id}`, { token: patient.token });
        expect(seen.body.status).to.equal('cancelled');
        expect(seen.body.statusReason).to.match(/no longer follows this patient/);
        // Nothing of it stays half alive for the doctor, who no longer sees it.
        expect((await client.get(`/api/appointments/${appt.id}`, { token: doctor.token })).status).to.equal(404);
      }
      // Its appointments with other patients, and the patient's with its other doctor, go on.
      expect((await client.get(`/api/appointments/${withOther.id}`, { token: other.token })).body.status).to.equal('requested');
      expect((await client.get(`/api/appointments/${withFirst.id}`, { token: patient.token })).body.status).to.equal('requested');
      const v = await messagesOf(validated.id);
      expect(v.notified[patient.id]).to.include('appointment.cancelled');
      expect(v.mailed[patient.id]).to.include('appointment.cancelled');
      expect(v.notified[doctor.id] ?? []).to.not.include('appointment.cancelled');
      await runReminderTick(testDb(), testConfig({ REMINDER_HOURS_BEFORE: '24' }));
      const after = await messagesOf(validated.id);
      for (const who of [patient.id, doctor.id]) expect(after.notified[who] ?? [], who).to.not.include('appointment.reminder');
    });

    it('deactivating a doctor cancels its future appointments with a reason, tells the patient and the secretaries, and stops reminders; reactivation books again', async () => {
      const doctor = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
      expect((await client.put(`/api/doctors/${doctor.id}/availability`, { token: doctor.token, body: ALL_WEEK })).status).to.equal(200);
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const soon = DateTime.now().plus({ hours: 3 }).set({ second: 0, millisecond: 0 }).toISO()!;
      const validated = (await request(patient, doctor.id, soon)).body;
      expect((await client.post(`/api/appointments/${validated.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
      const requested = (await request(patient, doctor.id, at(nextDay(), 10))).body;

      const off = await client.patch(`/api/doctors/${doctor.id}`, { token: h.admin.token, body: { isActive: false } });
      expect(off.status, JSON.stringify(off.body)).to.equal(200);
      for (const appt of [validated, requested]) {
        const seen = await client.get(`/api/appointments/${appt.id}`, { token: patient.token });
        expect(seen.body.status).to.equal('cancelled');
        expect(seen.body.statusReason).to.match(/no longer available/);
      }
      const v = await messagesOf(validated.id);
      expect(v.notified[patient.id]).to.include('appointment.cancelled');
      expect(v.notified[h.secretary.id]).to.include('appointment.cancelled');
      expect(v.mailed[patient.id]).to.include('appointment.cancelled');
      expect(v.mailed[h.secretary.id]).to.include('appointment.cancelled');
      // The departed doctor is not told about its own departure.
      expect(v.notified[doctor.id] ?? []).to.not.include('appointment.cancelled');
      const r = await messagesOf(requested.id);
      expect(r.notified[patient.id]).to.deep.equal(['appointment.cancelled']);
      expect(r.notified[h.secretary.id]).to.deep.equal(['appointment.requested', 'appointment.cancelled']);

      await runReminderTick(testDb(), testConfig({ REMINDER_HOURS_BEFORE: '24' }));
      expect((await messagesOf(validated.id)).notified[patient.id]).to.not.include('appointment.reminder');
      // Nobody books an inactive doctor.
      const refused = await request(patient, doctor.id, at(nextDay(), 11));
      expect(refused.status).to.equal(400);
      expect(refused.body.error.code).to.equal('INVALID_DOCTOR');

      expect((await client.patch(`/api/doctors/${doctor.id}`, { token: h.admin.token, body: { isActive: true } })).status).to.equal(200);
      expect((await client.get(`/api/appointments/${validated.id}`, { token: patient.token })).body.status).to.equal('cancelled');
      const again = await request(patient, doctor.id, at(nextDay(), 11));
      expect(again.status).to.equal(201);
      expect((await client.post(`/api/appointments/${again.body.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
    });

    it('deleting a doctor cancels its appointments the same way', async () => {
      const doctor = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
      expect((await client.put(`/api/doctors/${doctor.id}/availability`, { token: doctor.token, body: ALL_WEEK })).status).to.equal(200);
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const appt = (await request(patient, doctor.id, at(nextDay(), 9))).body;
      expect((await client.post(`/api/appointments/${appt.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
      expect((await client.delete(`/api/doctors/${doctor.id}`, { token: h.admin.token })).status).to.equal(204);
      const seen = await client.get(`/api/appointments/${appt.id}`, { token: patient.token });
      expect(seen.body).to.include({ status: 'cancelled' });
      expect((await messagesOf(appt.id)).mailed[patient.id]).to.include('appointment.cancelled');
    });

    it('validation and rescheduling refuse an inactive doctor (INVALID_DOCTOR) or patient (INVALID_PATIENT)', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const appt = (await request(patient, h.doctor.id, at(nextDay(), 14))).body;
      // Deactivated behind the API's back (another process, a race): the checks still hold.
      await testDb()('users').where({ id: h.doctor.id }).update({ is_active: false });
      try {
        for (const res of [
          await client.post(`/api/appointments/${appt.id}/validate`, { token: h.secretary.token }),
          await client.post(`/api/appointments/${appt.id}/reschedule`, { token: h.secretary.token, body: { startsAt: at(day, 15) } }),
        ]) {
          expect(res.status).to.equal(400);
          expect(res.body.error.code).to.equal('INVALID_DOCTOR');
        }
      } finally {
        await testDb()('users').where({ id: h.doctor.id }).update({ is_active: true });
      }
      await testDb()('users').where({ id: patient.id }).update({ is_active: false });
      const res = await client.post(`/api/appointments/${appt.id}/validate`, { token: h.secretary.token });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('INVALID_PATIENT');
      await testDb()('users').where({ id: patient.id }).update({ is_active: true });
    });

    it('deactivating a patient cancels its appointments and no reminder goes out', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const soon = DateTime.now().plus({ hours: 5 }).set({ second: 0, millisecond: 0 }).toISO()!;
      const appt = (await request(patient, h.doctor.id, soon)).body;
      expect((await client.post(`/api/appointments/${appt.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
      expect((await client.patch(`/api/patients/${patient.id}`, { token: h.secretary.token, body: { isActive: false } })).status).to.equal(
        200,
      );
      expect((await testDb()('appointments').where({ id: appt.id }).first()).status).to.equal('cancelled');
      const m = await messagesOf(appt.id);
      expect(m.notified[h.doctor.id]).to.include('appointment.cancelled');
      await runReminderTick(testDb(), testConfig({ REMINDER_HOURS_BEFORE: '24' }));
      expect((await messagesOf(appt.id)).notified[h.doctor.id]).to.not.include('appointment.reminder');
    });
  });

  describe('5, 6, 9 and the low items', () => {
    it('validation rechecks availability: a day off added after the request → 409 OUTSIDE_AVAILABILITY', async () => {
      const doctor = await f.activate((await f.account('doctor', h.hospital.id, h.admin.token)).email);
      expect((await client.put(`/api/doctors/${doctor.id}/availability`, { token: doctor.token, body: ALL_WEEK })).status).to.equal(200);
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const startsAt = at(nextDay(), 9);
      const appt = (await request(patient, doctor.id, startsAt)).body;
      const dayOff = {
        from: DateTime.fromISO(startsAt).startOf('day').toISO()!,
        to: DateTime.fromISO(startsAt).endOf('day').set({ millisecond: 0 }).toISO()!,
        reason: 'Congress',
      };
      expect(
        (await client.put(`/api/doctors/${doctor.id}/availability`, { token: doctor.token, body: { ...ALL_WEEK, exceptions: [dayOff] } }))
          .status,
      ).to.equal(200);
      const res = await client.post(`/api/appointments/${appt.id}/validate`, { token: h.secretary.token });
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal('OUTSIDE_AVAILABILITY');
      const moved = await client.post(`/api/appointments/${appt.id}/reschedule`, {
        token: h.secretary.token,
        body: { startsAt: DateTime.fromISO(startsAt).plus({ hours: 2 }).toISO()! },
      });
      expect(moved.status).to.equal(409);
    });

    it('a doctor linked to the patient hears of requests; an unlinked one only once validated', async () => {
      const linked = await f.patient(h.secretary, [h.doctor.id]);
      const other = await f.hospitalWithStaff();
      const unlinked = await f.patient(other.secretary, [other.doctor.id]);
      const a1 = (await request(linked, h.doctor.id, at(nextDay(), 9))).body;
      const a2 = (await request(unlinked, h.doctor.id, at(day, 11))).body;
      expect((await messagesOf(a1.id)).notified[h.doctor.id]).to.deep.equal(['appointment.requested']);
      expect((await messagesOf(a2.id)).notified[h.doctor.id]).to.equal(undefined);
      await client.post(`/api/appointments/${a1.id}/reschedule`, { token: linked.token, body: { startsAt: at(day, 10) } });
      await client.post(`/api/appointments/${a1.id}/cancel`, { token: linked.token, body: { reason: 'Better' } });
      expect((await messagesOf(a1.id)).notified[h.doctor.id]).to.deep.equal([
        'appointment.requested',
        'appointment.rescheduled',
        'appointment.cancelled',
      ]);
    });

    it('books within the horizon only, on whole minutes; nobody cancels an appointment that has started', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const far = await request(
        patient,
        h.doctor.id,
        DateTime.now().plus({ years: 3 }).set({ hour: 10, minute: 0, second: 0, millisecond: 0 }).toISO()!,
      );
      expect(far.status).to.equal(400);
      expect(far.body.error.code).to.equal('BEYOND_HORIZON');
      const seconds = await request(patient, h.doctor.id, DateTime.fromISO(at(nextDay(), 10)).set({ second: 30 }).toISO()!);
      expect(seconds.status).to.equal(400);
      expect(seconds.body.error.details[0].field).to.equal('startsAt');
      const appt = (await request(patient, h.doctor.id, at(nextDay(), 10))).body;
      expect((await client.post(`/api/appointments/${appt.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
      await testDb()('appointments')
        .where({ id: appt.id })
        .update({ starts_at: new Date(Date.now() - 60_000), ends_at: new Date(Date.now() + 29 * 60_000) });
      const late = await client.post(`/api/appointments/${appt.id}/cancel`, { token: h.secretary.token, body: { reason: 'Too late' } });
      expect(late.status).to.equal(409);
      expect(late.body.error.code).to.equal('APPOINTMENT_IN_PAST');
    });
  });

  describe('issue 21: a deactivated hospital does not hold a shared patient', () => {
    it('its links no longer block the deactivation by the other hospital; while it was active they did', async () => {
      const sa = await f.superAdmin();
      const other = await f.hospitalWithStaff();
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      await testDb()('patient_doctor_links').insert({
        patient_id: patient.id,
        doctor_id: other.doctor.id,
        source: 'secretary',
        created_by: other.secretary.id,
      });
      const refused = await client.patch(`/api/patients/${patient.id}`, { token: h.secretary.token, body: { isActive: false } });
      expect(refused.body.error.code).to.equal('PATIENT_SHARED');
      expect((await client.patch(`/api/hospitals/${other.hospital.id}`, { token: sa.token, body: { isActive: false } })).status).to.equal(
        200,
      );
      const off = await client.patch(`/api/patients/${patient.id}`, { token: h.secretary.token, body: { isActive: false } });
      expect(off.status, JSON.stringify(off.body)).to.equal(200);
      expect(off.body.isActive).to.equal(false);
    });
  });

  describe('10: a hospital is not deleted from under its patients', () => {
    it('refuses (409 HOSPITAL_HAS_PATIENTS) while patients are linked only to its doctors', async () => {
      const sa = await f.superAdmin();
      const small = await f.hospitalWithStaff();
      const patient = await f.createPatient(small.secretary, [small.doctor.id]);
      for (const [path, who, by] of [
        ['/api/doctors', small.doctor, small.admin],
        ['/api/secretaries', small.secretary, small.admin],
        ['/api/hospital-admins', small.admin, sa],
      ] as const) {
        expect((await client.delete(`${path}/${who.id}`, { token: by.token })).status, path).to.equal(204);
      }
      const res = await client.delete(`/api/hospitals/${small.hospital.id}`, { token: sa.token });
      expect(res.status).to.equal(409);
      expect(res.body.error.code).to.equal('HOSPITAL_HAS_PATIENTS');
      // Once another hospital's doctor follows the patient, the hospital can go.
      await testDb()('patient_doctor_links').insert({
        patient_id: patient.id,
        doctor_id: h.doctor.id,
        source: 'secretary',
        created_by: h.secretary.id,
      });
      expect((await client.delete(`/api/hospitals/${small.hospital.id}`, { token: sa.token })).status).to.equal(204);
    });
  });

  describe('7: a shared patient belongs to no single hospital', () => {
    it('hides links outside the caller’s hospital and refuses a deactivation that would lock another hospital out', async () => {
      const other = await f.hospitalWithStaff();
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      await testDb()('patient_doctor_links').insert({
        patient_id: patient.id,
        doctor_id: other.doctor.id,
        source: 'secretary',
        created_by: other.secretary.id,
      });
      const seenByOther = await client.get(`/api/patients/${patient.id}`, { token: other.secretary.token });
      expect(seenByOther.body.doctors.map((d: { doctorId: string }) => d.doctorId)).to.deep.equal([other.doctor.id]);
      expect(JSON.stringify(seenByOther.body)).to.not.include(h.secretary.id);
      const links = await client.get(`/api/patients/${patient.id}/doctors`, { token: h.secretary.token });
      expect(links.body.items.map((d: { doctorId: string }) => d.doctorId)).to.deep.equal([h.doctor.id]);
      // The patient sees all its doctors.
      expect((await client.get(`/api/patients/${patient.id}`, { token: patient.token })).body.doctors).to.have.length(2);
      const off = await client.patch(`/api/patients/${patient.id}`, { token: other.secretary.token, body: { isActive: false } });
      expect(off.status).to.equal(409);
      expect(off.body.error.code).to.equal('PATIENT_SHARED');
      expect((await client.get('/api/auth/me', { token: patient.token })).status).to.equal(200);
      // Once it is this hospital's patient alone, its secretary deactivates it.
      await testDb()('patient_doctor_links').where({ patient_id: patient.id, doctor_id: h.doctor.id }).delete();
      expect(
        (await client.patch(`/api/patients/${patient.id}`, { token: other.secretary.token, body: { isActive: false } })).status,
      ).to.equal(200);
    });
  });

  describe('8: free-text search on encrypted text', () => {
    it('finds record entries and appointments by their decrypted words, accents and case ignored, within scope', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const t = h.doctor.token;
      for (const [title, content] of [
        ['Échographie abdominale', 'Foie normal'],
        ['Consultation', 'Toux sèche'],
        ['Bilan', 'RAS'],
      ]) {
        expect(
          (await client.post('/api/medical-records', { token: t, body: { patientId: patient.id, type: 'note', title, content } })).status,
        ).to.equal(201);
      }
      const echo = await client.get(`/api/medical-records?patientId=${patient.id}&q=echographie`, { token: t });
      expect(echo.status).to.equal(200);
      expect(echo.body.items.map((e: { title: string }) => e.title)).to.deep.equal(['Échographie abdominale']);
      expect(echo.body.total).to.equal(1);
      expect(
        (await client.get(`/api/medical-records?patientId=${patient.id}&q=TOUX`, { token: t })).body.items.map(
          (e: { content: string }) => e.content,
        ),
      ).to.deep.equal(['Toux sèche']);
      expect((await client.get(`/api/medical-records?patientId=${patient.id}&q=absent`, { token: t })).body).to.include({ total: 0 });
      // Words in any order, each anywhere in the entry: as the patient search takes them.
      const reordered = await client.get(`/api/medical-records?patientId=${patient.id}&q=${encodeURIComponent('NORMAL foie abdominale')}`, {
        token: t,
      });
      expect(reordered.body.items.map((e: { title: string }) => e.title)).to.deep.equal(['Échographie abdominale']);
      // Another hospital's doctor finds nothing of this patient.
      const other = await f.hospitalWithStaff();
      expect((await client.get(`/api/medical-records?q=echographie`, { token: other.doctor.token })).body.items).to.deep.equal([]);

      const secret = `Douleur thoracique ${Date.now()}`;
      const appt = await client.post('/api/appointments', {
        token: patient.token,
        body: { doctorId: h.doctor.id, startsAt: at(nextDay(), 16), durationMinutes: 30, reason: secret },
      });
      expect(appt.status).to.equal(201);
      const found = await client.get(`/api/appointments?patientId=${patient.id}&q=thoracique`, { token: h.secretary.token });
      expect(found.body.items.map((a: { id: string }) => a.id)).to.deep.equal([appt.body.id]);
      expect((await client.get(`/api/appointments?patientId=${patient.id}&q=cardio`, { token: h.secretary.token })).body.total).to.equal(0);
    });
  });

  describe('low items', () => {
    it('errors carry the security headers; 405 answers the error envelope with Allow', async () => {
      const notFound = await fetch(`${api.url}/api/patients/${'0'.repeat(8)}-0000-4000-8000-000000000000`, {
        headers: { authorization: `Bearer ${h.secretary.token}` },
      });
      expect(notFound.status).to.equal(404);
      for (const [name, value] of [
        ['cache-control', 'no-store'],
        ['x-content-type-options', 'nosniff'],
        ['x-frame-options', 'DENY'],
      ] as const)
        expect(notFound.headers.get(name), name).to.equal(value);
      const wrong = await fetch(`${api.url}/api/auth/login`, { method: 'DELETE' });
      expect(wrong.status).to.equal(405);
      expect(wrong.headers.get('allow')).to.include('POST');
      expect(wrong.headers.get('x-content-type-options')).to.equal('nosniff');
      const body = await wrong.json();
      expect(body.error.code).to.equal('METHOD_NOT_ALLOWED');
      expect(body.error.details.allow).to.include('POST');
    });

    it('a PATCH of one prescription detail merges; recordedAt and phone numbers are bounded', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const t = h.doctor.token;
      const rx = { medication: 'Amoxicilline', dosage: '1 g', route: 'oral', frequency: '3/day', duration: '7 days' };
      const created = await client.post('/api/medical-records', {
        token: t,
        body: { patientId: patient.id, type: 'prescription', title: 'Angine', content: 'Antibiotique', prescription: rx },
      });
      expect(created.status).to.equal(201);
      const patched = await client.patch(`/api/medical-records/${created.body.id}`, {
        token: t,
        body: { prescription: { dosage: '500 mg' } },
      });
      expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
      expect(patched.body.prescription).to.deep.equal({ ...rx, dosage: '500 mg' });
      const flat = await client.patch(`/api/medical-records/${created.body.id}`, { token: t, body: { duration: '10 days' } });
      expect(flat.body.prescription).to.deep.equal({ ...rx, dosage: '500 mg', duration: '10 days' });
      for (const recordedAt of ['1700-01-01T00:00:00Z', '2030-01-01T00:00:00Z']) {
        const res = await client.post('/api/medical-records', {
          token: t,
          body: { patientId: patient.id, type: 'note', title: 'T', content: 'C', recordedAt },
        });
        expect(res.status, recordedAt).to.equal(400);
        expect(res.body.error.details[0].field).to.equal('recordedAt');
      }
      for (const phone of ['++++', '+33 ++1', '12']) {
        const res = await client.patch(`/api/patients/${patient.id}`, { token: h.secretary.token, body: { phone } });
        expect(res.status, phone).to.equal(400);
      }
      expect(
        (await client.patch(`/api/patients/${patient.id}`, { token: h.secretary.token, body: { phone: '+33 (0)1 23 45 67 89' } })).status,
      ).to.equal(200);
    });

    it('a request whose time passed unvalidated expires, and the patient is told', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const appt = (await request(patient, h.doctor.id, at(nextDay(), 8))).body;
      await testDb()('appointments')
        .where({ id: appt.id })
        .update({ starts_at: new Date(Date.now() - 60_000), ends_at: new Date(Date.now() + 29 * 60_000) });
      const { runExpiryTick } = await import('../api/src/workers/reminders.js');
      expect(await runExpiryTick(testDb(), testConfig())).to.be.greaterThan(0);
      const seen = await client.get(`/api/appointments/${appt.id}`, { token: patient.token });
      expect(seen.body.status).to.equal('cancelled');
      expect(seen.body.statusReason).to.match(/not validated/);
      const inbox = await client.get('/api/notifications?pageSize=100', { token: patient.token });
      const told = inbox.body.items.find((n: { data: { appointmentId?: string } }) => n.data.appointmentId === appt.id);
      expect(told.title).to.equal('Appointment request expired');
    });

    it('messages name the people and the hospital, give the local time, and the former time on a move', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const startsAt = DateTime.now()
        .setZone('Europe/Paris')
        .plus({ days: nextDay() })
        .set({ hour: 9, minute: 30, second: 0, millisecond: 0 });
      const appt = (await request(patient, h.doctor.id, startsAt.toISO()!)).body;
      const moved = startsAt.plus({ hours: 2 });
      expect(
        (await client.post(`/api/appointments/${appt.id}/reschedule`, { token: patient.token, body: { startsAt: moved.toISO()! } })).status,
      ).to.equal(200);
      const inbox = await client.get('/api/notifications?pageSize=100', { token: h.secretary.token });
      const move = inbox.body.items.find(
        (n: { type: string; data: { appointmentId?: string } }) => n.type === 'appointment.rescheduled' && n.data.appointmentId === appt.id,
      );
      // The fixtures name staff "Test <role>".
      expect(move.body).to.include('Dr Test doctor').and.include(h.hospital.name).and.include('09:30').and.include('11:30');
      expect(move.body).to.include(startsAt.setLocale('en-GB').toFormat('d LLLL yyyy'));
    });
  });
});
