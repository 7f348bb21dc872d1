import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { ensureLink, quarantinedStudies } from '../common/access.js';
import type { Role } from '../common/roles.js';
import { scopeFor } from '../common/scope.js';
import { testDb } from './helpers/db.js';
import { newUid } from './helpers/dicom.js';
import { fixtures, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';

type Who = { role: Role; userId: string; hospitalId: string | null };

/**
 * The caller-bound scope (common/scope.ts) as a table, per role, as Outline tests its policies: one world of two
 * hospitals, three patients (p3 followed by both), their studies, entries and appointments written straight to the
 * database, and for every caller exactly what each read of its scope returns — the allowed rows and, by equality, no
 * other.
 */
describe('scope per caller (issue 23): common/scope.ts, table-driven', () => {
  let f: Fixtures;
  let a: HospitalWithStaff;
  let b: HospitalWithStaff;
  const ids: Record<string, string> = {};
  const callers: Record<string, Who> = {};

  before(async () => {
    f = await fixtures();
    [a, b] = [await f.hospitalWithStaff(), await f.hospitalWithStaff()];
    const idleDoctor = await f.account('doctor', a.hospital.id, a.admin.token);
    const [p1, p2, p3] = [
      await f.patient(a.secretary, [a.doctor.id]),
      await f.patient(b.secretary, [b.doctor.id]),
      await f.patient(a.secretary, [a.doctor.id]),
    ];
    const db = testDb();
    await db.transaction((trx) =>
      ensureLink(trx, { patientId: p3.id, doctorId: b.doctor.id, source: 'secretary', createdBy: b.secretary.id }),
    );
    Object.assign(ids, { p1: p1.id, p2: p2.id, p3: p3.id });
    const who = (actor: { id: string; role: Role; hospitalId: string | null }): Who => ({
      role: actor.role,
      userId: actor.id,
      hospitalId: actor.hospitalId,
    });
    Object.assign(callers, {
      superAdmin: who(await f.superAdmin()),
      adminA: who(a.admin),
      doctorA: who(a.doctor),
      idleDoctorA: { role: 'doctor', userId: idleDoctor.id, hospitalId: a.hospital.id },
      doctorB: who(b.doctor),
      secretaryA: who(a.secretary),
      secretaryB: who(b.secretary),
      p1: who(p1),
      p2: who(p2),
    });
    // Studies (one each, one in the quarantine), entries, appointments: rows as the services write them.
    for (const [name, patient] of [
      ['s1', p1.id],
      ['s2', p2.id],
      ['s3', p3.id],
      ['sq', null],
    ] as const) {
      const [row] = await db('dicom_studies')
        .insert({
          orthanc_id: randomUUID(),
          study_instance_uid: newUid(),
          patient_id: patient,
          source_hospital_id: patient ? null : a.hospital.id,
        })
        .returning('id');
      ids[name] = row.id;
    }
    for (const [name, patient, author] of [
      ['e1', p1.id, a.doctor.id],
      ['e2', p2.id, b.doctor.id],
      ['e3', p3.id, b.doctor.id],
    ] as const) {
      const [row] = await db('medical_record_entries')
        .insert({ patient_id: patient, type: 'note', recorded_at: new Date(), key_id: 'test1', payload: 'sealed', author_id: author })
        .returning('id');
      ids[name] = row.id;
    }
    const at = (day: number) => new Date(Date.now() + day * 86_400_000);
    for (const [name, patient, doctor, hospital, day] of [
      ['a1', p1.id, a.doctor.id, a.hospital.id, 3],
      ['a2', p2.id, b.doctor.id, b.hospital.id, 4],
      ['a3', p3.id, b.doctor.id, b.hospital.id, 5],
      // p2 asks a doctor that does not follow it: the request reveals nothing to that doctor.
      ['a4', p2.id, a.doctor.id, a.hospital.id, 6],
    ] as const) {
      const [row] = await db('appointments')
        .insert({
          patient_id: patient,
          doctor_id: doctor,
          hospital_id: hospital,
          starts_at: at(day),
          ends_at: new Date(at(day).getTime() + 1_800_000),
          reason: 'x',
        })
        .returning('id');
      ids[name] = row.id;
    }
  });

  // caller → [patients (administrative), patients (medical), entries, studies, appointments, links' hospital]
  const TABLE: Record<string, [string[], string[], string[], string[], string[], 'A' | 'B' | null]> = {
    superAdmin: [[], [], [], [], [], null],
    adminA: [[], [], [], [], [], 'A'],
    doctorA: [['p1', 'p3'], ['p1', 'p3'], ['e1', 'e3'], ['s1', 's3'], ['a1'], 'A'],
    idleDoctorA: [[], [], [], [], [], 'A'],
    doctorB: [['p2', 'p3'], ['p2', 'p3'], ['e2', 'e3'], ['s2', 's3'], ['a2', 'a3'], 'B'],
    secretaryA: [['p1', 'p3'], [], [], [], ['a1', 'a4'], 'A'],
    secretaryB: [['p2', 'p3'], [], [], [], ['a2', 'a3'], 'B'],
    p1: [['p1'], ['p1'], ['e1'], ['s1'], ['a1'], null],
    p2: [['p2'], ['p2'], ['e2'], ['s2'], ['a2', 'a4'], null],
  };

  for (const [caller, [administrative, medical, entries, studies, appointments, linksHospital]] of Object.entries(TABLE)) {
    it(`${caller}: patients ${administrative.join(',') || '—'} (medical ${medical.join(',') || '—'}), entries ${entries.join(',') || '—'}, studies ${studies.join(',') || '—'}, appointments ${appointments.join(',') || '—'}`, async () => {
      const scope = scopeFor(testDb(), callers[caller]!);
      const world = (names: string[]) => names.map((n) => ids[n]!);
      /** The world's rows a read returns, by name (rows of other suites are ignored). */
      const seen = async (query: Promise<{ id: string }[]>, names: string[]) => {
        const byId = new Map(names.map((n) => [ids[n]!, n]));
        return (await query)
          .map((r) => byId.get(r.id))
          .filter((n): n is string => n !== undefined)
          .sort();
      };
      const patients = ['p1', 'p2', 'p3'];
      expect(
        await seen(scope.patients('administrative').whereIn('u.id', world(patients)).select('u.id as id'), patients),
        'administrative',
      ).to.deep.equal(administrative);
      expect(
        await seen(scope.patients('medical').whereIn('u.id', world(patients)).select('u.id as id'), patients),
        'medical',
      ).to.deep.equal(medical);
      expect(await seen(scope.recordEntries().select('e.id'), ['e1', 'e2', 'e3']), 'entries').to.deep.equal(entries);
      expect(await seen(scope.studies().select('s.id'), ['s1', 's2', 's3', 'sq']), 'studies').to.deep.equal(studies);
      expect(await seen(scope.dicomWebStudies().select('s.id'), ['s1', 's2', 's3', 'sq']), 'DICOMweb studies').to.deep.equal(studies);
      expect(await seen(scope.appointments().select('a.id'), ['a1', 'a2', 'a3', 'a4']), 'appointments').to.deep.equal(appointments);
      expect(scope.linksHospital).to.equal(linksHospital === 'A' ? a.hospital.id : linksHospital === 'B' ? b.hospital.id : null);
    });
  }

  it('the quarantine is nobody’s through the scope, and its own hospital’s through the quarantine view', async () => {
    for (const who of Object.values(callers)) {
      expect(await scopeFor(testDb(), who).studies().where('s.id', ids.sq!).first('s.id'), who.role).to.equal(undefined);
    }
    const quarantine = async (caller: string, list: boolean) =>
      (await quarantinedStudies(testDb(), callers[caller]!, list).where('id', ids.sq!).first('id')) !== undefined;
    // The pushing device's hospital sees it (list and actions); another hospital never; the super admin in the list only.
    expect([await quarantine('doctorA', true), await quarantine('doctorA', false)]).to.deep.equal([true, true]);
    expect([await quarantine('doctorB', true), await quarantine('doctorB', false)]).to.deep.equal([false, false]);
    expect([await quarantine('superAdmin', true), await quarantine('superAdmin', false)]).to.deep.equal([true, false]);
  });

  after(async () => {
    // Rows of this world only: the other suites count studies and appointments.
    const db = testDb();
    await db('appointments')
      .whereIn('id', ['a1', 'a2', 'a3', 'a4'].map((n) => ids[n]!).filter(Boolean))
      .delete();
    await db('dicom_studies')
      .whereIn('id', ['s1', 's2', 's3', 'sq'].map((n) => ids[n]!).filter(Boolean))
      .delete();
    await db('medical_record_entries')
      .whereIn('id', ['e1', 'e2', 'e3'].map((n) => ids[n]!).filter(Boolean))
      .delete();
  });
});
