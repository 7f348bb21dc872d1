import type { Knex } from 'knex';
import type { Auth } from '../auth/types.js';
import { fetchPage } from '../db/paging.js';
import { likePattern, parseSort, type Page } from '../http/pagination.js';
import { applyPatientScope } from '../../../common/access.js';
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
  const query = db('dicom_studies as s').whereNotNull('s.patient_id');
  applyPatientScope(query, auth, 's.patient_id', 'medical');
  return query;
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
