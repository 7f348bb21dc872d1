import { expect } from 'chai';
import { DateTime } from 'luxon';
import { appointmentMessage, humanTime, type AppointmentEvent } from '../../api/src/notifications/messages.js';
import { ERROR_MESSAGES, localeFromHeader } from '../../common/http/messages.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

describe('appointment messages', () => {
  const startsAt = DateTime.fromISO('2026-12-08T09:00:00', { zone: 'Europe/Paris' }).toMillis();
  const facts = {
    patientName: 'Marie Curie',
    doctorName: 'Louis Pasteur',
    hospitalName: 'Hôpital Nord',
    startsAt,
    zone: 'Europe/Paris',
    previousStartsAt: startsAt - 3_600_000,
  };
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
      expect(appointmentMessage('rescheduled', facts, locale).body)
        .to.include('08:00')
        .and.include('09:00');
      expect(appointmentMessage('cancelled', { ...facts, reason: 'Grève' }, locale).body).to.include('Grève');
    });
  }
});

/** Every file of the services' sources. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

describe('error message catalogue', () => {
  it('has English and French for every error code the services can answer', () => {
    const text = [...sources('api/src'), ...sources('common'), ...sources('dicom-proxy/src')]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const codes = new Set<string>([
      'NOT_FOUND',
      'FORBIDDEN',
      'VALIDATION_ERROR',
      'TOO_MANY_ATTEMPTS',
      'SERVICE_UNAVAILABLE',
      'INTERNAL_ERROR',
      'METHOD_NOT_ALLOWED',
      'NOT_IMPLEMENTED',
    ]);
    const patterns = [
      /new AppError\(\s*\d+,\s*'([A-Z_]+)'/g,
      /(?:conflict|unauthorized)\(\s*'([A-Z_]+)'/g,
      /(?:badRequest|forbidden)\([^;]*?,\s*'([A-Z][A-Z_]+)'\s*,?\s*\)/g,
      /new DicomRejected\(\s*'([A-Z_]+)'/g,
      /code: '([A-Z][A-Z_]+)'/g,
    ];
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) codes.add(m[1]!);
    expect(codes.size).to.be.greaterThan(40);
    const missing = [...codes].filter((c) => !ERROR_MESSAGES[c]?.en || !ERROR_MESSAGES[c]?.fr);
    expect(missing, 'codes without both languages').to.deep.equal([]);
    for (const [code, m] of Object.entries(ERROR_MESSAGES)) expect(m.fr, code).to.not.equal(m.en);
  });

  it('reads Accept-Language with its weights', () => {
    expect(localeFromHeader('fr-FR,fr;q=0.9,en;q=0.8')).to.equal('fr');
    expect(localeFromHeader('de-DE, en;q=0.5, fr;q=0.4')).to.equal('en');
    expect(localeFromHeader('en;q=0.1, fr;q=0.9')).to.equal('fr');
    expect(localeFromHeader('de')).to.equal(null);
    expect(localeFromHeader(undefined)).to.equal(null);
  });
});
