import type { Knex } from 'knex';
import { preparedQuery } from './db.js';
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
  | 'dicom.push_refused'
  | 'dicom.association_refused'
  | 'dicom.association_ended'
  | 'modality.created'
  | 'modality.updated'
  | 'modality.deleted';

/** One audit entry: who (actor), what (action), on what (target), from which request. */
export interface AuditEvent {
  actor: Pick<Principal, 'userId' | 'role'> | null;
  action: AuditAction;
  targetType?:
    | 'user'
    | 'hospital'
    | 'session'
    | 'patient'
    | 'appointment'
    | 'medical_record'
    | 'dicom_study'
    | 'dicom_series'
    | 'dicom_report'
    | 'viewer_session'
    | 'modality';
  /** The patient whose data the event touches (drives the patient's access log). */
  patientId?: string | null;
  /** The patients a list read showed (one entry for the page): each sees it in its access log. */
  patientIds?: readonly string[] | null;
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
  // As an array literal: the appender passes every column as an array, and PostgreSQL has no array of arrays.
  patient_ids: event.patientIds?.length ? `{${event.patientIds.join(',')}}` : null,
  request_id: meta.requestId,
  ip: meta.ip,
  details: JSON.stringify(event.details ?? {}),
});

/** Appends an audit entry; pass the transaction of the change so both land or neither does. */
export async function recordAudit(db: Knex | Knex.Transaction, meta: RequestMeta, event: AuditEvent): Promise<void> {
  await recordAudits(db, meta, [event]);
}

/**
 * Appends several entries of one request (a list read touching many patients). Inside a transaction they
 * are part of it; outside one, they are committed before this resolves, together with the entries other
 * requests of the process appended meanwhile ({@link AuditAppender}).
 */
export async function recordAudits(db: Knex | Knex.Transaction, meta: RequestMeta, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  if ((db as Partial<Knex.Transaction>).isTransaction) await db('audit_log').insert(events.map((event) => auditRow(meta, event)));
  else await appenderOf(db).append(meta, events);
}

/**
 * Audits a list read: one entry for the page, naming every patient whose rows it showed (`patient_ids`, which the
 * patient's access log reads) and what it showed under `detailsKey`. Nothing shown, nothing written.
 */
export async function recordListRead(
  db: Knex,
  meta: RequestMeta,
  actor: AuditEvent['actor'],
  action: AuditAction,
  rows: readonly { id: string; patient_id: string }[],
  detailsKey: string,
): Promise<void> {
  if (rows.length === 0) return;
  const patientIds = [...new Set(rows.map((row) => row.patient_id))];
  await recordAudits(db, meta, [
    {
      actor,
      action,
      targetType: 'patient',
      // One patient: the entry is that patient's, as a single read's is.
      targetId: patientIds.length === 1 ? patientIds[0] : null,
      patientId: patientIds.length === 1 ? patientIds[0] : null,
      patientIds: patientIds.length === 1 ? null : patientIds,
      details: { [detailsKey]: rows.map((row) => row.id) },
    },
  ]);
}

type AuditRow = ReturnType<typeof auditRow>;
// The appender's columns and their types (one array per column).
const COLUMN_TYPES: Record<keyof AuditRow, string> = {
  actor_id: 'uuid',
  actor_role: 'text',
  action: 'text',
  target_type: 'text',
  target_id: 'text',
  hospital_id: 'uuid',
  patient_id: 'uuid',
  patient_ids: 'text',
  request_id: 'text',
  ip: 'text',
  details: 'jsonb',
};
const COLUMNS = Object.keys(COLUMN_TYPES) as (keyof AuditRow)[];
// One text for any number of entries, so it is prepared once per connection. `patient_ids` travels as array literals.
const APPEND_SQL = `insert into audit_log (${COLUMNS.join(', ')}) select ${COLUMNS.map((c) => (c === 'patient_ids' ? `${c}::uuid[]` : c)).join(', ')} from unnest(${COLUMNS.map((c, i) => `$${i + 1}::${COLUMN_TYPES[c]}[]`).join(', ')}) as t(${COLUMNS.join(', ')})`;
/** The most entries one statement carries. */
const MAX_BATCH = 2000;
/**
 * Statements in flight at once. One alone serialises every read behind one commit's WAL flush at a time (the
 * database sat idle while reads queued); a few let PostgreSQL group their flushes as it does for separate
 * sessions, and leave the rest of the pool to the reads themselves.
 */
const IN_FLIGHT = 4;

/**
 * Group commit for the audit entries of reads: an entry must be committed before its answer leaves, and a
 * statement and a commit per request cost the database more than the read itself (a page of studies audits
 * up to 20 patients). A few statements are in flight at a time ({@link IN_FLIGHT}); what requests append
 * meanwhile goes in the next one. A failing statement is retried request by request, so one bad entry fails its own request only.
 */
export class AuditAppender {
  private queue: { rows: AuditRow[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = 0;
  /** Statements and entries written so far (for tests and metrics). */
  readonly stats = { statements: 0, entries: 0 };

  constructor(private readonly db: Knex) {}

  /** Resolves once the entries are committed, rejects with the database's error if they are not. */
  append(meta: RequestMeta, events: AuditEvent[]): Promise<void> {
    const rows = events.map((event) => auditRow(meta, event));
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      if (this.running < IN_FLIGHT) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running++;
    try {
      while (this.queue.length > 0) {
        let take = 0;
        for (let count = 0; take < this.queue.length && (take === 0 || count + this.queue[take]!.rows.length <= MAX_BATCH); take++)
          count += this.queue[take]!.rows.length;
        const batch = this.queue.splice(0, take);
        try {
          await this.write(batch.flatMap((p) => p.rows));
          for (const p of batch) p.resolve();
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else
            for (const p of batch)
              await this.write(p.rows).then(
                () => p.resolve(),
                (e: unknown) => p.reject(e),
              );
        }
      }
    } finally {
      this.running--;
    }
  }

  private async write(rows: AuditRow[]): Promise<void> {
    await preparedQuery(
      this.db,
      APPEND_SQL,
      COLUMNS.map((column) => rows.map((row) => row[column])),
    );
    this.stats.statements++;
    this.stats.entries += rows.length;
  }
}

const appenders = new WeakMap<Knex, AuditAppender>();

/** The process's appender for a connection pool. */
function appenderOf(db: Knex): AuditAppender {
  let appender = appenders.get(db);
  if (!appender) appenders.set(db, (appender = new AuditAppender(db)));
  return appender;
}
