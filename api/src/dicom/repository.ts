import type { Knex } from 'knex';
import type { Auth } from '../auth/types.js';
import { fetchPage } from '../db/paging.js';
import { likePattern, parseSort, type Page } from '../http/pagination.js';
import { scopeFor } from '../../../common/scope.js';
import { prepared } from '../../../common/db.js';

type Db = Knex | Knex.Transaction;

export interface StudyRow {
  id: string;
  orthanc_id: string;
  study_instance_uid: string;
  patient_id: string;
  dicom_patient_id: string | null;
  doctor_id: string | null;
  study_date: string | null;
  study_time: string | null;
  modalities: string[];
  dicom_description: string | null;
  custom_description: string | null;
  labels: string[];
  accession_number: string | null;
  body_parts: string[];
  number_of_series: number;
  number_of_instances: number;
  size_bytes: number;
  created_at: Date;
  updated_at: Date;
}

export interface SeriesRow {
  id: string;
  orthanc_id: string;
  study_id: string;
  series_instance_uid: string;
  modality: string | null;
  description: string | null;
  body_part: string | null;
  series_number: number | null;
  number_of_instances: number;
  size_bytes: number;
  created_at: Date;
  updated_at: Date;
}

/** Studies the caller may see: a linked doctor's patients', a patient its own. Unmatched studies: nobody. */
export function scopedStudies(db: Db, auth: Auth): Knex.QueryBuilder {
  return scopeFor(db, auth).studies();
}

/** Search filters of the study list. */
export interface StudyListQuery {
  page: number;
  pageSize: number;
  sort: string;
  q?: string;
  patientId?: string;
  modality?: string;
  dateFrom?: string;
  dateTo?: string;
  label?: string;
}

const SORT = {
  studyDate: 's.study_date',
  createdAt: 's.created_at',
  updatedAt: 's.updated_at',
  numberOfInstances: 's.number_of_instances',
};

/** What a study list shows (toStudyDto): every field a row is parsed for costs each page. */
export type StudyListRow = Omit<StudyRow, 'orthanc_id' | 'dicom_patient_id'>;
const LIST_COLUMNS = (
  [
    'id',
    'study_instance_uid',
    'patient_id',
    'doctor_id',
    'study_date',
    'study_time',
    'modalities',
    'dicom_description',
    'custom_description',
    'labels',
    'accession_number',
    'body_parts',
    'number_of_series',
    'number_of_instances',
    'size_bytes',
    'created_at',
    'updated_at',
  ] satisfies (keyof StudyListRow)[]
).map((c) => `s.${c}`);

/** A page of studies in scope. */
export function listStudies(db: Db, auth: Auth, q: StudyListQuery): Promise<Page<StudyListRow>> {
  const query = scopedStudies(db, auth);
  if (q.patientId) query.where('s.patient_id', q.patientId);
  if (q.modality) query.whereRaw('? = ANY(s.modalities)', [q.modality.toUpperCase()]);
  if (q.dateFrom) query.where('s.study_date', '>=', q.dateFrom);
  if (q.dateTo) query.where('s.study_date', '<=', q.dateTo);
  if (q.label) query.whereRaw('? = ANY(s.labels)', [q.label]);
  if (q.q) {
    const pattern = likePattern(q.q);
    query.where((w) =>
      w
        .whereILike('s.dicom_description', pattern)
        .orWhereILike('s.custom_description', pattern)
        .orWhereILike('s.accession_number', pattern)
        .orWhereRaw(`array_to_string(s.body_parts, ' ') ILIKE ?`, [pattern])
        .orWhereRaw(`array_to_string(s.labels, ' ') ILIKE ?`, [pattern])
        .orWhere('s.study_instance_uid', q.q),
    );
  }
  const orderBy = parseSort(q.sort, SORT);
  return fetchPage<StudyListRow>(query, {
    columns: LIST_COLUMNS,
    orderBy: { column: `${orderBy.column}`, direction: orderBy.direction },
    tieBreaker: 's.id',
    page: q.page,
    pageSize: q.pageSize,
  });
}

/** One study in scope; `forUpdate` locks it. */
export async function findStudy(db: Db, auth: Auth, id: string, forUpdate = false): Promise<StudyRow | undefined> {
  const query = prepared(scopedStudies(db, auth).where('s.id', id).first('s.*'));
  return forUpdate ? query.forUpdate('s') : query;
}

