import { expect } from 'chai';
import { DateTime } from 'luxon';
import { appointmentMessage, humanTime, type AppointmentEvent } from '../../api/src/notifications/messages.js';

describe('appointment messages', () => {
  const startsAt = DateTime.fromISO('2026-12-08T09:00:00', { zone: 'Europe/Paris' }).toMillis();
  const facts = { patientName: 'Marie Curie', doctorName: 'Louis Pasteur', hospitalName: 'Hôpital Nord', startsAt, zone: 'Europe/Paris', previousStartsAt: startsAt - 3_600_000 };
  const events: AppointmentEvent[] = ['requested', 'validated', 'cancelled', 'completed', 'no_show', 'rescheduled', 'reminder', 'expired'];

  it('writes the local date and time in the doctor’s zone, in English and French', () => {
    expect(humanTime(startsAt, 'Europe/Paris', 'en')).to.match(/Tuesday,? 8 December 2026(,| at) 09:00/);
    expect(humanTime(startsAt, 'Europe/Paris', 'fr')).to.match(/mardi 8 décembre 2026( à|,) 09:00/);
    expect(humanTime(startsAt, 'America/New_York', 'en')).to.include('03:00');
  });

  for (const locale of ['en', 'fr'] as const) {
    it(`names the patient, the doctor and the hospital in every ${locale} message; a move gives both times`, () => {
      for (const event of events) {
        const m = appointmentMessage(event, facts, locale);
        expect(m.title, event).to.be.a('string').and.not.equal('');
        expect(m.body, event).to.include('Marie Curie').and.include('Louis Pasteur').and.include('Hôpital Nord').and.include('09:00');
      }
      expect(appointmentMessage('rescheduled', facts, locale).body).to.include('08:00').and.include('09:00');
      expect(appointmentMessage('cancelled', { ...facts, reason: 'Grève' }, locale).body).to.include('Grève');
    });
  }
});
