import { expect } from 'chai';
import { createRequire } from 'node:module';
import { parseTimestamptz } from '../../common/db.js';
import { seededRandom } from '../helpers/random.js';

// pg's own timestamptz parser (pg-types uses postgres-date), the reference.
const parseDate = createRequire(import.meta.url)('postgres-date') as (v: string) => Date | number | null;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const reference = (v: string) => {
  const d = parseDate(v);
  return d instanceof Date ? d.getTime() : d;
};
const ours = (v: string) => {
  const d = parseTimestamptz(v);
  return d instanceof Date ? d.getTime() : d;
};

// The timestamptz parser is ours (issue 13): it must answer what pg's parser (postgres-date) answers, to the
// millisecond, for everything PostgreSQL prints, and leave what it does not recognise to it.
describe('timestamptz parsing equals pg’s', () => {
  it('at random instants, fractions of 0 to 6 digits, offsets ±HH and ±HH:MM', () => {
    const random = seededRandom(0xda7e);
    for (let i = 0; i < 20_000; i++) {
      const year = 1 + Math.floor(random() * 9999);
      const fraction = Math.floor(random() * 7);
      const digits = fraction ? `.${String(Math.floor(random() * 10 ** fraction)).padStart(fraction, '0')}` : '';
      const hours = Math.floor(random() * 15);
      const minutes = [0, 0, 0, 30, 45][Math.floor(random() * 5)]!;
      const offset = `${random() < 0.5 ? '+' : '-'}${pad(hours)}${minutes ? `:${pad(minutes)}` : random() < 0.2 ? ':00' : ''}`;
      const v = `${pad(year, 4)}-${pad(1 + Math.floor(random() * 12))}-${pad(1 + Math.floor(random() * 28))} ${pad(Math.floor(random() * 24))}:${pad(Math.floor(random() * 60))}:${pad(Math.floor(random() * 60))}${digits}${offset}`;
      expect(ours(v), v).to.equal(reference(v));
    }
  });

  it('odd shapes: BC, infinity, five-digit years, offsets with seconds, garbage', () => {
    for (const v of [
      '2026-11-27 22:04:17.999999+00',
      '2026-11-27 22:04:17.9995+00',
      '2026-11-27 22:04:17+00',
      '2026-11-27 22:04:17.5-03:30',
      '0001-01-01 00:00:00+00',
      '0099-12-31 23:59:59+00',
      '0001-01-01 00:00:00+00 BC',
      '12026-01-01 00:00:00+00',
      '1850-01-01 00:00:00+00:09:21',
      'infinity',
      '-infinity',
      '2026-11-27 22:04:17.+00',
      '2026-11-27 22:04:17.1234567+00',
      '2026-13-27 22:04:17+00',
      '2026-02-30 22:04:17+00',
      '2026-11-27T22:04:17+00',
      '2026-11-27 22:04+00',
      '',
    ])
      expect(ours(v), v).to.deep.equal(reference(v));
  });
});
