import type { Knex } from 'knex';
import type { Principal } from './principal.js';
import type { RequestMeta } from './http/request-context.js';

/** Security- and data-relevant events written to the append-only audit_log table. */
export type AuditAction =
  | 'auth.login.succeeded'
  | 'auth.login.failed'
  | 'auth.login.refused'
  | 'auth.login.throttled'
  | 'auth.logout'
  | 'auth.refresh.reused'
  | 'auth.password.changed'
  | 'auth.password.change_failed'
  | 'account.created'
  | 'account.updated'
  | 'account.deactivated'
  | 'account.reactivated'
  | 'account.deleted'
  | 'hospital.created'
  | 'hospital.updated'
  | 'hospital.deactivated'
  | 'hospital.reactivated'
  | 'hospital.deleted'
  | 'patient.created'
  | 'patient.updated'
  | 'patient.deactivated'
  | 'patient.reactivated'
  | 'patient.linked'
  | 'patient.unlinked'
  | 'patient.erased'
  | 'availability.updated'
  | 'appointment.requested'
  | 'appointment.validated'
  | 'appointment.cancelled'
  | 'appointment.rescheduled'
  | 'appointment.completed'
  | 'appointment.no_show'
  | 'medical_record.created'
  | 'medical_record.updated'
  | 'medical_record.deleted'
  | 'medical_record.read'
  | 'medical_record.listed'
  | 'medical_record.history_read'
  | 'medical_record.record_read'
  | 'dicom.uploaded'
  | 'dicom.study_read'
  | 'dicom.studies_listed'
  | 'dicom.study_updated'
  | 'dicom.study_deleted'
  | 'dicom.series_deleted'
  | 'dicom.downloaded'
  | 'dicom.presigned'
  | 'dicom.report_created'
  | 'dicom.report_read'
  | 'dicom.viewer_opened'
  | 'dicom.shared'
  | 'dicom.share_revoked'
  | 'dicom.key_image_marked'
  | 'dicom.key_image_removed'
  | 'dicom.viewer_closed'
  | 'dicom.images_viewed'
  | 'dicom.reconciled'
  | 'dicom.discarded'
  | 'modality.created'
  | 'modality.updated'
  | 'modality.deleted';

/** One audit entry: who (actor), what (action), on what (target), from which request. */
export interface AuditEvent {
  actor: Pick<Principal, 'userId' | 'role'> | null;
  action: AuditAction;
  targetType?: 'user' | 'hospital' | 'session' | 'patient' | 'appointment' | 'medical_record' | 'dicom_study' | 'dicom_series' | 'dicom_report' | 'viewer_session' | 'modality';
  /** The patient whose data the event touches (drives the patient's access log). */
  patientId?: string | null;
  targetId?: string | null;
  hospitalId?: string | null;
  details?: Record<string, unknown>;
}

const auditRow = (meta: RequestMeta, event: AuditEvent) => ({
  actor_id: event.actor?.userId ?? null,
  actor_role: event.actor?.role ?? null,
  action: event.action,
  target_type: event.targetType ?? null,
  target_id: event.targetId ?? null,
  hospital_id: event.hospitalId ?? null,
  patient_id: event.patientId ?? null,
  request_id: meta.requestId,
  ip: meta.ip,
  details: JSON.stringify(event.details ?? {}),
});

/** Appends an audit entry; pass the transaction of the change so both land or neither does. */
export async function recordAudit(db: Knex | Knex.Transaction, meta: RequestMeta, event: AuditEvent): Promise<void> {
  await db('audit_log').insert(auditRow(meta, event));
}

/** Appends several entries of one request in one statement (a list read touching many patients). */
export async function recordAudits(db: Knex | Knex.Transaction, meta: RequestMeta, events: AuditEvent[]): Promise<void> {
  if (events.length > 0) await db('audit_log').insert(events.map((event) => auditRow(meta, event)));
}
