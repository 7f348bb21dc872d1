import { scopeFor } from '../../../common/scope.js';
import { isLinked } from '../../../common/access.js';
import type { Knex } from 'knex';
import type { Auth } from '../auth/types.js';
import { formatInZone } from '../availability/intervals.js';
import { parseSort, type Page } from '../http/pagination.js';
import type { AppointmentListQuery, AppointmentStatus } from './schemas.js';
import { fetchPage, fetchSearchPage } from '../db/paging.js';
import { personColumns, toPersonRef } from '../http/people.js';
import { prepared } from '../../../common/db.js';

type Db = Knex | Knex.Transaction;

export interface AppointmentRow {
  id: string;
  status: AppointmentStatus;
  starts_at: Date;
  ends_at: Date;
  reason: string;
  status_reason: string | null;
  patient_id: string;
  patient_first_name: string;
  patient_last_name: string;
  patient_identifier: string;
  doctor_id: string;
  doctor_first_name: string;
  doctor_last_name: string;
  doctor_specialty: string | null;
  hospital_id: string;
  hospital_name: string;
  timezone: string | null;
  requested_by: string | null;
  status_changed_by: string | null;
  status_changed_at: Date | null;
  reminder_sent_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The appointments in scope, as `a`, without the names that decorate them (the rule: common/scope.ts). */
function inScope(db: Db, auth: Auth): Knex.QueryBuilder {
  return scopeFor(db, auth).appointments();
}

/**
 * The names an appointment is shown with. Every join is on a required foreign key (patient, doctor, hospital)
 * or is a left join: it adds columns and never removes a row, so a page can be decorated after it is cut.
 */
function withNames(query: Knex.QueryBuilder): Knex.QueryBuilder {
  return query
    .join('users as pu', 'pu.id', 'a.patient_id')
    .join('patients as p', 'p.user_id', 'a.patient_id')
    .join('users as du', 'du.id', 'a.doctor_id')
    .leftJoin('doctor_profiles as dp', 'dp.user_id', 'a.doctor_id')
    .join('hospitals as h', 'h.id', 'a.hospital_id')
    .leftJoin('doctor_availability as av', 'av.doctor_id', 'a.doctor_id')
    .leftJoin('users as rb', 'rb.id', 'a.requested_by')
    .leftJoin('users as sb', 'sb.id', 'a.status_changed_by');
}

function scoped(db: Db, auth: Auth): Knex.QueryBuilder {
  return withNames(inScope(db, auth));
}

const COLUMNS = [
  'a.id',
  'a.status',
  'a.starts_at',
  'a.ends_at',
  'a.reason',
  'a.status_reason',
  'a.patient_id',
  'pu.first_name as patient_first_name',
  'pu.last_name as patient_last_name',
  'p.identifier as patient_identifier',
  'a.doctor_id',
  'du.first_name as doctor_first_name',
  'du.last_name as doctor_last_name',
  'dp.specialty as doctor_specialty',
  'a.hospital_id',
  'h.name as hospital_name',
  'av.timezone',
  'a.requested_by',
  ...personColumns('rb', 'requested_by'),
  'a.status_changed_by',
  ...personColumns('sb', 'status_changed_by'),
  'a.status_changed_at',
  'a.reminder_sent_at',
  'a.created_at',
  'a.updated_at',
];

/** Lists appointments in the caller's scope. */
export async function listAppointments(
  db: Db,
  auth: Auth,
  q: AppointmentListQuery,
  matches?: (row: AppointmentRow) => boolean,
): Promise<Page<AppointmentRow>> {
  const query = inScope(db, auth);
  if (q.status) query.where('a.status', q.status);
  if (q.doctorId) query.where('a.doctor_id', q.doctorId);
  if (q.patientId) query.where('a.patient_id', q.patientId);
  if (q.from) query.where('a.starts_at', '>=', new Date(q.from));
  if (q.to) query.where('a.starts_at', '<', new Date(q.to));
  const orderBy = parseSort(q.sort, { startsAt: 'a.starts_at', createdAt: 'a.created_at' });
  const request = {
    columns: COLUMNS,
    orderBy,
    tieBreaker: 'a.id',
    page: q.page,
    pageSize: q.pageSize,
    decorate: { alias: 'a', join: withNames },
  };
  return matches ? fetchSearchPage<AppointmentRow>(query, request, matches) : fetchPage<AppointmentRow>(query, request);
}

/** One appointment in scope; `forUpdate` locks the appointment row. */
export async function findAppointment(db: Db, auth: Auth, id: string, forUpdate = false): Promise<AppointmentRow | undefined> {
  const query = prepared(scoped(db, auth).where('a.id', id).first(COLUMNS));
  return forUpdate ? query.forUpdate('a') : query;
}

/** Active, live secretaries of a hospital (they are notified of its appointments). */
export async function secretariesOf(db: Db, hospitalId: string): Promise<string[]> {
  const rows: { id: string }[] = await db('users')
    .where({ role: 'secretary', hospital_id: hospitalId, is_active: true })
    .whereNull('deleted_at')
    .select('id');
  return rows.map((r) => r.id);
}

/** The API view of an appointment; times in the doctor's time zone. */
export function toAppointmentDto(r: AppointmentRow) {
  const zone = r.timezone ?? 'UTC';
  return {
    id: r.id,
    status: r.status,
    startsAt: formatInZone(r.starts_at.getTime(), zone),
    endsAt: formatInZone(r.ends_at.getTime(), zone),
    durationMinutes: Math.round((r.ends_at.getTime() - r.starts_at.getTime()) / 60_000),
    reason: r.reason,
    statusReason: r.status_reason,
    patient: { id: r.patient_id, firstName: r.patient_first_name, lastName: r.patient_last_name, identifier: r.patient_identifier },
    doctor: {
      id: r.doctor_id,
      firstName: r.doctor_first_name,
      lastName: r.doctor_last_name,
      specialty: r.doctor_specialty ?? '',
      hospitalId: r.hospital_id,
      hospitalName: r.hospital_name,
    },
    requestedBy: toPersonRef(r.requested_by, r, 'requested_by'),
    statusChangedBy: toPersonRef(r.status_changed_by, r, 'status_changed_by'),
    statusChangedAt: r.status_changed_at?.toISOString() ?? null,
    reminderSentAt: r.reminder_sent_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Whether the doctor hears of an appointment's change: once it is (or was) validated, or when linked to the patient. */
export async function doctorConcerned(
  trx: Knex | Knex.Transaction,
  row: { patient_id: string; doctor_id: string },
  validated: boolean,
): Promise<boolean> {
  return validated || (await isLinked(trx, row.patient_id, row.doctor_id));
}
