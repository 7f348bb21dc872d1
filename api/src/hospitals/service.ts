import { endShares } from '../commands/end-shares.js';
import { recordAudit } from '../../../common/audit.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { conflict, notFound } from '../../../common/http/errors.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { cancelAppointmentsOf } from '../commands/cancel-appointments.js';
import * as repo from './repository.js';
import type { GuardedWrite } from '../http/representation.js';
import type { HospitalDto, HospitalPatch } from './schemas.js';
import { AUTOMATIC_REASONS } from '../notifications/messages.js';

/** Hospital use cases; every write and its audit entry share one transaction. */
export function createHospitalService({ db, config }: Deps) {
  return {
    list: (auth: Auth, query: Parameters<typeof repo.listHospitals>[2]) => repo.listHospitals(db, auth, query),

    async get(auth: Auth, id: string): Promise<HospitalDto> {
      return (await repo.findHospital(db, auth, id)) ?? Promise.reject(notFound('Hospital'));
    },

    create(auth: Auth, data: Omit<HospitalPatch, 'isActive'> & { name: string }, meta: RequestMeta): Promise<HospitalDto> {
      return db.transaction(async (trx) => {
        const hospital = await repo.insertHospital(trx, data);
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'hospital.created',
          targetType: 'hospital',
          targetId: hospital.id,
          hospitalId: hospital.id,
        });
        return hospital;
      });
    },

    update(auth: Auth, id: string, write: GuardedWrite<HospitalPatch>, meta: RequestMeta): Promise<HospitalDto> {
      return db.transaction(async (trx) => {
        const before = await repo.findHospital(trx, auth, id, true);
        if (!before) throw notFound('Hospital');
        const checked = write.against(before);
        if (checked.unchanged) return before;
        const patch = checked.body;
        const updated = await repo.updateHospital(trx, id, patch);
        const changed = Object.keys(patch).filter((k) => k !== 'isActive');
        const audit = { actor: auth, targetType: 'hospital' as const, targetId: id, hospitalId: id };
        if (changed.length > 0) await recordAudit(trx, meta, { ...audit, action: 'hospital.updated', details: { fields: changed } });
        if (patch.isActive !== undefined && patch.isActive !== before.isActive) {
          if (!patch.isActive) {
            await endShares(trx, { hospitalId: id }, auth.userId);
            await cancelAppointmentsOf(trx, config, { hospitalId: id }, AUTOMATIC_REASONS.hospitalClosed, auth, meta);
          }
          await recordAudit(trx, meta, { ...audit, action: patch.isActive ? 'hospital.reactivated' : 'hospital.deactivated' });
        }
        return updated;
      });
    },

    remove(auth: Auth, id: string, meta: RequestMeta): Promise<void> {
      return db.transaction(async (trx) => {
        if (!(await repo.findHospital(trx, auth, id, true))) throw notFound('Hospital');
        const accounts = await repo.countLiveAccounts(trx, id);
        if (accounts > 0) {
          throw conflict(
            'HOSPITAL_NOT_EMPTY',
            `The hospital still has ${accounts} account(s); delete them first or deactivate the hospital`,
            [{ field: 'accounts', message: 'Live accounts are attached to this hospital', count: accounts }],
          );
        }
        // Patients followed only by this hospital's (deleted) doctors could never be managed again.
        const orphans = await repo.countPatientsOnlyHere(trx, id);
        if (orphans > 0) {
          throw conflict(
            'HOSPITAL_HAS_PATIENTS',
            `${orphans} patient(s) are followed only by this hospital’s doctors; link them to a doctor of another hospital first, or deactivate the hospital`,
            [{ field: 'patients', message: 'Patients linked only to this hospital', count: orphans }],
          );
        }
        await repo.softDeleteHospital(trx, id);
        await recordAudit(trx, meta, { actor: auth, action: 'hospital.deleted', targetType: 'hospital', targetId: id, hospitalId: id });
      });
    },
  };
}
