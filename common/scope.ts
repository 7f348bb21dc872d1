// The caller-bound data layer (issue 23): one object per request, built for its caller, that hands out the queries on
// patient data already filtered for that caller — as Medplum builds a repository per login whose security filters run
// inside every read. Repositories and the proxy start their reads here; the link rule itself is written once, in
// access.ts, and nowhere else.
import type { Knex } from 'knex';
import {
  applyPatientScope,
  readableStudies,
  readableStudyOwner,
  visibleLinksHospital,
  whereLinkedTo,
  type PatientScope,
} from './access.js';
import { recordAudit, type AuditEvent } from './audit.js';
import type { RequestMeta } from './http/request-context.js';
import type { Principal } from './principal.js';

type Db = Knex | Knex.Transaction;
type Who = Pick<Principal, 'role' | 'userId' | 'hospitalId'>;

/** What one caller may read, bound to a database handle (a pool or the request's transaction). */
export interface Scope {
  readonly who: Who;
  /** Patients as `u` (their account) joined to `p`, not deleted, whose data of `kind` the caller reaches. */
  patients(kind: PatientScope): Knex.QueryBuilder;
  /** Medical record entries as `e` of patients the caller reaches medically (deleted ones only when asked). */
  recordEntries(options?: { includeDeleted?: boolean }): Knex.QueryBuilder;
  /**
   * Appointments as `a`: a patient its own; a doctor its own with patients it is linked to (a mere request reveals
   * nothing to it); a secretary those of its hospital; nobody else any.
   */
  appointments(): Knex.QueryBuilder;
  /** Filed studies as `s` (the index) of patients the caller reaches medically; the quarantine is nobody's here. */
  studies(): Knex.QueryBuilder;
  /** Studies as DICOMweb serves them (`s` joined to `p`): a UID two patients hold is readable by nobody. */
  dicomWebStudies(): Knex.QueryBuilder;
  /** The patient and index row behind a StudyInstanceUID the caller may read through DICOMweb, or null. */
  dicomWebStudy(studyInstanceUid: string): Promise<{ patientId: string; studyId: string; identifier: string } | null>;
  /** Whose links the caller sees: its hospital's (staff), every one (patient, super admin: null). */
  readonly linksHospital: string | null;
  /** Writes an audit entry for this caller, in the same database handle (the request's transaction when bound to one). */
  audit(meta: RequestMeta, event: Omit<AuditEvent, 'actor'>): Promise<void>;
}

/** The scope of one caller. Cheap: build one per request (or per transaction with `scopeFor(trx, who)`). */
export function scopeFor(db: Db, who: Who): Scope {
  return {
    who,
    patients(kind) {
      const query = db('users as u').join('patients as p', 'p.user_id', 'u.id').where('u.role', 'patient').whereNull('u.deleted_at');
      return applyPatientScope(query, who, 'u.id', kind);
    },
    recordEntries(options = {}) {
      const query = db('medical_record_entries as e');
      if (!options.includeDeleted) query.whereNull('e.deleted_at');
      return applyPatientScope(query, who, 'e.patient_id', 'medical');
    },
    appointments() {
      const query = db('appointments as a');
      if (who.role === 'patient') return query.where('a.patient_id', who.userId);
      if (who.role === 'doctor') return whereLinkedTo(query.where('a.doctor_id', who.userId), who.userId, 'a.patient_id');
      if (who.role === 'secretary') return query.where('a.hospital_id', who.hospitalId ?? null);
      return query.whereRaw('false');
    },
    studies() {
      return applyPatientScope(db('dicom_studies as s').whereNotNull('s.patient_id'), who, 's.patient_id', 'medical');
    },
    dicomWebStudies() {
      return readableStudies(db, who);
    },
    dicomWebStudy(studyInstanceUid) {
      return readableStudyOwner(db, who, studyInstanceUid);
    },
    linksHospital: visibleLinksHospital(who),
    audit(meta, event) {
      return recordAudit(db, meta, { actor: who, ...event });
    },
  };
}
