import type { Knex } from 'knex';
import type { Config } from '../../../common/config.js';
import { formatInZone } from '../availability/intervals.js';
import { notify } from '../notifications/service.js';

/**
 * Sends the reminder of every validated appointment starting within the configured lead time, exactly
 * once: rows are claimed with FOR UPDATE SKIP LOCKED and marked in the same transaction as their
 * notifications, so concurrent processes and restarts never send one twice or drop one.
 */
export async function runReminderTick(db: Knex, config: Pick<Config, 'scheduler' | 'smtp'>, batch = 100): Promise<number> {
  return db.transaction(async (trx) => {
    const due: { id: string; patient_id: string; doctor_id: string; starts_at: Date; timezone: string | null }[] = await trx('appointments as a')
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
      .select('a.id', 'a.patient_id', 'a.doctor_id', 'a.starts_at', 'av.timezone');
    for (const a of due) {
      await trx('appointments').where({ id: a.id }).update({ reminder_sent_at: trx.fn.now() });
      const when = formatInZone(a.starts_at.getTime(), a.timezone ?? 'UTC');
      await notify(trx, config, [a.patient_id, a.doctor_id], {
        type: 'appointment.reminder',
        title: 'Appointment reminder',
        body: `Reminder: appointment of ${when}.`,
        data: { appointmentId: a.id, startsAt: when },
      });
    }
    return due.length;
  });
}
