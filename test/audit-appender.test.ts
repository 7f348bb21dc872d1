import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { AuditAppender, recordAudits, type AuditEvent } from '../common/audit.js';
import { createKnex } from '../common/db.js';
import type { RequestMeta } from '../common/http/request-context.js';
import { testDb } from './helpers/db.js';
import { fixtures, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { testConfig } from './helpers/server.js';

const meta = (): RequestMeta => ({ requestId: randomUUID(), ip: '10.1.2.3', userAgent: null });

// Reads are audited before they are answered; the appender commits the entries of concurrent requests in one
// statement (issue 13). What lands must be exactly what each request asked for, committed when its promise
// resolves, and one bad entry must fail only its own request.
describe('audit entries of reads: grouped commits', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let h: HospitalWithStaff;

  before(async () => {
    f = await fixtures();
    h = await f.hospitalWithStaff();
  });

  const rowsOf = (requestIds: string[]) => testDb()('audit_log').whereIn('request_id', requestIds).orderBy('id');

  it('writes every entry of concurrent requests as given, in fewer statements than requests', async () => {
    const appender = new AuditAppender(testDb());
    const patient = await f.createPatient(h.secretary, [h.doctor.id]);
    const asked = Array.from({ length: 60 }, (_, i) => {
      const m = meta();
      const events: AuditEvent[] = Array.from({ length: (i % 3) + 1 }, (_, j) => ({
        actor: { userId: h.doctor.id, role: 'doctor' },
        action: 'dicom.studies_listed',
        targetType: 'patient',
        targetId: `${i}-${j}`,
        patientId: j === 0 ? patient.id : null,
        hospitalId: i % 2 ? h.hospital.id : null,
        details: { studies: [`s-${i}`], text: `quote " backslash \\ brace { } comma , é 東京 ${i}`, nested: { n: i, nil: null } },
      }));
      return { m, events };
    });
    // Its statements are reported as knex's own are (the metrics time every query through these events).
    let reported = 0;
    const count = (q: { sql?: string }) => void (q.sql?.startsWith('insert into audit_log') && reported++);
    testDb().on('query', count);
    try {
      await Promise.all(asked.map(({ m, events }) => appender.append(m, events)));
    } finally {
      testDb().off('query', count);
    }
    expect(reported).to.equal(appender.stats.statements);
    expect(appender.stats.entries).to.equal(asked.reduce((n, a) => n + a.events.length, 0));
    expect(appender.stats.statements).to.be.lessThan(asked.length);
    for (const { m, events } of asked) {
      const rows = await rowsOf([m.requestId]);
      expect(
        rows.map((r) => ({
          actor: r.actor_id,
          role: r.actor_role,
          action: r.action,
          targetType: r.target_type,
          targetId: r.target_id,
          patientId: r.patient_id,
          hospitalId: r.hospital_id,
          ip: r.ip,
          details: r.details,
        })),
      ).to.deep.equal(
        events.map((e) => ({
          actor: h.doctor.id,
          role: 'doctor',
          action: e.action,
          targetType: 'patient',
          targetId: e.targetId,
          patientId: e.patientId,
          hospitalId: e.hospitalId,
          ip: '10.1.2.3',
          details: e.details,
        })),
      );
    }
  });

  it('one failing entry fails its own request only; the others are committed', async () => {
    const appender = new AuditAppender(testDb());
    const good = Array.from({ length: 30 }, () => meta());
    const bad = meta();
    const event = (userId: string): AuditEvent => ({
      actor: { userId, role: 'doctor' },
      action: 'medical_record.listed',
      targetType: 'patient',
      targetId: 'x',
    });
    // Keep one statement in flight so that the next ones queue up behind it and go together.
    const first = appender.append(meta(), [event(h.doctor.id)]);
    const results = await Promise.allSettled([
      ...good.slice(0, 15).map((m) => appender.append(m, [event(h.doctor.id)])),
      appender.append(bad, [event(randomUUID())]), // no such account: the foreign key refuses it
      ...good.slice(15).map((m) => appender.append(m, [event(h.doctor.id)])),
    ]);
    await first;
    expect(results.filter((r) => r.status === 'rejected')).to.have.length(1);
    expect(results[15]!.status).to.equal('rejected');
    expect((await rowsOf(good.map((m) => m.requestId))).length).to.equal(30);
    expect(await rowsOf([bad.requestId])).to.have.length(0);
  });

  it('an entry is committed when its promise resolves: another connection reads it at once', async () => {
    const other = createKnex(testConfig(), { pool: { min: 0, max: 1 } });
    try {
      for (let i = 0; i < 5; i++) {
        const m = meta();
        await recordAudits(testDb(), m, [{ actor: { userId: h.secretary.id, role: 'secretary' }, action: 'medical_record.listed' }]);
        expect(await other('audit_log').where({ request_id: m.requestId }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
      }
    } finally {
      await other.destroy();
    }
  });

  it('inside a transaction, entries are the transaction’s: rolled back with it', async () => {
    const m = meta();
    await testDb()
      .transaction(async (trx) => {
        await recordAudits(trx, m, [{ actor: { userId: h.secretary.id, role: 'secretary' }, action: 'patient.updated' }]);
        expect(await trx('audit_log').where({ request_id: m.requestId }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(await rowsOf([m.requestId])).to.have.length(0);
  });

  it('through the API: concurrent list reads each leave their own entry', async () => {
    const patient = await f.createPatient(h.secretary, [h.doctor.id]);
    expect(
      (
        await f.api.post('/api/medical-records', {
          token: h.doctor.token,
          body: { patientId: patient.id, type: 'note', title: 'N', content: 'x' },
        })
      ).status,
    ).to.equal(201);
    const ids = Array.from({ length: 25 }, () => randomUUID());
    const answers = await Promise.all(
      ids.map((id) =>
        f.api.get(`/api/medical-records?patientId=${patient.id}`, { token: h.doctor.token, headers: { 'x-request-id': id } }),
      ),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(ids.map(() => 200));
    const rows = await rowsOf(ids);
    expect(rows.map((r) => r.request_id).sort()).to.deep.equal([...ids].sort());
    expect(new Set(rows.map((r) => `${r.action} ${r.patient_id} ${r.actor_id}`))).to.deep.equal(
      new Set([`medical_record.listed ${patient.id} ${h.doctor.id}`]),
    );
  });
});
