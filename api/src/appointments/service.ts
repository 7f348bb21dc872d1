import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit, type AuditAction } from '../../../common/audit.js';
import type { Auth } from '../auth/types.js';
import { busyIntervals, findBookableDoctor, loadAvailability } from '../availability/service.js';
import { formatInZone, isCovered, openIntervals } from '../availability/intervals.js';
import type { Deps } from '../deps.js';
import { badRequest, conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { notify } from '../notifications/service.js';
import { appointmentMessage } from '../notifications/messages.js';
import { ensureLink } from '../../../common/access.js';
import { createSealer, sealedText } from '../../../common/sealer.js';
import * as repo from './repository.js';
import { retryOnConflict } from '../../../common/retry.js';
import type { GuardedWrite } from '../http/representation.js';
import { doctorConcerned } from './repository.js';
import { matchesWords, searchWords } from '../../../common/search.js';
import type { AppointmentListQuery, AppointmentStatus } from './schemas.js';

const MINUTE = 60_000;

/** A start must be a whole minute, in the future, and within the booking horizon. */
function assertBookableTime(startsAt: number, horizonDays: number): void {
  if (startsAt % MINUTE !== 0) throw badRequest('Appointments start on a whole minute', [{ field: 'startsAt', message: 'No seconds' }]);
  if (startsAt <= Date.now())
    throw badRequest('The appointment must start in the future', [{ field: 'startsAt', message: 'Must be in the future' }]);
  if (startsAt > Date.now() + horizonDays * 86_400_000) {
    throw badRequest(
      `Appointments are booked at most ${horizonDays} days ahead`,
      [{ field: 'startsAt', message: `Within ${horizonDays} days` }],
      'BEYOND_HORIZON',
    );
  }
}

/** Both parties must be live and active (the doctor's hospital too), as for a direct link. */
async function assertPartiesActive(trx: Knex | Knex.Transaction, doctorId: string, patientId: string): Promise<void> {
  if (!(await findBookableDoctor(trx, doctorId))) {
    throw badRequest(
      'The doctor is not active',
      [{ field: 'doctorId', message: 'Not an active doctor of an active hospital' }],
      'INVALID_DOCTOR',
    );
  }
  const patient = await trx('users').where({ id: patientId, role: 'patient', is_active: true }).whereNull('deleted_at').first('id');
  if (!patient)
    throw badRequest('The patient is not active', [{ field: 'patientId', message: 'Not an active patient' }], 'INVALID_PATIENT');
}

/** Appointment workflow: request → validate (creates the patient–doctor link) → complete / no-show, or cancel. */
export function createAppointmentService({ db, config, logger }: Deps) {
  // Two secretaries validating overlapping requests, a request racing a validation: PostgreSQL may pick one of our
  // transactions as a deadlock victim. That is ours to retry (the loser then meets SLOT_TAKEN), never the client's.
  const inTransaction = <T>(what: string, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
    retryOnConflict(() => db.transaction(work), what, logger);
  // Reasons are free text a patient writes about its health: encrypted at rest like record entries,
  // each bound to its appointment and field. Values written before encryption read as they are.
  const { seal, open } = sealedText(createSealer(config.encryption));
  const readable = (row: repo.AppointmentRow): repo.AppointmentRow => ({
    ...row,
    reason: open(row.reason, row.id, 'reason') ?? '',
    status_reason: open(row.status_reason, row.id, 'status_reason'),
  });

  async function mustFind(trx: Knex | Knex.Transaction, auth: Auth, id: string, forUpdate = false): Promise<repo.AppointmentRow> {
    const row = await repo.findAppointment(trx, auth, id, forUpdate);
    if (!row) throw notFound('Appointment');
    return readable(row);
  }

  /** The slot must lie in the doctor's opening hours and not overlap a validated appointment. */
  async function assertBookable(
    trx: Knex | Knex.Transaction,
    doctorId: string,
    start: number,
    end: number,
    ignoreId?: string,
  ): Promise<void> {
    const availability = await loadAvailability(trx, doctorId);
    if (!availability || !isCovered(openIntervals(availability, start, end), start, end)) {
      throw conflict('OUTSIDE_AVAILABILITY', 'The doctor is not available at that time; see GET /api/doctors/{id}/availability');
    }
    if ((await busyIntervals(trx, doctorId, start, end, ignoreId)).length > 0) {
      throw conflict('SLOT_TAKEN', 'The doctor already has a validated appointment at that time');
    }
  }

  /** Notifies everyone concerned but the actor; the doctor once the patient is linked to it, or the appointment was validated. */
  async function announce(
    trx: Knex.Transaction,
    auth: Auth,
    row: repo.AppointmentRow,
    event: AppointmentStatus | 'rescheduled',
    startsAt: Date,
  ): Promise<void> {
    const status = event === 'rescheduled' ? row.status : event;
    const recipients = [row.patient_id, ...(await repo.secretariesOf(trx, row.hospital_id))];
    const validated = (status !== 'requested' && status !== 'cancelled') || (status === 'cancelled' && row.status === 'validated');
    if (await doctorConcerned(trx, row, validated)) recipients.push(row.doctor_id);
    const when = formatInZone(startsAt.getTime(), row.timezone ?? 'UTC');
    await notify(
      trx,
      config,
      recipients.filter((id) => id !== auth.userId),
      (locale) => ({
        type: `appointment.${event}`,
        ...appointmentMessage(
          event,
          {
            patientName: `${row.patient_first_name} ${row.patient_last_name}`,
            doctorName: `${row.doctor_first_name} ${row.doctor_last_name}`,
            hospitalName: row.hospital_name,
            startsAt: startsAt.getTime(),
            zone: row.timezone ?? 'UTC',
            ...(event === 'rescheduled' ? { previousStartsAt: row.starts_at.getTime() } : {}),
          },
          locale,
        ),
        data: {
          appointmentId: row.id,
          status,
          startsAt: when,
          ...(event === 'rescheduled' ? { previousStartsAt: formatInZone(row.starts_at.getTime(), row.timezone ?? 'UTC') } : {}),
        },
      }),
    );
  }

  async function setStatus(
    trx: Knex.Transaction,
    auth: Auth,
    row: repo.AppointmentRow,
    to: AppointmentStatus,
    meta: RequestMeta,
    reason: string | null = null,
  ): Promise<void> {
    await trx('appointments')
      .where({ id: row.id })
      .update({
        status: to,
        status_reason: reason === null ? null : seal(reason, row.id, 'status_reason'),
        status_changed_by: auth.userId,
        status_changed_at: trx.fn.now(),
        updated_at: trx.fn.now(),
      });
    await recordAudit(trx, meta, {
      actor: auth,
      action: `appointment.${to}` as AuditAction,
      targetType: 'appointment',
      targetId: row.id,
      hospitalId: row.hospital_id,
      details: { patientId: row.patient_id, doctorId: row.doctor_id, from: row.status },
    });
    // A reason someone typed may be clinical: it stays encrypted with the appointment, out of notifications and e-mails.
    await announce(trx, auth, row, to, row.starts_at);
  }

  const requireStatus = (row: repo.AppointmentRow, allowed: AppointmentStatus[], action: string) => {
    if (!allowed.includes(row.status)) {
      throw conflict('INVALID_STATUS', `A ${row.status} appointment cannot be ${action}`, [
        { field: 'status', message: `Must be ${allowed.join(' or ')}` },
      ]);
    }
  };

  return {
    async list(auth: Auth, query: AppointmentListQuery) {
      // Reasons are encrypted: `q` matches the decrypted reason and the names, within the caller's scope (bounded).
      const needle = query.q ? searchWords(query.q) : null;
      const matches = needle
        ? (row: repo.AppointmentRow) =>
            matchesWords(
              [readable(row).reason, row.patient_first_name, row.patient_last_name, row.doctor_first_name, row.doctor_last_name].join('\n'),
              needle,
            )
        : undefined;
      const page = await repo.listAppointments(db, auth, query, matches);
      return { ...page, items: page.items.map(readable) };
    },
    get: (auth: Auth, id: string) => mustFind(db, auth, id),

    /** A patient asks any doctor of any hospital for an appointment; no link exists until validation. */
    async request(auth: Auth, input: { doctorId: string; startsAt: string; durationMinutes: number; reason: string }, meta: RequestMeta) {
      const doctor = await findBookableDoctor(db, input.doctorId);
      if (!doctor)
        throw badRequest(
          'The doctor is not active',
          [{ field: 'doctorId', message: 'Not an active doctor of an active hospital' }],
          'INVALID_DOCTOR',
        );
      const start = Date.parse(input.startsAt);
      const end = start + input.durationMinutes * MINUTE;
      assertBookableTime(start, config.appointments.horizonDays);
      const id = await inTransaction('request an appointment', async (trx) => {
        await assertPartiesActive(trx, doctor.id, auth.userId);
        // The same request twice (a double click, a retry) is one appointment: the second is refused, naming it.
        const same = await trx('appointments')
          .where({ patient_id: auth.userId, doctor_id: doctor.id, starts_at: new Date(start) })
          .whereIn('status', ['requested', 'validated'])
          .first('id');
        if (same)
          throw conflict('DUPLICATE_REQUEST', 'You already have an appointment request with this doctor at this time', [
            { field: 'startsAt', message: `Appointment ${same.id}`, value: same.id },
          ]);
        await assertBookable(trx, doctor.id, start, end);
        const newId = randomUUID();
        const [row] = await trx('appointments')
          .insert({
            id: newId,
            patient_id: auth.userId,
            doctor_id: doctor.id,
            hospital_id: doctor.hospital_id,
            starts_at: new Date(start),
            ends_at: new Date(end),
            reason: seal(input.reason, newId, 'reason'),
            requested_by: auth.userId,
          })
          .returning('id');
        const created = await mustFind(trx, auth, row.id);
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'appointment.requested',
          targetType: 'appointment',
          targetId: row.id,
          hospitalId: doctor.hospital_id,
          details: { doctorId: doctor.id },
        });
        await announce(trx, auth, created, 'requested', created.starts_at);
        return row.id as string;
      });
      return mustFind(db, auth, id);
    },

    /** A secretary of the doctor's hospital validates; the patient–doctor link is created in the same transaction. */
    async validate(auth: Auth, id: string, meta: RequestMeta) {
      await inTransaction('validate an appointment', async (trx) => {
        const row = await mustFind(trx, auth, id, true);
        requireStatus(row, ['requested'], 'validated');
        if (row.starts_at.getTime() <= Date.now()) throw conflict('APPOINTMENT_IN_PAST', 'This appointment has already started');
        await assertPartiesActive(trx, row.doctor_id, row.patient_id);
        // Hours and days off may have changed since the request.
        await assertBookable(trx, row.doctor_id, row.starts_at.getTime(), row.ends_at.getTime(), row.id);
        await setStatus(trx, auth, row, 'validated', meta);
        const linked = await ensureLink(trx, {
          patientId: row.patient_id,
          doctorId: row.doctor_id,
          source: 'appointment',
          createdBy: auth.userId,
          appointmentId: row.id,
        });
        if (linked) {
          await recordAudit(trx, meta, {
            actor: auth,
            action: 'patient.linked',
            targetType: 'patient',
            targetId: row.patient_id,
            hospitalId: row.hospital_id,
            details: { doctorId: row.doctor_id, source: 'appointment', appointmentId: row.id },
          });
        }
      });
      return mustFind(db, auth, id);
    },

    /** The hospital's secretaries cancel any open appointment; the patient its own, before it starts. */
    async cancel(auth: Auth, id: string, reason: string | null, meta: RequestMeta) {
      await inTransaction('cancel an appointment', async (trx) => {
        const row = await mustFind(trx, auth, id, true);
        requireStatus(row, ['requested', 'validated'], 'cancelled');
        // Once started, an appointment is completed or marked as missed, not cancelled.
        if (row.starts_at.getTime() <= Date.now()) throw conflict('APPOINTMENT_IN_PAST', 'This appointment has already started');
        await setStatus(trx, auth, row, 'cancelled', meta, reason);
      });
      return mustFind(db, auth, id);
    },

    /** The patient moves its request while it is `requested`; a secretary any open appointment before it starts. */
    async reschedule(
      auth: Auth,
      id: string,
      write: GuardedWrite<{ startsAt: string; durationMinutes?: number; reason?: string }>,
      meta: RequestMeta,
    ) {
      const unchanged = await inTransaction('reschedule an appointment', async (trx) => {
        const row = await mustFind(trx, auth, id, true);
        const checked = write.against(repo.toAppointmentDto(row));
        if (checked.unchanged) return row;
        const input = checked.body;
        requireStatus(row, auth.role === 'patient' ? ['requested'] : ['requested', 'validated'], 'rescheduled');
        if (row.starts_at.getTime() <= Date.now()) throw conflict('APPOINTMENT_IN_PAST', 'This appointment has already started');
        const start = Date.parse(input.startsAt);
        const duration = input.durationMinutes ?? Math.round((row.ends_at.getTime() - row.starts_at.getTime()) / MINUTE);
        const end = start + duration * MINUTE;
        assertBookableTime(start, config.appointments.horizonDays);
        await assertPartiesActive(trx, row.doctor_id, row.patient_id);
        await assertBookable(trx, row.doctor_id, start, end, row.id);
        // A moved appointment deserves a new reminder.
        await trx('appointments')
          .where({ id })
          .update({
            starts_at: new Date(start),
            ends_at: new Date(end),
            ...(input.reason !== undefined ? { reason: seal(input.reason, id, 'reason') } : {}),
            reminder_sent_at: null,
            updated_at: trx.fn.now(),
          });
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'appointment.rescheduled',
          targetType: 'appointment',
          targetId: id,
          hospitalId: row.hospital_id,
          details: { from: row.starts_at.toISOString(), to: new Date(start).toISOString() },
        });
        await announce(trx, auth, row, 'rescheduled', new Date(start));
        return null;
      });
      return unchanged ?? mustFind(db, auth, id);
    },

    /** The doctor or a secretary closes a validated appointment once it has started. */
    async close(auth: Auth, id: string, to: 'completed' | 'no_show', meta: RequestMeta) {
      await inTransaction('close an appointment', async (trx) => {
        const row = await mustFind(trx, auth, id, true);
        requireStatus(row, ['validated'], to === 'completed' ? 'completed' : 'marked as missed');
        if (row.starts_at.getTime() > Date.now()) throw conflict('NOT_STARTED', 'The appointment has not started yet');
        await setStatus(trx, auth, row, to, meta);
      });
      return mustFind(db, auth, id);
    },
  };
}
