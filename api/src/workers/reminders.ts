import type { Knex } from 'knex';
import type { Config } from '../../../common/config.js';
import { formatInZone } from '../availability/intervals.js';
import { notify } from '../notifications/service.js';
import { appointmentMessage, AUTOMATIC_REASONS } from '../notifications/messages.js';
import { createSealer, sealedText } from '../../../common/sealer.js';

/** Who and where, for the messages (the queries join patient p, doctor d and hospital h). */
interface Names {
  patient_name: string;
  doctor_name: string;
  hospital_name: string;
}
const names = (trx: Knex.Transaction) => [
  trx.raw(`p.first_name || ' ' || p.last_name as patient_name`),
  trx.raw(`d.first_name || ' ' || d.last_name as doctor_name`),
  'h.name as hospital_name',
];
const facts = (a: Names & { starts_at: Date; timezone: string | null }) => ({
  patientName: a.patient_name,
  doctorName: a.doctor_name,
  hospitalName: a.hospital_name,
  startsAt: a.starts_at.getTime(),
  zone: a.timezone ?? 'UTC',
});

/**
 * Sends the reminder of every validated appointment starting within the configured lead time, exactly
 * once: rows are claimed with FOR UPDATE SKIP LOCKED and marked in the same transaction as their
 * notifications, so concurrent processes and restarts never send one twice or drop one.
 */
export async function runReminderTick(db: Knex, config: Pick<Config, 'scheduler' | 'smtp'>, batch = 100): Promise<number> {
  return db.transaction(async (trx) => {
    const due: ({ id: string; patient_id: string; doctor_id: string; starts_at: Date; timezone: string | null } & Names)[] = await trx(
      'appointments as a',
    )
      .leftJoin('doctor_availability as av', 'av.doctor_id', 'a.doctor_id')
      // Never for a doctor, patient or hospital that left (their appointments are cancelled then; this
      // also covers one deactivated while the reminder was due).
      .join('users as d', 'd.id', 'a.doctor_id')
      .join('users as p', 'p.id', 'a.patient_id')
      .join('hospitals as h', 'h.id', 'a.hospital_id')
      .where({ 'd.is_active': true, 'p.is_active': true, 'h.is_active': true })
      .whereNull('d.deleted_at')
      .whereNull('p.deleted_at')
      .whereNull('h.deleted_at')
      .where('a.status', 'validated')
      .whereNull('a.reminder_sent_at')
      .where('a.starts_at', '>', trx.fn.now())
      .where('a.starts_at', '<=', trx.raw(`now() + make_interval(secs => ?)`, [config.scheduler.reminderHoursBefore * 3600]))
      .orderBy('a.starts_at')
      .limit(batch)
      .forUpdate('a')
      .skipLocked()
      .select('a.id', 'a.patient_id', 'a.doctor_id', 'a.starts_at', 'av.timezone', ...names(trx));
    for (const a of due) {
      await trx('appointments').where({ id: a.id }).update({ reminder_sent_at: trx.fn.now() });
      const when = formatInZone(a.starts_at.getTime(), a.timezone ?? 'UTC');
      await notify(trx, config, [a.patient_id, a.doctor_id], (locale) => ({
        type: 'appointment.reminder',
        ...appointmentMessage('reminder', facts(a), locale),
        data: { appointmentId: a.id, startsAt: when },
      }));
    }
    return due.length;
  });
}

/**
 * Requests nobody validated before their start are closed as cancelled ("not validated in time") and
 * the patient told, so a stale request never lingers as if it could still happen. Exactly once, as above.
 */
export async function runExpiryTick(db: Knex, config: Pick<Config, 'encryption' | 'smtp'>, batch = 100): Promise<number> {
  return db.transaction(async (trx) => {
    const stale: ({ id: string; patient_id: string; starts_at: Date; timezone: string | null } & Names)[] = await trx('appointments as a')
      .leftJoin('doctor_availability as av', 'av.doctor_id', 'a.doctor_id')
      .join('users as p', 'p.id', 'a.patient_id')
      .join('users as d', 'd.id', 'a.doctor_id')
      .join('hospitals as h', 'h.id', 'a.hospital_id')
      .where('a.status', 'requested')
      .where('a.starts_at', '<=', trx.fn.now())
      .orderBy('a.starts_at')
      .limit(batch)
      .forUpdate('a')
      .skipLocked()
      .select('a.id', 'a.patient_id', 'a.starts_at', 'av.timezone', ...names(trx));
    const { seal } = sealedText(createSealer(config.encryption));
    for (const a of stale) {
      await trx('appointments')
        .where({ id: a.id })
        .update({
          status: 'cancelled',
          status_reason: seal(AUTOMATIC_REASONS.expired.en, a.id, 'status_reason'),
          status_changed_at: trx.fn.now(),
          updated_at: trx.fn.now(),
        });
      const when = formatInZone(a.starts_at.getTime(), a.timezone ?? 'UTC');
      await notify(trx, config, [a.patient_id], (locale) => ({
        type: 'appointment.cancelled',
        ...appointmentMessage('expired', facts(a), locale),
        data: { appointmentId: a.id, status: 'cancelled', startsAt: when, reason: AUTOMATIC_REASONS.expired[locale] },
      }));
    }
    return stale.length;
  });
}
