// Cancelling the appointments of a party that leaves: an operation of several resources (accounts, hospitals,
// patients' links) written once, as Outline keeps its cross-resource operations in commands/.
import type { Knex } from 'knex';
import { recordAudit } from '../../../common/audit.js';
import type { Config } from '../../../common/config.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { createSealer, sealedText } from '../../../common/sealer.js';
import { doctorConcerned, secretariesOf, type AppointmentRow } from '../appointments/repository.js';
import { formatInZone } from '../availability/intervals.js';
import type { Auth } from '../auth/types.js';
import { appointmentMessage, type LocalizedText } from '../notifications/messages.js';
import { notify } from '../notifications/service.js';

/**
 * Whose appointments end because that party left: a doctor, a patient, every doctor of a hospital, or a doctor
 * for one patient only (the link between them removed).
 */
export type LeavingParty =
  { doctorId: string } | { patientId: string } | { hospitalId: string } | { link: { doctorId: string; patientId: string } };

/**
 * Cancels the future requested and validated appointments of a party that is deactivated or deleted,
 * with `reason`, in the caller's transaction; the patient, the hospital's secretaries and (when linked or
 * validated) the doctor are notified, and each cancellation is audited. Reactivation restores none.
 */
export async function cancelAppointmentsOf(
  trx: Knex.Transaction,
  config: Pick<Config, 'encryption' | 'smtp'>,
  party: LeavingParty,
  reason: LocalizedText,
  auth: Auth,
  meta: RequestMeta,
): Promise<number> {
  const { seal } = sealedText(createSealer(config.encryption));
  const rows: (Pick<
    AppointmentRow,
    'id' | 'patient_id' | 'doctor_id' | 'hospital_id' | 'status' | 'starts_at' | 'timezone' | 'hospital_name'
  > & { patient_name: string; doctor_name: string })[] = await trx('appointments as a')
    .leftJoin('doctor_availability as av', 'av.doctor_id', 'a.doctor_id')
    .join('users as pu', 'pu.id', 'a.patient_id')
    .join('users as du', 'du.id', 'a.doctor_id')
    .join('hospitals as h', 'h.id', 'a.hospital_id')
    .whereIn('a.status', ['requested', 'validated'])
    .where('a.starts_at', '>', trx.fn.now())
    .where((w) => {
      if ('link' in party) w.where({ 'a.doctor_id': party.link.doctorId, 'a.patient_id': party.link.patientId });
      else if ('doctorId' in party) w.where('a.doctor_id', party.doctorId);
      else if ('patientId' in party) w.where('a.patient_id', party.patientId);
      else w.where('a.hospital_id', party.hospitalId);
    })
    .forUpdate('a')
    .select(
      'a.id',
      'a.patient_id',
      'a.doctor_id',
      'a.hospital_id',
      'a.status',
      'a.starts_at',
      'av.timezone',
      'h.name as hospital_name',
      trx.raw(`pu.first_name || ' ' || pu.last_name as patient_name`),
      trx.raw(`du.first_name || ' ' || du.last_name as doctor_name`),
    );
  for (const row of rows) {
    await trx('appointments')
      .where({ id: row.id })
      .update({
        status: 'cancelled',
        status_reason: seal(reason.en, row.id, 'status_reason'),
        status_changed_by: auth.userId,
        status_changed_at: trx.fn.now(),
        updated_at: trx.fn.now(),
      });
    await recordAudit(trx, meta, {
      actor: auth,
      action: 'appointment.cancelled',
      targetType: 'appointment',
      targetId: row.id,
      hospitalId: row.hospital_id,
      details: { patientId: row.patient_id, doctorId: row.doctor_id, from: row.status, automatic: true },
    });
    const recipients = [row.patient_id, ...(await secretariesOf(trx, row.hospital_id))];
    if (await doctorConcerned(trx, row, row.status === 'validated')) recipients.push(row.doctor_id);
    const when = formatInZone(row.starts_at.getTime(), row.timezone ?? 'UTC');
    await notify(
      trx,
      config,
      // Nobody is told about what they can no longer see: the party that left, or the unlinked doctor.
      recipients.filter(
        (id) =>
          id !== auth.userId &&
          !('doctorId' in party && id === party.doctorId) &&
          !('patientId' in party && id === party.patientId) &&
          !('link' in party && id === party.link.doctorId),
      ),
      (locale) => ({
        type: 'appointment.cancelled',
        ...appointmentMessage(
          'cancelled',
          {
            patientName: row.patient_name,
            doctorName: row.doctor_name,
            hospitalName: row.hospital_name,
            startsAt: row.starts_at.getTime(),
            zone: row.timezone ?? 'UTC',
            reason: reason[locale],
          },
          locale,
        ),
        data: { appointmentId: row.id, status: 'cancelled', startsAt: when, reason: reason[locale] },
      }),
    );
  }
  return rows.length;
}
