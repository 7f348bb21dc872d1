import { expect } from 'chai';
import { DateTime } from 'luxon';
import type { ApiClient } from './helpers/client.js';
import { twoHospitals, type Actor, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { mergeIntervals, openIntervals, subtractIntervals } from '../api/src/availability/intervals.js';
import { seededRandom } from './helpers/random.js';

const MON_9_TO_12 = { timezone: 'Europe/Paris', weekly: [{ weekday: 1, start: '08:00', end: '12:00' }], exceptions: [] };

describe('availability', () => {
  describe('interval arithmetic (pure)', () => {
    const cases: [string, { start: number; end: number }[], { start: number; end: number }[], { start: number; end: number }[]][] = [
      [
        'hole in the middle',
        [{ start: 0, end: 10 }],
        [{ start: 3, end: 5 }],
        [
          { start: 0, end: 3 },
          { start: 5, end: 10 },
        ],
      ],
      ['hole covering all', [{ start: 2, end: 4 }], [{ start: 0, end: 10 }], []],
      ['hole at the edge', [{ start: 0, end: 10 }], [{ start: 8, end: 12 }], [{ start: 0, end: 8 }]],
      ['disjoint hole', [{ start: 0, end: 10 }], [{ start: 10, end: 12 }], [{ start: 0, end: 10 }]],
      [
        'overlapping bases merge',
        [
          { start: 0, end: 5 },
          { start: 4, end: 8 },
        ],
        [],
        [{ start: 0, end: 8 }],
      ],
    ];
    for (const [name, base, holes, expected] of cases) {
      it(name, () => expect(subtractIntervals(base, holes)).to.deep.equal(expected));
    }

    it('subtracts as a unit-by-unit reference does, on 2,000 generated cases', () => {
      const random = seededRandom(19);
      const some = (n: number) =>
        Array.from({ length: Math.floor(random() * n) }, () => {
          const start = Math.floor(random() * 60);
          return { start, end: start + Math.floor(random() * 12) - 1 };
        });
      // The reference: which unit [t, t + 1) of 0…80 is in a base interval and in no hole, read back as runs.
      const reference = (base: { start: number; end: number }[], holes: { start: number; end: number }[]) => {
        const runs: { start: number; end: number }[] = [];
        for (let t = -1; t < 80; t++) {
          const inside = base.some((i) => i.start <= t && t + 1 <= i.end) && !holes.some((i) => i.start < t + 1 && t < i.end);
          const last = runs[runs.length - 1];
          if (inside && last && last.end === t) last.end = t + 1;
          else if (inside) runs.push({ start: t, end: t + 1 });
        }
        return runs;
      };
      for (let i = 0; i < 2000; i++) {
        const [base, holes] = [some(8), some(8)];
        expect(subtractIntervals(base, holes), JSON.stringify({ base, holes })).to.deep.equal(reference(base, holes));
      }
    });

    it('opens the same hours as luxon’s calendar math, DST days included, on 600 generated weeks in 8 zones', () => {
      const random = seededRandom(1905);
      const zones = [
        'Europe/Paris',
        'America/New_York',
        'Australia/Lord_Howe',
        'Asia/Kathmandu',
        'America/Sao_Paulo',
        'Pacific/Chatham',
        'UTC',
        'Africa/Casablanca',
      ];
      // Windows around transitions (spring and autumn, both hemispheres) and anywhere else.
      const starts = [
        '2027-03-26T00:00:00Z',
        '2027-10-29T00:00:00Z',
        '2027-04-02T00:00:00Z',
        '2027-09-24T00:00:00Z',
        '2026-11-01T00:00:00Z',
        '2027-03-12T00:00:00Z',
      ];
      const hhmm = () => {
        const minutes = Math.floor(random() * 24 * 12) * 5;
        return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
      };
      // The reference: luxon for every time, as openIntervals did before it skipped it on regular days.
      const reference = (a: { timezone: string; weekly: { weekday: number; start: string; end: string }[] }, from: number, to: number) => {
        const at = (day: DateTime, t: string) =>
          t === '24:00' ? day.plus({ days: 1 }) : day.set({ hour: Number(t.slice(0, 2)), minute: Number(t.slice(3, 5)) });
        const raw: { start: number; end: number }[] = [];
        let day = DateTime.fromMillis(from, { zone: a.timezone }).startOf('day').minus({ days: 1 });
        const last = DateTime.fromMillis(to, { zone: a.timezone }).startOf('day').plus({ days: 1 });
        for (; day <= last; day = day.plus({ days: 1 })) {
          for (const w of a.weekly)
            if (w.weekday === day.weekday) raw.push({ start: at(day, w.start).toMillis(), end: at(day, w.end).toMillis() });
        }
        return subtractIntervals(
          raw.map((i) => ({ start: Math.max(i.start, from), end: Math.min(i.end, to) })),
          [],
        );
      };
      for (let i = 0; i < 600; i++) {
        const weekly = Array.from({ length: 1 + Math.floor(random() * 6) }, () => {
          const [x, y] = [hhmm(), random() < 0.2 ? '24:00' : hhmm()].sort();
          return { weekday: 1 + Math.floor(random() * 7), start: x!, end: y! };
        }).filter((w) => w.start < w.end);
        const availability = { timezone: zones[i % zones.length]!, weekly, exceptions: [] };
        const from =
          (i % 3 === 0
            ? Date.parse(starts[i % starts.length]!)
            : Date.parse('2026-01-01T00:00:00Z') + Math.floor(random() * 700) * 86_400_000) + Math.floor(random() * 86_400_000);
        const to = from + Math.floor((1 + random() * 20) * 86_400_000);
        expect(openIntervals(availability, from, to), JSON.stringify({ availability, from, to })).to.deep.equal(
          reference(availability, from, to),
        );
      }
    });

    it('keeps local wall-clock hours across daylight saving time', () => {
      const from = DateTime.fromISO('2027-03-29T00:00:00', { zone: 'Europe/Paris' }).toMillis(); // the Monday after the change (28 March)
      const winterFrom = DateTime.fromISO('2027-03-22T00:00:00', { zone: 'Europe/Paris' }).toMillis();
      const summer = openIntervals(MON_9_TO_12, from, from + 86_400_000);
      const winter = openIntervals(MON_9_TO_12, winterFrom, winterFrom + 86_400_000);
      expect(new Date(summer[0]!.start).toISOString()).to.equal('2027-03-29T06:00:00.000Z');
      expect(new Date(winter[0]!.start).toISOString()).to.equal('2027-03-22T07:00:00.000Z');
      expect(mergeIntervals(summer)).to.have.length(1);
    });
  });

  describe('PUT/GET /api/doctors/{id}/availability', () => {
    let f: Fixtures;
    let api: ApiClient;
    let a: HospitalWithStaff;
    let b: HospitalWithStaff;
    let patient: Actor;
    before(async () => ({ f, api, a, b, patient } = await twoHospitals()));

    it('the doctor sets its own hours; everyone logged in reads them with free slots shown with their offset', async () => {
      const put = await api.put(`/api/doctors/${a.doctor.id}/availability`, { token: a.doctor.token, body: MON_9_TO_12 });
      expect(put.status).to.equal(200);
      expect(put.body).to.include({ configured: true, timezone: 'Europe/Paris' });
      const res = await api.get(`/api/doctors/${a.doctor.id}/availability?from=2027-01-04T00:00:00Z&to=2027-01-05T00:00:00Z`, {
        token: patient.token,
      });
      expect(res.status).to.equal(200);
      expect(res.body.slots).to.deep.equal([{ startsAt: '2027-01-04T08:00:00.000+01:00', endsAt: '2027-01-04T12:00:00.000+01:00' }]);
      const summer = await api.get(`/api/doctors/${a.doctor.id}/availability?from=2027-07-05T00:00:00Z&to=2027-07-06T00:00:00Z`, {
        token: b.secretary.token,
      });
      expect(summer.body.slots[0].startsAt).to.equal('2027-07-05T08:00:00.000+02:00');
    });

    it('exceptions remove their period from the slots', async () => {
      const body = {
        ...MON_9_TO_12,
        exceptions: [{ from: '2027-01-04T09:00:00+01:00', to: '2027-01-04T10:00:00+01:00', reason: 'Staff meeting' }],
      };
      expect((await api.put(`/api/doctors/${a.doctor.id}/availability`, { token: a.secretary.token, body })).status).to.equal(200);
      const res = await api.get(`/api/doctors/${a.doctor.id}/availability?from=2027-01-04T00:00:00Z&to=2027-01-05T00:00:00Z`, {
        token: patient.token,
      });
      expect(res.body.slots.map((s: { startsAt: string }) => s.startsAt)).to.deep.equal([
        '2027-01-04T08:00:00.000+01:00',
        '2027-01-04T10:00:00.000+01:00',
      ]);
      expect(res.body.exceptions[0]).to.include({ reason: 'Staff meeting', from: '2027-01-04T09:00:00.000+01:00' });
    });

    it('only the doctor itself or its hospital’s secretaries may set it', async () => {
      const other = await f.activate((await f.account('doctor', a.hospital.id, a.admin.token)).email);
      expect((await api.put(`/api/doctors/${a.doctor.id}/availability`, { token: other.token, body: MON_9_TO_12 })).status).to.equal(404);
      expect((await api.put(`/api/doctors/${a.doctor.id}/availability`, { token: b.secretary.token, body: MON_9_TO_12 })).status).to.equal(
        404,
      );
      for (const actor of [patient, a.admin, await f.superAdmin()]) {
        expect(
          (await api.put(`/api/doctors/${a.doctor.id}/availability`, { token: actor.token, body: MON_9_TO_12 })).status,
          actor.role,
        ).to.equal(403);
      }
    });

    it('rejects invalid time zones, times and overlapping hours', async () => {
      for (const body of [
        { ...MON_9_TO_12, timezone: 'Mars/Olympus' },
        { ...MON_9_TO_12, weekly: [{ weekday: 8, start: '08:00', end: '09:00' }] },
        { ...MON_9_TO_12, weekly: [{ weekday: 1, start: '8h', end: '09:00' }] },
        { ...MON_9_TO_12, weekly: [{ weekday: 1, start: '10:00', end: '09:00' }] },
        {
          ...MON_9_TO_12,
          weekly: [
            { weekday: 1, start: '08:00', end: '12:00' },
            { weekday: 1, start: '11:00', end: '13:00' },
          ],
        },
        { ...MON_9_TO_12, exceptions: [{ from: '2027-01-04T10:00:00Z', to: '2027-01-04T09:00:00Z' }] },
      ]) {
        const res = await api.put(`/api/doctors/${a.doctor.id}/availability`, { token: a.doctor.token, body });
        expect(res.status, JSON.stringify(body)).to.equal(400);
      }
    });

    it('answers 404 for an unknown doctor and reports unconfigured doctors', async () => {
      const fresh = await f.account('doctor', b.hospital.id, b.admin.token);
      const res = await api.get(`/api/doctors/${fresh.id}/availability`, { token: patient.token });
      expect(res.body).to.include({ configured: false });
      expect(res.body.slots).to.deep.equal([]);
      expect((await api.get(`/api/doctors/${a.secretary.id}/availability`, { token: patient.token })).status).to.equal(404);
    });
  });
});
