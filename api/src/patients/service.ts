import { principalWrite } from '../../../common/principal-cache.js';
import { endShares } from '../commands/end-shares.js';
import type { Knex } from 'knex';
import { ensureLink, linkOf, liveLinks, removeLink, visibleLinksHospital } from '../../../common/access.js';
import { revokeSessions } from '../accounts/repository.js';
import { cancelAppointmentsOf } from '../commands/cancel-appointments.js';
import { notify } from '../notifications/service.js';
import { AUTOMATIC_REASONS, unlinkedMessage } from '../notifications/messages.js';
import { recordAudit } from '../../../common/audit.js';
import { studyUidsOfPatient } from '../dicom/repository.js';
import { DEFAULT_PASSWORD } from '../../../common/passwords.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { badRequest, conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { newPatientIdentifier } from './identifier.js';
import * as repo from './repository.js';
import { plainWrite, type GuardedWrite } from '../http/representation.js';
import { detail } from './presenter.js';
import type { PatientListQuery, PatientPatch } from './schemas.js';

/** Input of a patient creation by a secretary. */
export interface CreatePatientInput {
  email?: string;
  firstName: string;
  lastName: string;
  birthDate: string;
  sex: repo.PatientRow['sex'];
  phone?: string;
  doctorIds: string[];
  confirmNotDuplicate?: boolean;
}

