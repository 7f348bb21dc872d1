import type { Knex } from 'knex';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { recordAudit } from '../../../common/audit.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import type { GuardedWrite } from '../http/representation.js';
import { badRequest, notFound } from '../../../common/http/errors.js';
import {
  formatInZone,
  MAX_SLOT_WINDOW_DAYS,
  openIntervals,
  slotWindow,
  subtractIntervals,
  type Availability,
  type Interval,
} from './intervals.js';

interface DoctorRow {
  id: string;
  hospital_id: string;
}

/** A live, active doctor of an active hospital: the doctors patients can book. */
export async function findBookableDoctor(db: Knex | Knex.Transaction, doctorId: string): Promise<DoctorRow | undefined> {
  return db('users as u')
    .join('hospitals as h', 'h.id', 'u.hospital_id')
    .where({ 'u.id': doctorId, 'u.role': 'doctor', 'u.is_active': true, 'h.is_active': true })
    .whereNull('u.deleted_at')
    .whereNull('h.deleted_at')
    .first('u.id', 'u.hospital_id');
}

/** The declared availability, or null when none was set. */
export async function loadAvailability(db: Knex | Knex.Transaction, doctorId: string): Promise<Availability | null> {
  const row = await db('doctor_availability').where({ doctor_id: doctorId }).first();
  return row ? { timezone: row.timezone, weekly: row.weekly, exceptions: row.exceptions } : null;
}

/** Validated appointments of the doctor overlapping the window, optionally ignoring one appointment. */
export async function busyIntervals(
  db: Knex | Knex.Transaction,
  doctorId: string,
  from: number,
  to: number,
  ignoreId?: string,
): Promise<Interval[]> {
  const query = db('appointments')
    .where({ doctor_id: doctorId, status: 'validated' })
    .where('starts_at', '<', new Date(to))
    .where('ends_at', '>', new Date(from))
    .select('starts_at', 'ends_at');
  if (ignoreId) query.whereNot('id', ignoreId);
  const rows: { starts_at: Date; ends_at: Date }[] = await query;
  return rows.map((r) => ({ start: r.starts_at.getTime(), end: r.ends_at.getTime() }));
}

/** Availability use cases: set by the doctor or its hospital's secretaries, read by everyone logged in. */
/**
 * A bookable doctor's stored hours and exceptions as GET shows them (exceptions in the doctor's zone), without the
 * window and its free slots, which depend on the time of reading; 404 for anyone else. `raw`: the exceptions stored.
 */
async function storedRepresentation(db: Knex | Knex.Transaction, doctorId: string) {
  if (!(await findBookableDoctor(db, doctorId))) throw notFound('Doctor');
  const stored = await loadAvailability(db, doctorId);
  const availability = stored ?? { timezone: 'UTC', weekly: [], exceptions: [] };
  const zone = availability.timezone;
  return {
    doctorId,
    configured: stored !== null,
    timezone: zone,
    weekly: availability.weekly,
    exceptions: availability.exceptions.map((e) => ({
      from: formatInZone(Date.parse(e.from), zone),
      to: formatInZone(Date.parse(e.to), zone),
      reason: e.reason ?? null,
    })),
    raw: availability.exceptions,
  };
}

export function createAvailabilityService({ db }: Deps) {
  return {
    /** `write` is checked against the stored hours and exceptions (the free slots are volatile, never compared). */
    async set(auth: Auth, doctorId: string, write: GuardedWrite<Availability>, meta: RequestMeta) {
      await db.transaction(async (trx) => {
        const doctor = await trx('users').where({ id: doctorId, role: 'doctor' }).whereNull('deleted_at').first('id', 'hospital_id');
        // A doctor edits only its own hours; a secretary those of its hospital's doctors.
        const inScope = doctor && (auth.role === 'doctor' ? doctor.id === auth.userId : doctor.hospital_id === auth.hospitalId);
        if (!inScope) throw notFound('Doctor');
        // One writer of a doctor's hours at a time (the row may not exist yet, so it cannot be the lock).
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`availability:${doctorId}`]);
        const { raw: _raw, ...current } = await storedRepresentation(trx, doctorId);
        const checked = write.against(current);
        if (!checked.unchanged) await save(trx, doctor, checked.body);
      });
      return this.get(doctorId, {});

      async function save(trx: Knex.Transaction, doctor: { hospital_id: string }, availability: Availability): Promise<void> {
        await trx('doctor_availability')
          .insert({
            doctor_id: doctorId,
            timezone: availability.timezone,
            weekly: JSON.stringify(availability.weekly),
            exceptions: JSON.stringify(
              availability.exceptions.map((e) => ({
                from: new Date(e.from).toISOString(),
                to: new Date(e.to).toISOString(),
                reason: e.reason ?? null,
              })),
            ),
            updated_by: auth.userId,
            updated_at: trx.fn.now(),
          })
          .onConflict('doctor_id')
          .merge();
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'availability.updated',
          targetType: 'user',
          targetId: doctorId,
          hospitalId: doctor.hospital_id,
        });
      }
    },

    async get(doctorId: string, window: { from?: string; to?: string }) {
      const stored = await storedRepresentation(db, doctorId);
      const availability = { timezone: stored.timezone, weekly: stored.weekly, exceptions: stored.raw };
      const bounds = slotWindow(window, Date.now());
      if (bounds === 'EMPTY') {
        throw badRequest('`to` is not after `from`', [{ field: 'to', message: 'Must be after from (default: now)' }]);
      }
      if (bounds === 'TOO_LONG') {
        throw badRequest(`The slot window is at most ${MAX_SLOT_WINDOW_DAYS} days`, [
          { field: 'to', message: `At most ${MAX_SLOT_WINDOW_DAYS} days after from (default: now)` },
        ]);
      }
      const { from, to, offeredFrom } = bounds;
      const zone = availability.timezone;
      const open = offeredFrom < to ? openIntervals(availability, offeredFrom, to) : [];
      const free = subtractIntervals(open, await busyIntervals(db, doctorId, offeredFrom, to));
      return {
        doctorId,
        configured: stored.configured,
        timezone: zone,
        weekly: stored.weekly,
        exceptions: stored.exceptions,
        from: formatInZone(from, zone),
        to: formatInZone(to, zone),
        slots: free.map((i) => ({ startsAt: formatInZone(i.start, zone), endsAt: formatInZone(i.end, zone) })),
      };
    },
  };
}
