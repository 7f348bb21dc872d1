import { expect } from 'chai';
import { DateTime } from 'luxon';
import { SMTPServer } from 'smtp-server';
import { createKnex } from '../common/db.js';
import { createMailTransport, runEmailTick } from '../api/src/workers/email.js';
import { runReminderTick } from '../api/src/workers/reminders.js';
import { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { ALL_WEEK, Fixtures, fixtures, type Actor, type HospitalWithStaff } from './helpers/fixtures.js';
import { startTestApi, testConfig } from './helpers/server.js';
import { freePort } from '../scripts/lib/ports.js';

interface Received {
  to: string[];
  raw: string;
}

/** A real SMTP server on a free port that keeps every message it receives. */
async function startSmtp(): Promise<{ port: number; messages: Received[]; stop: () => Promise<void> }> {
  const messages: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString()));
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, messages, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('background workers', () => {
  let f: Fixtures;
  let h: HospitalWithStaff;
  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
    expect((await f.api.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: ALL_WEEK })).status).to.equal(200);
  });

  async function validatedAppointment(api: ApiClient, patient: Actor, startsAt: string): Promise<string> {
    const res = await api.post('/api/appointments', {
      token: patient.token,
      body: { doctorId: h.doctor.id, startsAt, durationMinutes: 15, reason: 'Follow-up' },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    expect((await api.post(`/api/appointments/${res.body.id}/validate`, { token: h.secretary.token })).status).to.equal(200);
    return res.body.id;
  }

  describe('reminders', () => {
    it('are sent exactly once, even with two schedulers ticking at the same time and after a restart', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const soon = DateTime.now().plus({ hours: 3 }).set({ second: 0, millisecond: 0 }).toISO()!;
      const later = DateTime.now().plus({ days: 5 }).set({ second: 0, millisecond: 0 }).toISO()!;
      const due = await validatedAppointment(f.api, patient, soon);
      const notDue = await validatedAppointment(f.api, patient, later);
      const config = testConfig({ REMINDER_HOURS_BEFORE: '24' });
      // Two "processes": separate connection pools.
      const [p1, p2] = [createKnex(config), createKnex(config)];
      try {
        await Promise.all([
          runReminderTick(p1, config),
          runReminderTick(p2, config),
          runReminderTick(p1, config),
          runReminderTick(p2, config),
        ]);
        await runReminderTick(p2, config); // a restarted process finds nothing left to do
      } finally {
        await Promise.all([p1.destroy(), p2.destroy()]);
      }
      const reminders = await testDb()('notifications')
        .where({ type: 'appointment.reminder' })
        .whereRaw(`data->>'appointmentId' in (?, ?)`, [due, notDue]);
      expect(reminders.map((n) => n.user_id).sort()).to.deep.equal([patient.id, h.doctor.id].sort());
      expect(reminders.every((n) => n.data.appointmentId === due)).to.equal(true);
      expect((await testDb()('appointments').where({ id: due }).first()).reminder_sent_at).to.be.instanceOf(Date);
      expect((await testDb()('appointments').where({ id: notDue }).first()).reminder_sent_at).to.equal(null);
      const inbox = await f.api.get('/api/notifications?unread=true&pageSize=100', { token: patient.token });
      expect(inbox.body.items.filter((n: { type: string }) => n.type === 'appointment.reminder')).to.have.length(1);
    });

    it('skip cancelled appointments', async () => {
      const patient = await f.patient(h.secretary, [h.doctor.id]);
      const id = await validatedAppointment(f.api, patient, DateTime.now().plus({ hours: 5 }).set({ second: 0, millisecond: 0 }).toISO()!);
      await f.api.post(`/api/appointments/${id}/cancel`, { token: h.secretary.token, body: { reason: 'Closed' } });
      await runReminderTick(testDb(), testConfig());
      expect(
        await testDb()('notifications').where({ type: 'appointment.reminder' }).whereRaw(`data->>'appointmentId' = ?`, [id]),
      ).to.have.length(0);
    });
  });

  describe('e-mail', () => {
    it('status changes are e-mailed through the configured SMTP server', async () => {
      const smtp = await startSmtp();
      const withMail = await startTestApi({
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(smtp.port),
        SMTP_FROM: 'MediConnect <no-reply@test.example>',
      });
      try {
        const api = new ApiClient(withMail.url);
        const mailFixtures = new Fixtures(api);
        const patient = await mailFixtures.patient(h.secretary, [h.doctor.id]);
        await validatedAppointment(
          api,
          patient,
          DateTime.now().plus({ days: 3 }).set({ hour: 9, minute: 0, second: 0, millisecond: 0 }).toISO()!,
        );
        const config = withMail.deps.config;
        const transport = (await createMailTransport(config))!;
        try {
          let sent = 0;
          for (let i = 0; i < 5; i++) sent += await runEmailTick(withMail.deps.db, transport, config.smtp!.from);
          expect(sent).to.be.greaterThan(0);
        } finally {
          transport.close();
        }
        const toPatient = smtp.messages.filter((m) => m.to.includes(patient.email));
        expect(toPatient).to.have.length(1);
        expect(toPatient[0]!.raw).to.include('Subject: MediConnect: Appointment validated');
        expect(smtp.messages.some((m) => m.to.includes(h.doctor.email))).to.equal(true);
        const outbox = await testDb()('email_outbox').where({ to_address: patient.email });
        expect(outbox.map((o) => o.status)).to.deep.equal(['sent']);
      } finally {
        await withMail.stop();
        await smtp.stop();
      }
    });

    it('keeps e-mails queued and retries later while the SMTP server is down', async () => {
      const port = await freePort();
      const down = await startTestApi({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port) });
      try {
        const api = new ApiClient(down.url);
        const patient = await new Fixtures(api).patient(h.secretary, [h.doctor.id]);
        await validatedAppointment(
          api,
          patient,
          DateTime.now().plus({ days: 4 }).set({ hour: 9, minute: 30, second: 0, millisecond: 0 }).toISO()!,
        );
        const transport = (await createMailTransport(down.deps.config))!;
        try {
          expect(await runEmailTick(down.deps.db, transport, 'x@test.example')).to.equal(0);
        } finally {
          transport.close();
        }
        const row = await testDb()('email_outbox').where({ to_address: patient.email }).first();
        expect(row).to.include({ status: 'pending', attempts: 1 });
        expect(row.last_error).to.be.a('string');
        expect(row.next_attempt_at.getTime()).to.be.greaterThan(Date.now());
      } finally {
        await down.stop();
      }
    });
  });
});
