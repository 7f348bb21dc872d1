import { principalWrite } from '../../../common/principal-cache.js';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit } from '../../../common/audit.js';
import { removeLinksOfPatient } from '../../../common/access.js';
import { removeStudiesOfPatient } from '../dicom/repository.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import type { OrthancClient } from '../../../common/orthanc.js';

/** What an erasure removed, for the operator's record. */
export interface ErasureReport {
  patientId: string;
  identifier: string;
  orthancPatients: number;
  studies: number;
  recordEntries: number;
  appointments: number;
  notifications: number;
  /** Login sessions closed and stripped of their address and browser, with their refresh tokens deleted. */
  sessions: number;
  objectsLeft: number;
}

/**
 * Erases one patient's data on request (right to erasure): its images in Orthanc (which removes every object
 * under `patients/{identifier}/` through the storage plugin), its studies, reports, record entries and their
 * versions, appointments, links, shares, viewer sessions and the notifications about it (anyone's); the
 * account itself is anonymised and closed, because the append-only audit trail still names its id (never its
 * content). Audited as `patient.erased`. Irreversible: the caller confirms with the patient's identifier.
 */
export async function erasePatient(
  db: Knex,
  orthanc: OrthancClient,
  patientId: string,
  confirmIdentifier: string,
  meta: RequestMeta,
): Promise<ErasureReport> {
  const patient = await db('patients as p')
    .join('users as u', 'u.id', 'p.user_id')
    .where({ 'p.user_id': patientId })
    .first('p.identifier', 'u.email');
  if (!patient) throw new Error(`No patient ${patientId}`);
  if (patient.identifier !== confirmIdentifier)
    throw new Error('The confirmation does not match the patient’s identifier: nothing was erased');

  // Images first: Orthanc deletes its resources and, through the storage plugin, their objects and keys.
  const found = await orthanc.fetch('/tools/find', {
    method: 'POST',
    body: JSON.stringify({ Level: 'Patient', Query: { PatientID: patient.identifier }, Expand: false }),
  });
  if (!found.ok) throw new Error(`Orthanc /tools/find answered ${found.status}`);
  const orthancPatients = (await found.json()) as string[];
  for (const id of orthancPatients) {
    const res = await orthanc.fetch(`/patients/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new Error(`Orthanc could not delete patient ${id}: ${res.status}`);
  }

  return db.transaction(async (trx) => {
    // The record history is append-only but for this transaction (see the migration erasure_may_delete_history).
    await trx.raw(`select set_config('mediconnect.erasure', 'on', true)`);
    const appointmentIds = trx('appointments').where({ patient_id: patientId }).select('id');
    const notes = trx('notifications')
      .where({ user_id: patientId })
      .orWhereRaw(`data->>'patientId' = ?`, [patientId])
      .orWhereIn(
        trx.raw(`(data->>'appointmentId')`) as unknown as string,
        trx('appointments').where({ patient_id: patientId }).select(trx.raw('id::text')),
      );
    const noteIds = (await notes.clone().select('id')).map((n: { id: string }) => n.id);
    await trx('email_outbox').whereIn('notification_id', noteIds).delete();
    const notifications = await trx('notifications').whereIn('id', noteIds).delete();
    const entries = trx('medical_record_entries').where({ patient_id: patientId }).select('id');
    await trx('medical_record_versions').whereIn('entry_id', entries).delete();
    const recordEntries = await trx('medical_record_entries').where({ patient_id: patientId }).delete();
    await principalWrite(trx, 'study_shares').where({ patient_id: patientId }).delete();
    await trx('dicom_reports').where({ patient_id: patientId }).delete();
    const studies = await removeStudiesOfPatient(trx, patientId);
    const appointments = await trx('appointments').whereIn('id', appointmentIds).delete();
    await removeLinksOfPatient(trx, patientId);
    await principalWrite(trx, 'viewer_sessions').where({ user_id: patientId }).delete();
    // Its logins: where from and with what browser (kept closed rows, since the audit trail names their ids).
    await trx('refresh_tokens')
      .whereIn('session_id', trx('sessions').where({ user_id: patientId }).select('id'))
      .delete();
    const sessions = await principalWrite(trx, 'sessions')
      .where({ user_id: patientId })
      .update({ revoked_at: trx.fn.now(), revoked_reason: 'erased', ip: null, user_agent: null });
    if (patient.email) {
      // Failed logins counted under its address, and mail to it still waiting (not tied to a notification).
      await trx('login_failures')
        .where({ kind: 'account', key: String(patient.email).toLowerCase() })
        .delete();
      await trx('email_outbox').whereRaw('lower(to_address) = lower(?)', [patient.email]).delete();
    }
    await principalWrite(trx, 'users')
      .where({ id: patientId })
      .update({
        email: `erased-${patientId}@erased.invalid`,
        first_name: 'Erased',
        last_name: 'Patient',
        phone: null,
        locale: null,
        is_active: false,
        deleted_at: trx.fn.now(),
        password_hash: `erased:${randomBytes(16).toString('hex')}`,
        updated_at: trx.fn.now(),
      });
    await trx('patients').where({ user_id: patientId }).update({ birth_date: '1900-01-01', sex: 'unknown' });
    const [{ n }] = (await trx('orthanc_storage_keys')
      .where('object_key', 'like', `patients/${patient.identifier}/%`)
      .count({ n: '*' })) as [{ n: string }];
    await recordAudit(trx, meta, {
      actor: null,
      action: 'patient.erased',
      targetType: 'patient',
      targetId: patientId,
      patientId,
      details: { by: 'operator command', orthancPatients: orthancPatients.length, studies, recordEntries, notifications },
    });
    return {
      patientId,
      identifier: patient.identifier,
      orthancPatients: orthancPatients.length,
      studies,
      recordEntries,
      appointments,
      notifications,
      sessions,
      objectsLeft: Number(n),
    };
  });
}
