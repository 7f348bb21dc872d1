import { scopeFor } from '../../../common/scope.js';
import type { Knex } from 'knex';
import type { Auth } from '../auth/types.js';
import { parseSort, type Page } from '../http/pagination.js';
import type { EntryListQuery, EntryType } from './schemas.js';
import { fetchPage, fetchSearchPage } from '../db/paging.js';
import { personColumns } from '../http/people.js';
import { prepared } from '../../../common/db.js';

type Db = Knex | Knex.Transaction;

export interface EntryRow {
  id: string;
  patient_id: string;
  type: EntryType;
  recorded_at: Date;
  key_id: string;
  payload: string;
  version: number;
  author_id: string;
  author_first_name: string;
  author_last_name: string;
  author_role: string;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

/** What a list of entries shows (a live entry has no deletion to show). */
export type ListedEntryRow = Omit<EntryRow, 'deleted_at'>;

const LIST_COLUMNS = [
  'e.id',
  'e.patient_id',
  'e.type',
  'e.recorded_at',
  'e.key_id',
  'e.payload',
  'e.version',
  'e.author_id',
  'au.first_name as author_first_name',
  'au.last_name as author_last_name',
  'au.role as author_role',
  'e.updated_by',
  ...personColumns('ub', 'updated_by'),
  'e.created_at',
  'e.updated_at',
];
const COLUMNS = [...LIST_COLUMNS, 'e.deleted_at'];

/** Entries in the caller's medical scope; deleted ones only when asked (history for doctors). */
export function scopedEntries(db: Db, auth: Auth, includeDeleted = false): Knex.QueryBuilder {
  return withAuthors(entriesInScope(db, auth, includeDeleted));
}

/** The entries in scope, as `e`, without their authors' names. */
function entriesInScope(db: Db, auth: Auth, includeDeleted = false): Knex.QueryBuilder {
  return scopeFor(db, auth).recordEntries({ includeDeleted });
}

/** The names of an entry's author (a required key) and last editor (optional): they never remove a row. */
function withAuthors(query: Knex.QueryBuilder): Knex.QueryBuilder {
  return query.join('users as au', 'au.id', 'e.author_id').leftJoin('users as ub', 'ub.id', 'e.updated_by');
}

/** One entry in scope; `forUpdate` locks it. */
export async function findEntry(
  db: Db,
  auth: Auth,
  id: string,
  options: { includeDeleted?: boolean; forUpdate?: boolean } = {},
): Promise<EntryRow | undefined> {
  const query = prepared(scopedEntries(db, auth, options.includeDeleted).where('e.id', id).first(COLUMNS));
  return options.forUpdate ? query.forUpdate('e') : query;
}

/** A page of entries in scope. */
export async function listEntries(
  db: Db,
  auth: Auth,
  q: EntryListQuery,
  matches?: (row: ListedEntryRow) => boolean,
): Promise<Page<ListedEntryRow>> {
  const query = entriesInScope(db, auth);
  // As findPatientInMedicalScope: a deleted patient's record is not listed (the service answers 404).
  if (q.patientId)
    query
      .where('e.patient_id', q.patientId)
      .whereExists((u) => u.select(1).from('users as u_live').whereRaw('u_live.id = e.patient_id').whereNull('u_live.deleted_at'));
  if (q.type) query.where('e.type', q.type);
  const orderBy = parseSort(q.sort, { recordedAt: 'e.recorded_at', createdAt: 'e.created_at', updatedAt: 'e.updated_at' });
  const request = {
    columns: LIST_COLUMNS,
    orderBy,
    tieBreaker: 'e.id',
    page: q.page,
    pageSize: q.pageSize,
    decorate: { alias: 'e', join: withAuthors },
  };
  return matches ? fetchSearchPage<ListedEntryRow>(query, request, matches) : fetchPage<ListedEntryRow>(query, request);
}

/** Every live entry of one patient (the caller must have checked the patient is in scope). */
export async function entriesOfPatient(db: Db, auth: Auth, patientId: string): Promise<ListedEntryRow[]> {
  return scopedEntries(db, auth).where('e.patient_id', patientId).orderBy('e.recorded_at', 'desc').orderBy('e.id').select(LIST_COLUMNS);
}

/** The patient, when it is in the caller's medical scope. */
export async function findPatientInMedicalScope(db: Db, auth: Auth, patientId: string) {
  const query = scopeFor(db, auth)
    .patients('medical')
    .where('u.id', patientId)
    .first('u.id', 'p.identifier', 'u.first_name', 'u.last_name', 'p.birth_date', 'p.sex');
  return prepared(query) as Promise<
    { id: string; identifier: string; first_name: string; last_name: string; birth_date: string; sex: string } | undefined
  >;
}
