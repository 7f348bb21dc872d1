import { expect } from 'chai';
import { DateTime } from 'luxon';
import { formatInZone } from '../../api/src/availability/intervals.js';
import { seededRandom } from '../helpers/random.js';

const HOUR = 3_600_000;
// What formatInZone answered before it computed offsets itself: luxon, or UTC for a zone luxon refuses.
const luxon = (millis: number, zone: string) =>
  DateTime.fromMillis(millis, { zone }).toISO({ suppressMilliseconds: false }) ?? new Date(millis).toISOString();

// formatInZone computes offsets itself (luxon goes through Intl on every call): its answers must be luxon's,
// character for character, in every zone the runtime knows, across transitions and odd offsets.
describe('formatInZone equals luxon', () => {
  const zones = [
    ...Intl.supportedValuesOf('timeZone'),
    'UTC',
    'utc',
    'uTc',
    'GMT',
    'gmt',
    'Etc/UTC',
    'Etc/GMT',
    'UTC+3',
    'local',
    'Etc/GMT+5',
    'Etc/GMT-14',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'Pacific/Chatham',
    'America/St_Johns',
    'Africa/Monrovia',
    'Not/A_Zone',
  ];

  it('at random instants between 1850 and 2150 in every zone', () => {
    const random = seededRandom(0x5eed);
    const from = Date.UTC(1850, 0, 1);
    const to = Date.UTC(2150, 0, 1);
    for (const zone of zones) {
      for (let i = 0; i < 40; i++) {
        const millis = Math.floor(from + random() * (to - from));
        expect(formatInZone(millis, zone), `${zone} ${millis}`).to.equal(luxon(millis, zone));
      }
    }
  });

  it('around every transition of the years appointments live in, to the millisecond', function () {
    this.timeout(60_000);
    let transitions = 0;
    for (const zone of zones) {
      const offset = (hour: number) => DateTime.fromMillis(hour * HOUR, { zone }).offset;
      for (let day = Date.UTC(2025, 0, 1) / HOUR; day < Date.UTC(2028, 0, 1) / HOUR; day += 24) {
        if (offset(day) === offset(day + 24)) continue;
        const hour = Array.from({ length: 24 }, (_, h) => day + h).find((h) => offset(h) !== offset(h + 1))!;
        transitions++;
        for (const millis of [
          hour * HOUR,
          hour * HOUR + 1,
          (hour + 1) * HOUR - 1,
          (hour + 1) * HOUR,
          hour * HOUR + 30 * 60_000 - 1,
          hour * HOUR + 30 * 60_000,
          hour * HOUR + 45 * 60_000 + 999,
        ])
          expect(formatInZone(millis, zone), `${zone} ${millis}`).to.equal(luxon(millis, zone));
      }
    }
    expect(transitions).to.be.greaterThan(500);
  });

  it('the same instant twice (the second from the hour kept), and the ends of the range', () => {
    const now = Date.UTC(2026, 11, 1, 8, 0, 0, 123);
    for (const zone of ['Europe/Paris', 'America/New_York', 'UTC', 'GMT']) {
      expect(formatInZone(now, zone)).to.equal(luxon(now, zone));
      expect(formatInZone(now, zone)).to.equal(luxon(now, zone));
    }
    expect(formatInZone(now, 'Europe/Paris')).to.equal('2026-12-01T09:00:00.123+01:00');
    for (const millis of [Date.UTC(-50, 0, 1), Date.UTC(0, 0, 1), Date.UTC(9999, 11, 31, 23), Date.UTC(12000, 0, 1), -1, 0])
      for (const zone of ['Asia/Tokyo', 'UTC']) expect(formatInZone(millis, zone), `${zone} ${millis}`).to.equal(luxon(millis, zone));
  });
});
