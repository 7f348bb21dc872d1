import type { Knex } from 'knex';
import type { Principal } from './principal.js';

type Db = Knex | Knex.Transaction;
type Who = Pick<Principal, 'role' | 'userId' | 'hospitalId'>;

/**
 * Links to live doctors of live hospitals, as `l` (with `d` the doctor, `h` its hospital): the links that still
 * mean care (a patient's last one cannot be removed; a hospital leaving takes only the patients no other keeps).
 * Links carry their doctor's hospital (set by the database).
 */
export function liveLinks(db: Db): Knex.QueryBuilder {
  return db('patient_doctor_links as l')
    .join('users as d', 'd.id', 'l.doctor_id')
    .join('hospitals as h', 'h.id', 'l.hospital_id')
    .whereNull('d.deleted_at')
    .whereNull('h.deleted_at');
}

/**
 * Which patients' data a role reaches. `medical` (records, images): a linked doctor and the patient
 * itself. `administrative` (the patient file, appointments' patients) adds the secretaries of a linked
 * doctor's hospital.
 */
export type PatientScope = 'medical' | 'administrative';

/** Keeps rows whose patient (`patientColumn`) is linked to `doctorId`: the link rule, written once. */
export function whereLinkedTo(query: Knex.QueryBuilder, doctorId: string, patientColumn: string): Knex.QueryBuilder {
  // A semi-join from the doctor's links (index on doctor_id), so lists start from its patients rather than from
  // every row of the table (bench:scale).
  return query.whereIn(patientColumn, (q) =>
    q.select('l_scope.patient_id').from('patient_doctor_links as l_scope').where('l_scope.doctor_id', doctorId),
  );
}

/**
 * Whose links (care relations) a caller may see: staff only their own hospital's, the patient and the super
 * admin every one (null). A list filter on a relation goes through it too: a filter narrows, never reveals.
 */
export function visibleLinksHospital(who: Who): string | null {
  return who.role === 'patient' || who.role === 'super_admin' ? null : (who.hospitalId ?? '00000000-0000-0000-0000-000000000000');
}

/**
 * The one security filter on patient data: restricts `query` to rows whose patient the caller may reach.
 * Every repository of the API and the DICOMweb proxy apply it; nobody writes the link rule again.
 */
export function applyPatientScope(query: Knex.QueryBuilder, who: Who, patientColumn: string, scope: PatientScope): Knex.QueryBuilder {
  if (who.role === 'doctor') return whereLinkedTo(query, who.userId, patientColumn);
  if (who.role === 'patient') return query.where(patientColumn, who.userId);
  if (who.role === 'secretary' && scope === 'administrative') {
    // Links carry their doctor's hospital (set by the database): one index range whose size follows the
    // hospital's, not the whole database's (bench:scale; a join through the doctors scanned every link).
    return query.whereIn(patientColumn, (q) =>
      q
        .select('l_scope.patient_id')
        .from('patient_doctor_links as l_scope')
        .where('l_scope.hospital_id', who.hospitalId ?? null),
    );
  }
  return query.whereRaw('false');
}

/**
 * Studies of the index the caller may read, as `s` (dicom_studies) joined to `p` (patients). A
 * StudyInstanceUID that the index holds for two different patients is readable by nobody: Orthanc
 * answers DICOMweb by UID, so one foreign copy would leak into every answer.
 */
export function readableStudies(db: Db, who: Who): Knex.QueryBuilder {
  const query = db('dicom_studies as s').join('patients as p', 'p.user_id', 's.patient_id');
  applyPatientScope(query, who, 's.patient_id', 'medical');
  return query.whereNotExists((q) =>
    q
      .select(1)
      .from('dicom_studies as s_other')
      .whereRaw('s_other.study_instance_uid = s.study_instance_uid')
      .whereRaw('s_other.patient_id IS DISTINCT FROM s.patient_id'),
  );
}

/** The patient (user id) behind a StudyInstanceUID the caller may read, or null: unknown, foreign or shared. */
export async function readableStudyOwner(
  db: Db,
  who: Who,
  studyInstanceUid: string,
): Promise<{ patientId: string; studyId: string; identifier: string } | null> {
  const row = await readableStudies(db, who).where('s.study_instance_uid', studyInstanceUid).first('s.patient_id', 's.id', 'p.identifier');
  return row ? { patientId: row.patient_id, studyId: row.id, identifier: row.identifier } : null;
}

/** Whether a live doctor of `hospitalId` follows the patient: what lets a hospital's device file images under it. */
export async function followedByHospital(db: Db, hospitalId: string | null, patientId: string): Promise<boolean> {
  if (!hospitalId) return false;
  return (await liveLinks(db).where({ 'l.patient_id': patientId, 'l.hospital_id': hospitalId }).first('l.patient_id')) !== undefined;
}

/** How a care relation came to be: a patient created by a doctor's secretary, an appointment validated, a secretary linking. */
export type LinkSource = 'patient_creation' | 'appointment' | 'secretary';

/** Creates the link unless it exists; returns whether it was created. Call inside the caller's transaction. */
export async function ensureLink(
  trx: Knex.Transaction,
  link: { patientId: string; doctorId: string; source: LinkSource; createdBy: string; appointmentId?: string },
): Promise<boolean> {
  const inserted = await trx('patient_doctor_links')
    .insert({
      patient_id: link.patientId,
      doctor_id: link.doctorId,
      source: link.source,
      created_by: link.createdBy,
      appointment_id: link.appointmentId ?? null,
    })
    .onConflict(['patient_id', 'doctor_id'])
    .ignore()
    .returning('id');
  return inserted.length > 0;
}

/** Whether the doctor follows the patient (a link exists, whatever the doctor's or hospital's state). */
export async function isLinked(db: Db, patientId: string, doctorId: string): Promise<boolean> {
  return (await db('patient_doctor_links').where({ patient_id: patientId, doctor_id: doctorId }).first('id')) !== undefined;
}

/** The link between a patient and a doctor, as `l` joined to its doctor `d` (the caller narrows and selects). */
export function linkOf(db: Db, patientId: string, doctorId: string): Knex.QueryBuilder {
  return db('patient_doctor_links as l')
    .join('users as d', 'd.id', 'l.doctor_id')
    .where({ 'l.patient_id': patientId, 'l.doctor_id': doctorId });
}

/** Removes one link by id (the caller checked it may, and that it is not the patient's last). */
export function removeLink(db: Db, linkId: string): Promise<number> {
  return db('patient_doctor_links').where({ id: linkId }).delete();
}

/** Removes every link of a patient (erasure). */
export function removeLinksOfPatient(db: Db, patientId: string): Promise<number> {
  return db('patient_doctor_links').where({ patient_id: patientId }).delete();
}

/**
 * The quarantine a caller sees, as `dicom_studies` rows without a patient: the super admin every one when
 * `superAdminSeesAll` (the list), everyone else only its own hospital's devices' pushes (the list and every action).
 */
export function quarantinedStudies(db: Db, who: Who, superAdminSeesAll: boolean): Knex.QueryBuilder {
  const query = db('dicom_studies').whereNull('patient_id');
  if (!(superAdminSeesAll && who.role === 'super_admin')) query.where('source_hospital_id', who.hospitalId ?? null);
  return query;
}

/** Whether a patient already owns this StudyInstanceUID in the index (a device may not push into it). */
export async function studyOwned(db: Db, studyInstanceUid: string): Promise<boolean> {
  return (await db('dicom_studies').where({ study_instance_uid: studyInstanceUid }).whereNotNull('patient_id').first('id')) !== undefined;
}