/** The series of a study, in series-number order. */
export function seriesOfStudy(db: Db, studyId: string): Promise<SeriesRow[]> {
  return db('dicom_series').where({ study_id: studyId }).orderByRaw('series_number NULLS LAST').orderBy('created_at').select('*');
}

/** One series whose study is in scope. */
export async function findSeries(
  db: Db,
  auth: Auth,
  id: string,
): Promise<(SeriesRow & { study_orthanc_id: string; patient_id: string }) | undefined> {
  return scopedStudies(db, auth)
    .join('dicom_series as se', 'se.study_id', 's.id')
    .where('se.id', id)
    .first('se.*', 's.orthanc_id as study_orthanc_id', 's.patient_id');
}

// The index's own writes and lookups by Orthanc or row id: the indexer, uploads, assignments and deletions, which act
// on a study already authorized (or on behalf of no caller at all).

/** The unique index that keeps one owner per StudyInstanceUID. */
export const ONE_OWNER_PER_UID = 'dicom_studies_one_owner_per_uid';

/** Inserts or refreshes a study's index row by Orthanc id; the first known uploader stays its doctor. Returns its id. */
export async function upsertStudyRow(db: Db, values: Record<string, unknown> & { orthanc_id: string }): Promise<{ id: string }> {
  const [saved] = await db('dicom_studies')
    .insert(values)
    .onConflict('orthanc_id')
    .merge({
      ...values,
      // Later refreshes (the indexer) know no uploader.
      doctor_id: db.raw('coalesce(dicom_studies.doctor_id, excluded.doctor_id)'),
    })
    .returning('id');
  return saved as { id: string };
}

/** Removes a study's index row by its Orthanc id (Orthanc no longer holds it). */
export function removeStudyByOrthancId(db: Db, orthancId: string): Promise<number> {
  return db('dicom_studies').where({ orthanc_id: orthancId }).delete();
}

/** Removes a study's index row by its id (the caller deleted it from Orthanc). */
export function removeStudy(db: Db, id: string): Promise<number> {
  return db('dicom_studies').where({ id }).delete();
}

/** The Orthanc id of an indexed study, if indexed. */
export async function orthancIdOf(db: Db, studyId: string): Promise<string | null> {
  return (await db('dicom_studies').where({ id: studyId }).first('orthanc_id'))?.orthanc_id ?? null;
}

/** The index id of the study Orthanc knows as `orthancId`, if indexed. */
export async function studyIdOfOrthanc(db: Db, orthancId: string): Promise<string | null> {
  return (await db('dicom_studies').where({ orthanc_id: orthancId }).first('id'))?.id ?? null;
}

/** Index rows by id (an upload's studies, already authorized by the upload). */
export function studiesById(db: Db, ids: string[]): Promise<StudyRow[]> {
  return db('dicom_studies').whereIn('id', ids).select('*');
}

/** Changes a study's description and labels (the caller found it in its scope first). */
export function updateStudyRow(db: Db, id: string, patch: { description?: string | null; labels?: string[] }): Promise<number> {
  return db('dicom_studies')
    .where({ id })
    .update({
      ...(patch.description !== undefined ? { custom_description: patch.description } : {}),
      ...(patch.labels !== undefined ? { labels: [...new Set(patch.labels)].sort() } : {}),
      updated_at: db.fn.now(),
    });
}

/** Locks a study's row until the transaction ends (serialises writes hanging off one study). */
export async function lockStudy(trx: Knex.Transaction, id: string): Promise<void> {
  await trx('dicom_studies').where({ id }).forUpdate().first('id');
}

/** Whether a patient other than `patientId` owns this StudyInstanceUID (`patientId` null: any patient). */
export async function uidOwnedByOther(db: Db, studyInstanceUid: string, patientId: string | null): Promise<boolean> {
  const q = db('dicom_studies').where({ study_instance_uid: studyInstanceUid }).whereNotNull('patient_id');
  if (patientId) q.whereNot('patient_id', patientId);
  return (await q.first('id')) !== undefined;
}

/** The StudyInstanceUIDs of one patient's studies, as a subquery. */
export const studyUidsOfPatient = (db: Db, patientId: string): Knex.QueryBuilder =>
  db('dicom_studies').where({ patient_id: patientId }).select('study_instance_uid');

/** Removes every index row of one patient's studies (erasure); returns how many. */
export function removeStudiesOfPatient(db: Db, patientId: string): Promise<number> {
  return db('dicom_studies').where({ patient_id: patientId }).delete();
}
