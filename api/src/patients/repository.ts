import { liveLinks, visibleLinksHospital, type LinkSource } from '../../../common/access.js';
import { scopeFor } from '../../../common/scope.js';
import { searchWords } from '../../../common/search.js';
import type { Knex } from 'knex';
import type { Auth } from '../auth/types.js';
import { likePattern, parseSort, type Page } from '../http/pagination.js';
import type { PatientListQuery } from './schemas.js';
import { fetchPage } from '../db/paging.js';
import { personColumns } from '../http/people.js';
import { prepared } from '../../../common/db.js';

type Db = Knex | Knex.Transaction;

export interface PatientRow {
  id: string;
  identifier: string;
  email: string | null;
  first_name: string;
  last_name: string;
  birth_date: string;
  sex: 'female' | 'male' | 'other' | 'unknown';
  phone: string | null;
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface LinkRow {
  doctor_id: string;
  first_name: string;
  last_name: string;
  specialty: string;
  hospital_id: string;
  hospital_name: string;
  source: LinkSource;
  created_by: string | null;
  created_at: Date;
  appointment_id: string | null;
  doctor_status: 'active' | 'inactive' | 'deleted';
}

const COLUMNS = [
  'u.id',
  'p.identifier',
  'u.email',
  'u.first_name',
  'u.last_name',
  'p.birth_date',
  'p.sex',
  'u.phone',
  'u.is_active',
  'u.created_at',
  'u.updated_at',
];

/** Patients the caller reaches for administrative work (the rule: common/scope.ts). */
function scoped(db: Db, auth: Auth): Knex.QueryBuilder {
  return scopeFor(db, auth).patients('administrative');
}

const SORT_COLUMNS = {
  lastName: 'u.last_name',
  firstName: 'u.first_name',
  birthDate: 'p.birth_date',
  identifier: 'p.identifier',
  createdAt: 'u.created_at',
};

/** Lists the patients in the caller's scope. */
export async function listPatients(db: Db, auth: Auth, q: PatientListQuery): Promise<Page<PatientRow>> {
  const query = scoped(db, auth);
  // Every word of the query somewhere in the names, identifier or e-mail, case and accents folded, any order.
  for (const word of searchWords(q.q ?? '')) {
    const pattern = likePattern(word);
    query.where((w) =>
      w
        .whereRaw('mediconnect_fold(u.first_name) like ?', [pattern])
        .orWhereRaw('mediconnect_fold(u.last_name) like ?', [pattern])
        .orWhereRaw('mediconnect_fold(p.identifier) like ?', [pattern])
        .orWhereRaw('mediconnect_fold(u.email) like ?', [pattern]),
    );
  }
  if (q.birthDate) query.where('p.birth_date', q.birthDate);
  if (q.identifier) query.where('p.identifier', q.identifier);
  if (q.isActive !== undefined) query.where('u.is_active', q.isActive);
  if (q.doctorId) {
    // Only a link the caller may see counts: another hospital's doctor's patients are not revealed by the filter.
    const hospital = visibleLinksHospital(auth);
    query.whereExists((s) => {
      s.select(1).from('patient_doctor_links as lf').whereRaw('lf.patient_id = u.id').where('lf.doctor_id', q.doctorId!);
      if (hospital) s.where('lf.hospital_id', hospital);
    });
  }
  return fetchPage<PatientRow>(query, {
    columns: COLUMNS,
    orderBy: parseSort(q.sort, SORT_COLUMNS),
    tieBreaker: 'u.id',
    page: q.page,
    pageSize: q.pageSize,
  });
}

/** A live patient in the caller's scope with the same names (folded) and birth date, if any. */
export async function probableDuplicate(
  db: Db,
  auth: Auth,
  p: { firstName: string; lastName: string; birthDate: string },
): Promise<{ id: string; identifier: string } | undefined> {
  return scoped(db, auth)
    .whereRaw('mediconnect_fold(u.first_name) = mediconnect_fold(?)', [p.firstName])
    .whereRaw('mediconnect_fold(u.last_name) = mediconnect_fold(?)', [p.lastName])
    .where('p.birth_date', p.birthDate)
    .first('u.id', 'p.identifier');
}

/** One patient in the caller's scope; `forUpdate` locks its user row. */
export async function findPatient(db: Db, auth: Auth, id: string, forUpdate = false): Promise<PatientRow | undefined> {
  const query = prepared(scoped(db, auth).where('u.id', id).first(COLUMNS));
  return forUpdate ? query.forUpdate('u') : query;
}

/** The doctors linked to a patient, with who/what created each link and when. */
export async function listLinks(db: Db, patientId: string, onlyHospitalId: string | null = null): Promise<LinkRow[]> {
  const query = db('patient_doctor_links as l')
    .join('users as d', 'd.id', 'l.doctor_id')
    .join('hospitals as h', 'h.id', 'd.hospital_id')
    .leftJoin('doctor_profiles as dp', 'dp.user_id', 'd.id')
    .leftJoin('users as cb', 'cb.id', 'l.created_by')
    .where('l.patient_id', patientId)
    .orderBy('l.created_at')
    .select(
      'l.doctor_id',
      'd.first_name',
      'd.last_name',
      db.raw(`coalesce(dp.specialty, '') as specialty`),
      'd.hospital_id',
      'h.name as hospital_name',
      'l.source',
      'l.created_by',
      ...personColumns('cb', 'created_by'),
      'l.created_at',
      'l.appointment_id',
      // Whether the doctor can still care for the patient: its account and its hospital.
      db.raw(
        `case when d.deleted_at is not null or h.deleted_at is not null then 'deleted' when d.is_active and h.is_active then 'active' else 'inactive' end as doctor_status`,
      ),
    );
  if (onlyHospitalId) query.where('d.hospital_id', onlyHospitalId);
  return query;
}

/**
 * Whether an active doctor of another active hospital than `hospitalId` follows the patient. A deactivated
 * hospital's (or doctor's) links do not count: its staff are locked out and could never release the patient.
 */
export async function sharedWithAnotherHospital(db: Db, patientId: string, hospitalId: string): Promise<boolean> {
  return Boolean(
    await liveLinks(db)
      .where('l.patient_id', patientId)
      .whereNot('l.hospital_id', hospitalId)
      .where({ 'h.is_active': true, 'd.is_active': true })
      .first('l.doctor_id'),
  );
}

/** Active doctors of the hospital among the given ids. */
export async function doctorsOfHospital(db: Db, hospitalId: string, ids: string[]): Promise<string[]> {
  const rows: { id: string }[] = await db('users')
    .whereIn('id', ids)
    .where({ role: 'doctor', hospital_id: hospitalId, is_active: true })
    .whereNull('deleted_at')
    .select('id');
  return rows.map((r) => r.id);
}