function isUniqueViolationOn(err: unknown, constraint: string): boolean {
  return (err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === constraint;
}

/** Patient accounts and their doctor links. */
export function createPatientService({ db, passwords, config }: Deps) {
  async function mustFind(auth: Auth, id: string, trx: Knex | Knex.Transaction = db, forUpdate = false): Promise<repo.PatientRow> {
    const row = await repo.findPatient(trx, auth, id, forUpdate);
    if (!row) throw notFound('Patient');
    return row;
  }

  /** Every id must name an active doctor of the secretary's hospital; otherwise nothing is created. */
  async function assertOwnDoctors(auth: Auth, ids: string[], field: string): Promise<void> {
    const valid = new Set(await repo.doctorsOfHospital(db, auth.hospitalId!, ids));
    const invalid = ids.filter((id) => !valid.has(id));
    if (invalid.length > 0) {
      throw badRequest(
        'Patients can only be linked to active doctors of your hospital',
        invalid.map((id) => ({ field, message: 'Not an active doctor of your hospital', value: id })),
        'INVALID_DOCTOR',
      );
    }
  }

  return {
    list: (auth: Auth, query: PatientListQuery) => repo.listPatients(db, auth, query),

    async get(auth: Auth, id: string) {
      const patient = await mustFind(auth, id);
      return { patient, links: await repo.listLinks(db, id, visibleLinksHospital(auth)) };
    },

    async create(auth: Auth, input: CreatePatientInput, meta: RequestMeta) {
      await assertOwnDoctors(auth, input.doctorIds, 'doctorIds');
      // The same person registered twice splits its record in two: a patient of the same names (case and
      // accents folded) and birth date followed in this hospital is named, and created only when confirmed.
      if (!input.confirmNotDuplicate) {
        const twin = await repo.probableDuplicate(db, auth, input);
        if (twin) {
          throw conflict(
            'POSSIBLE_DUPLICATE',
            'A patient of the same names and birth date is already followed in your hospital; send confirmNotDuplicate: true if this is another person',
            [{ field: 'confirmNotDuplicate', message: `Patient ${twin.identifier}`, value: twin.id }],
          );
        }
      }
      const passwordHash = await passwords.hash(DEFAULT_PASSWORD);
      // A random identifier could collide; retrying with a fresh one is cheaper than coordinating a sequence.
      for (let attempt = 0; ; attempt++) {
        try {
          const id = await db.transaction(async (trx) => {
            const [user] = await principalWrite(trx, 'users')
              .insert({
                email: input.email ?? null,
                password_hash: passwordHash,
                role: 'patient',
                first_name: input.firstName,
                last_name: input.lastName,
                phone: input.phone ?? null,
                created_by: auth.userId,
              })
              .returning('id');
            await trx('patients').insert({
              user_id: user.id,
              identifier: newPatientIdentifier(),
              birth_date: input.birthDate,
              sex: input.sex,
              created_by: auth.userId,
            });
            for (const doctorId of input.doctorIds) {
              await ensureLink(trx, { patientId: user.id, doctorId, source: 'patient_creation', createdBy: auth.userId });
            }
            await recordAudit(trx, meta, {
              actor: auth,
              action: 'patient.created',
              targetType: 'patient',
              targetId: user.id,
              hospitalId: auth.hospitalId,
              details: { doctorIds: input.doctorIds },
            });
            return user.id as string;
          });
          return this.get(auth, id);
        } catch (err) {
          if (attempt < 3 && isUniqueViolationOn(err, 'patients_identifier_unique')) continue;
          throw err;
        }
      }
    },

    async update(auth: Auth, id: string, write: GuardedWrite<PatientPatch>, meta: RequestMeta) {
      const unchanged = await db.transaction(async (trx) => {
        const before = await mustFind(auth, id, trx, true);
        const stored = { patient: before, links: await repo.listLinks(trx, id, visibleLinksHospital(auth)) };
        const checked = write.against(detail(stored));
        if (checked.unchanged) return stored;
        const patch = checked.body;
        // One hospital must not lock a patient out of another that still follows it.
        if (
          patch.isActive === false &&
          before.is_active &&
          auth.hospitalId &&
          (await repo.sharedWithAnotherHospital(trx, id, auth.hospitalId))
        ) {
          throw conflict(
            'PATIENT_SHARED',
            'Doctors of another hospital still follow this patient: only the last hospital that follows a patient deactivates it',
            [{ field: 'isActive', message: 'Linked to doctors of another hospital' }],
          );
        }
        const user = Object.fromEntries(
          Object.entries({
            email: patch.email,
            first_name: patch.firstName,
            last_name: patch.lastName,
            phone: patch.phone,
            is_active: patch.isActive,
          }).filter(([, v]) => v !== undefined),
        );
        await principalWrite(trx, 'users')
          .where({ id })
          .update({ ...user, updated_at: trx.fn.now() });
        const profile = Object.fromEntries(
          Object.entries({ birth_date: patch.birthDate, sex: patch.sex }).filter(([, v]) => v !== undefined),
        );
        if (Object.keys(profile).length > 0) await trx('patients').where({ user_id: id }).update(profile);
        const audit = { actor: auth, targetType: 'patient' as const, targetId: id, hospitalId: auth.hospitalId };
        const fields = Object.keys(patch).filter((k) => k !== 'isActive');
        if (fields.length > 0) await recordAudit(trx, meta, { ...audit, action: 'patient.updated', details: { fields } });
        if (patch.isActive !== undefined && patch.isActive !== before.is_active) {
          if (!patch.isActive) {
            await revokeSessions(trx, id, 'account_deactivated');
            // The patient's own links and every link to its studies.
            await endShares(trx, { createdBy: id }, auth.userId);
            await endShares(trx, { patientId: id }, auth.userId);
            await cancelAppointmentsOf(trx, config, { patientId: id }, AUTOMATIC_REASONS.patientDeactivated, auth, meta);
          }
          await recordAudit(trx, meta, { ...audit, action: patch.isActive ? 'patient.reactivated' : 'patient.deactivated' });
        }
        return null;
      });
      return unchanged ?? this.get(auth, id);
    },

    /** Deactivates the account; the patient, its links and its medical data all stay. */
    async deactivate(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      await this.update(auth, id, plainWrite({ isActive: false }), meta);
    },

    async links(auth: Auth, id: string) {
      await mustFind(auth, id);
      return repo.listLinks(db, id, visibleLinksHospital(auth));
    },

    /**
     * Removes a doctor's link to a patient (a secretary of that doctor's hospital). Refused when it would leave
     * the patient without a doctor. Effective at once: the API's scoped queries read the links, the proxy's
     * access cache is told through NOTIFY; the doctor's viewer sessions and share links on the patient's studies
     * end. Audited; the patient and the doctor are notified.
     */
    async removeLink(auth: Auth, id: string, doctorId: string, meta: RequestMeta): Promise<repo.LinkRow[]> {
      await db.transaction(async (trx) => {
        await mustFind(auth, id, trx, true);
        const link = await linkOf(trx, id, doctorId)
          .where('d.hospital_id', auth.hospitalId)
          .first('l.id', 'l.source', 'l.created_at', 'd.first_name', 'd.last_name');
        if (!link) throw notFound('Link');
        if (!(await liveLinks(trx).where('l.patient_id', id).whereNot('l.doctor_id', doctorId).first('l.id'))) {
          throw conflict('LAST_DOCTOR', 'This is the patient’s last doctor: link another doctor first', [
            { field: 'doctorId', message: 'The patient’s only doctor' },
          ]);
        }
        await removeLink(trx, link.id);
        // The doctor can no longer see this patient's appointments with it: they end, as when a doctor leaves.
        await cancelAppointmentsOf(trx, config, { link: { doctorId, patientId: id } }, AUTOMATIC_REASONS.doctorUnlinked, auth, meta);
        const studies = studyUidsOfPatient(trx, id);
        await principalWrite(trx, 'viewer_sessions')
          .where({ user_id: doctorId })
          .whereIn('study_instance_uid', studies)
          .whereNull('revoked_at')
          .update({ revoked_at: trx.fn.now() });
        await principalWrite(trx, 'study_shares')
          .where({ created_by: doctorId, patient_id: id })
          .whereNull('revoked_at')
          .update({ revoked_at: trx.fn.now(), revoked_by: auth.userId });
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'patient.unlinked',
          targetType: 'patient',
          targetId: id,
          patientId: id,
          hospitalId: auth.hospitalId,
          details: { doctorId, linkSource: link.source, linkedAt: link.created_at.toISOString() },
        });
        const patient = await trx('users').where({ id }).first('first_name', 'last_name');
        await notify(trx, config, [id, doctorId], (locale) => ({
          type: 'patient.unlinked',
          ...unlinkedMessage(`${link.first_name} ${link.last_name}`, `${patient.first_name} ${patient.last_name}`, locale),
          data: { patientId: id, doctorId },
        }));
      });
      return repo.listLinks(db, id, visibleLinksHospital(auth));
    },

    /** Links a patient in the secretary's scope to a doctor of its hospital; idempotent. */
    async addLink(auth: Auth, id: string, doctorId: string, meta: RequestMeta): Promise<{ created: boolean; links: repo.LinkRow[] }> {
      await assertOwnDoctors(auth, [doctorId], 'doctorId');
      const created = await db.transaction(async (trx) => {
        await mustFind(auth, id, trx, true);
        const inserted = await ensureLink(trx, { patientId: id, doctorId, source: 'secretary', createdBy: auth.userId });
        if (inserted) {
          await recordAudit(trx, meta, {
            actor: auth,
            action: 'patient.linked',
            targetType: 'patient',
            targetId: id,
            hospitalId: auth.hospitalId,
            details: { doctorId, source: 'secretary' },
          });
        }
        return inserted;
      });
      return { created, links: await repo.listLinks(db, id, visibleLinksHospital(auth)) };
    },
  };
}
