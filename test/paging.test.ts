import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { DateTime } from 'luxon';
import { applyPatientScope } from '../common/access.js';
import { createKnex, prepared } from '../common/db.js';
import { loadPrincipal, type Principal } from '../common/principal.js';
import { fetchPage, type PageRequest } from '../api/src/db/paging.js';
import { scopedEntries } from '../api/src/medical-records/repository.js';
import { scopedStudies } from '../api/src/dicom/repository.js';
import { testDb } from './helpers/db.js';
import { ALL_WEEK, fixtures, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { testConfig } from './helpers/server.js';

/** The paging of before issue 13, as the reference: a count, then the page. */
async function countThenPage<T>(query: Knex.QueryBuilder, r: PageRequest) {
  const [{ count }] = (await query.clone().clearSelect().clearOrder().count({ count: '*' })) as [{ count: number }];
  const items: T[] = await query
    .clone()
    .select(r.columns as string[])
    .orderBy(r.orderBy.column, r.orderBy.direction)
    .orderBy(r.tieBreaker)
    .limit(r.pageSize)
    .offset((r.page - 1) * r.pageSize);
  return { items, total: Number(count), page: r.page, pageSize: r.pageSize };
}

async function principalOf(userId: string): Promise<Principal> {
  const session = await testDb()('sessions').where({ user_id: userId }).whereNull('revoked_at').first('id');
  const found = await loadPrincipal(testDb(), { userId, sessionId: session.id });
  if (!found.ok) throw new Error(found.message);
  return found.principal;
}

describe('one query per page: the same items, order and totals as count-then-page (issue 13)', function () {
  this.timeout(120_000);
  let f: Fixtures;
  let h: HospitalWithStaff;
  let lonely: HospitalWithStaff;
  const PATIENTS = 23;

  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
    lonely = await f.hospitalWithStaff();
    expect((await f.api.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: ALL_WEEK })).status).to.equal(200);
    const base = DateTime.now().setZone('Europe/Paris').plus({ days: 3 }).set({ hour: 8, minute: 0, second: 0, millisecond: 0 });
    for (let i = 0; i < PATIENTS; i++) {
      // Same last names in pairs, so that the tie-breaker decides the order.
      const p = await f.createPatient(h.secretary, [h.doctor.id], { lastName: `Same${Math.floor(i / 2)}`, confirmNotDuplicate: true });
      for (let e = 0; e < i % 3; e++) {
        expect(
          (
            await f.api.post('/api/medical-records', {
              token: h.doctor.token,
              body: { patientId: p.id, type: 'note', title: `N${e}`, content: 'x', recordedAt: '2026-01-01T10:00:00Z' },
            })
          ).status,
        ).to.equal(201);
      }
      if (i % 4 === 0) {
        const patient = await f.activate(p.email);
        const res = await f.api.post('/api/appointments', {
          token: patient.token,
          body: { doctorId: h.doctor.id, startsAt: base.plus({ minutes: 30 * i }).toISO(), durationMinutes: 30, reason: 'Check' },
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
      }
    }
  });

  it('fetchPage equals count-then-page on every scoped list, for every page up to past the end, and for an empty scope', async () => {
    const db = testDb();
    const [secretary, doctor, emptyDoctor, emptySecretary] = await Promise.all([
      principalOf(h.secretary.id),
      principalOf(h.doctor.id),
      principalOf(lonely.doctor.id),
      principalOf(lonely.secretary.id),
    ]);
    const patientsOf = (who: Principal) =>
      applyPatientScope(
        db('users as u').join('patients as p', 'p.user_id', 'u.id').where('u.role', 'patient').whereNull('u.deleted_at'),
        who,
        'u.id',
        'administrative',
      );
    const appointmentsOf = (who: Principal) => applyPatientScope(db('appointments as a'), who, 'a.patient_id', 'administrative');
    const cases: [string, () => Knex.QueryBuilder, Omit<PageRequest, 'page' | 'pageSize'>][] = [
      [
        'patients by last name',
        () => patientsOf(secretary),
        { columns: ['u.id', 'u.last_name'], orderBy: { column: 'u.last_name', direction: 'asc' }, tieBreaker: 'u.id' },
      ],
      [
        'patients by last name, descending',
        () => patientsOf(secretary),
        { columns: ['u.id', 'u.last_name'], orderBy: { column: 'u.last_name', direction: 'desc' }, tieBreaker: 'u.id' },
      ],
      [
        'no patients',
        () => patientsOf(emptySecretary),
        { columns: ['u.id'], orderBy: { column: 'u.last_name', direction: 'asc' }, tieBreaker: 'u.id' },
      ],
      [
        'record entries of a doctor',
        () => scopedEntries(db, doctor),
        { columns: ['e.id', 'e.recorded_at'], orderBy: { column: 'e.recorded_at', direction: 'desc' }, tieBreaker: 'e.id' },
      ],
      [
        'no entries',
        () => scopedEntries(db, emptyDoctor),
        { columns: ['e.id'], orderBy: { column: 'e.recorded_at', direction: 'desc' }, tieBreaker: 'e.id' },
      ],
      [
        'appointments',
        () => appointmentsOf(secretary),
        { columns: ['a.id', 'a.starts_at'], orderBy: { column: 'a.starts_at', direction: 'asc' }, tieBreaker: 'a.id' },
      ],
      [
        'studies (none)',
        () => scopedStudies(db, emptyDoctor),
        { columns: ['s.id'], orderBy: { column: 's.created_at', direction: 'desc' }, tieBreaker: 's.id' },
      ],
      [
        'notifications',
        () => db('notifications').where('user_id', h.doctor.id),
        { columns: ['id', 'created_at'], orderBy: { column: 'created_at', direction: 'desc' }, tieBreaker: 'id' },
      ],
    ];
    let nonEmpty = 0;
    for (const [name, build, request] of cases) {
      for (const pageSize of [1, 5, 10, 100]) {
        const reference = await countThenPage(build(), { ...request, page: 1, pageSize });
        const lastPage = Math.max(1, Math.ceil(reference.total / pageSize));
        for (const page of new Set([1, 2, lastPage, lastPage + 1, lastPage + 5])) {
          const expected = await countThenPage(build(), { ...request, page, pageSize });
          const actual = await fetchPage(build(), { ...request, page, pageSize });
          expect(actual, `${name}, page ${page} of size ${pageSize}`).to.deep.equal(expected);
          if (expected.items.length) nonEmpty++;
        }
      }
    }
    expect(nonEmpty, 'pages with items were compared').to.be.greaterThan(30);

    // Decorated pages: the joins that only add names run on the page's rows, after the cut; same answer.
    const withAuthor = (q: Knex.QueryBuilder) => q.join('users as au', 'au.id', 'e.author_id');
    const bare = () => applyPatientScope(db('medical_record_entries as e').whereNull('e.deleted_at'), doctor, 'e.patient_id', 'medical');
    const request: Omit<PageRequest, 'page' | 'pageSize'> = {
      columns: ['e.id', 'e.recorded_at', 'au.last_name'],
      orderBy: { column: 'e.recorded_at', direction: 'desc' },
      tieBreaker: 'e.id',
    };
    for (const pageSize of [1, 4, 100]) {
      for (const page of [1, 2, 6, 7, 50]) {
        const expected = await countThenPage(withAuthor(bare()), { ...request, page, pageSize });
        const actual = await fetchPage(bare(), { ...request, page, pageSize, decorate: { alias: 'e', join: withAuthor } });
        expect(actual, `decorated entries, page ${page} of size ${pageSize}`).to.deep.equal(expected);
      }
    }
  });

  it('through the API, pages put together equal the whole list, with one total, up to past the end; empty lists total 0', async () => {
    const lists: [string, string][] = [
      ['/api/patients?sort=lastName', h.secretary.token],
      ['/api/medical-records?', h.doctor.token],
      ['/api/appointments?', h.secretary.token],
      ['/api/notifications?', h.doctor.token],
      ['/api/dicom/studies?', h.doctor.token],
    ];
    for (const [path, token] of lists) {
      const whole = await f.api.get(`${path}&pageSize=100`, { token });
      expect(whole.status, path).to.equal(200);
      const total = whole.body.total as number;
      expect(whole.body.items).to.have.length(total);
      const pieces: unknown[] = [];
      for (let page = 1; page <= Math.ceil(total / 7) + 1; page++) {
        const res = await f.api.get(`${path}&pageSize=7&page=${page}`, { token });
        expect(res.body.total, `${path} page ${page}`).to.equal(total);
        pieces.push(...res.body.items);
      }
      expect(pieces, path).to.deep.equal(whole.body.items);
    }
    expect((await f.api.get('/api/patients?pageSize=7&page=2', { token: h.secretary.token })).body.items).to.have.length(7);
    for (const path of ['/api/patients', '/api/medical-records', '/api/appointments', '/api/dicom/studies']) {
      const empty = await f.api.get(`${path}?page=3`, {
        token: path === '/api/patients' || path === '/api/appointments' ? lonely.secretary.token : lonely.doctor.token,
      });
      expect(empty.body, path).to.deep.include({ items: [], total: 0, page: 3 });
    }
  });

  it('runs pages as named prepared statements (one per SQL text), and prepares again a statement a migration made stale', async () => {
    const db = createKnex(testConfig(), { pool: { min: 1, max: 1 } });
    try {
      const doctor = await principalOf(h.doctor.id);
      const request: PageRequest = {
        columns: ['e.id'],
        orderBy: { column: 'e.recorded_at', direction: 'desc' },
        tieBreaker: 'e.id',
        page: 1,
        pageSize: 2,
      };
      // Page 1 has no OFFSET (knex leaves it out): pages 2 and 3 share one text.
      await fetchPage(scopedEntries(db, doctor), { ...request, page: 2 });
      await fetchPage(scopedEntries(db, doctor), { ...request, page: 3 });
      const statements = (await db.raw(`select name, statement from pg_prepared_statements where name like 'mc\\_%'`)).rows as {
        name: string;
        statement: string;
      }[];
      const pages = statements.filter((s) => /count\(\*\) over \(\)/.test(s.statement) && /medical_record_entries/.test(s.statement));
      expect(pages, 'one statement for both pages: limit and offset are parameters').to.have.length(1);

      await db.raw('create table paging_stale_plan (a int)');
      await db('paging_stale_plan').insert({ a: 1 });
      expect(await prepared(db('paging_stale_plan').select('*'))).to.deep.equal([{ a: 1 }]);
      // A rolling upgrade adds a column under a prepared `select *`: PostgreSQL refuses the cached plan once.
      await db.raw('alter table paging_stale_plan add column b int default 2');
      expect(await prepared(db('paging_stale_plan').select('*'))).to.deep.equal([{ a: 1, b: 2 }]);
    } finally {
      await db.raw('drop table if exists paging_stale_plan');
      await db.destroy();
    }
  });

  // Prepared reads outside a transaction skip knex's runner: what they answer, the events the metrics and the
  // principal barrier count, and the transaction they must not escape are checked against knex's own path.
  it('prepared reads sent straight: same answers as knex, knex’s events, transactions left to knex', async () => {
    const db = createKnex(testConfig(), { pool: { min: 0, max: 2 } });
    const events: [string, string | undefined, string | undefined][] = [];
    db.on('query', (q: { __knexQueryUid?: string; sql?: string }) => events.push(['query', q.__knexQueryUid, q.sql]));
    db.on('query-response', (_r: unknown, q: { __knexQueryUid?: string; sql?: string }) =>
      events.push(['response', q.__knexQueryUid, q.sql]),
    );
    db.on('query-error', (_e: unknown, q: { __knexQueryUid?: string; sql?: string }) => events.push(['error', q.__knexQueryUid, q.sql]));
    try {
      const read = () => db('users').where({ id: h.doctor.id }).select('id', 'email', 'created_at');
      expect(await prepared(read())).to.deep.equal(await read());
      expect(await prepared(read().first())).to.deep.equal(await read().first());
      expect(await prepared(db('users').where({ id: randomUUID() }).first('id'))).to.equal(undefined);
      expect(await prepared(db('users').where({ id: randomUUID() }).select('id'))).to.deep.equal([]);
      events.length = 0;
      await prepared(read());
      expect(events.map(([kind]) => kind)).to.deep.equal(['query', 'response']);
      expect(events[0]![1]).to.be.a('string').and.equal(events[1]![1]);
      expect(events[0]![2]).to.match(/^select "id", "email", "created_at" from "users" where "id" = \$1$/);

      events.length = 0;
      const missing = await prepared(db('no_such_table_here').select('*')).then(
        () => null,
        (err: { code?: string }) => err.code,
      );
      expect(missing).to.equal('42P01');
      expect(events.map(([kind]) => kind)).to.deep.equal(['query', 'error']);
      // The pool got its connection back: both can be taken again.
      await Promise.all([prepared(read()), prepared(read())]);

      // Inside a transaction the read must see the transaction's own uncommitted row (its connection).
      await db
        .transaction(async (trx) => {
          await trx.raw('create temporary table direct_read_probe (a int) on commit drop');
          await trx('direct_read_probe').insert({ a: 7 });
          expect(await prepared(trx('direct_read_probe').select('a'))).to.deep.equal([{ a: 7 }]);
          expect(await prepared(trx('direct_read_probe').first('a'))).to.deep.equal({ a: 7 });
          throw new Error('roll back');
        })
        .catch((err: Error) => expect(err.message).to.equal('roll back'));
      // A transaction that has ended answers no more queries (knex refuses them); its connection is back in the pool.
      const ended = await db.transaction(async (trx) => trx);
      const late = await prepared(ended('users').select('id')).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      expect(late).to.match(/Transaction query already complete/);
      // A write stays on knex's path and answers as knex does.
      await db.raw('create table if not exists direct_write_probe (a int)');
      expect(await prepared(db('direct_write_probe').insert({ a: 1 }).returning('a'))).to.deep.equal([{ a: 1 }]);
    } finally {
      await db.raw('drop table if exists direct_write_probe');
      await db.destroy();
    }
  });
});
