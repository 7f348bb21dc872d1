import { endShares } from '../commands/end-shares.js';
import { recordAudit } from '../../../common/audit.js';
import { DEFAULT_PASSWORD } from '../../../common/passwords.js';
import type { Auth } from '../auth/types.js';
import type { Deps } from '../deps.js';
import { badRequest, notFound } from '../../../common/http/errors.js';
import type { Page } from '../http/pagination.js';
import type { RequestMeta } from '../../../common/http/request-context.js';
import { cancelAppointmentsOf } from '../commands/cancel-appointments.js';
import { hospitalExists } from '../hospitals/repository.js';
import * as repo from './repository.js';
import type { GuardedWrite } from '../http/representation.js';
import type { AccountListQuery, AccountPatch, AccountRow, AccountScope, StaffRole } from './repository.js';
import { AUTOMATIC_REASONS } from '../notifications/messages.js';

/** Why a doctor's appointments were cancelled when it was deactivated or deleted. */

const NOUN: Record<StaffRole, string> = { hospital_admin: 'Hospital admin', doctor: 'Doctor', secretary: 'Secretary' };

/** Input of an account creation; `hospitalId` is only read for hospital admins (the super admin picks it). */
export interface CreateAccountInput {
  email: string;
  firstName: string;
  lastName: string;
  phone?: string;
  hospitalId?: string;
  specialty?: string;
  licenseNumber?: string;
}

/** Staff account use cases shared by hospital admins, doctors and secretaries. */
export function createAccountService({ db, passwords, config }: Deps) {
  async function mustFind(auth: Auth, role: StaffRole, scope: AccountScope, id: string, trx = db): Promise<AccountRow> {
    const row = await repo.findAccount(trx, auth, role, scope, id);
    if (!row) throw notFound(NOUN[role]);
    return row;
  }

  /** The hospital a new account joins: chosen by the super admin for admins, always the admin's own otherwise. */
  async function hospitalFor(auth: Auth, role: StaffRole, input: CreateAccountInput): Promise<string> {
    if (role === 'hospital_admin') {
      if (!input.hospitalId || !(await hospitalExists(db, input.hospitalId))) {
        throw badRequest('Unknown hospital', [{ field: 'hospitalId', message: 'No hospital has this id' }]);
      }
      return input.hospitalId;
    }
    if (input.hospitalId !== undefined && input.hospitalId !== auth.hospitalId) {
      throw badRequest('Accounts are created in your own hospital; do not send another hospitalId', [
        { field: 'hospitalId', message: 'Must be omitted (the hospital is taken from your account)' },
      ]);
    }
    return auth.hospitalId!;
  }

  return {
    list(auth: Auth, role: StaffRole, scope: AccountScope, query: AccountListQuery): Promise<Page<AccountRow>> {
      return repo.listAccounts(db, auth, role, scope, query);
    },

    get(auth: Auth, role: StaffRole, scope: AccountScope, id: string): Promise<AccountRow> {
      return mustFind(auth, role, scope, id);
    },

    async create(auth: Auth, role: StaffRole, input: CreateAccountInput, meta: RequestMeta): Promise<AccountRow> {
      const hospitalId = await hospitalFor(auth, role, input);
      // Every account starts with the default password, hashed per account (own salt).
      const passwordHash = await passwords.hash(DEFAULT_PASSWORD);
      const id = await db.transaction(async (trx) => {
        const newId = await repo.insertAccount(trx, {
          email: input.email,
          passwordHash,
          role,
          hospitalId,
          firstName: input.firstName,
          lastName: input.lastName,
          phone: input.phone ?? null,
          createdBy: auth.userId,
          specialty: input.specialty,
          licenseNumber: input.licenseNumber ?? null,
        });
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'account.created',
          targetType: 'user',
          targetId: newId,
          hospitalId,
          details: { role },
        });
        return newId;
      });
      return mustFind(auth, role, 'manage', id);
    },

    /** `write` is checked against the account as its manager reads it. */
    async update(
      auth: Auth,
      role: StaffRole,
      id: string,
      write: GuardedWrite<AccountPatch, AccountRow>,
      meta: RequestMeta,
    ): Promise<AccountRow> {
      const unchanged = await db.transaction(async (trx) => {
        const before = await repo.findAccount(trx, auth, role, 'manage', id, true);
        if (!before) throw notFound(NOUN[role]);
        const checked = write.against(before);
        if (checked.unchanged) return before;
        const patch = checked.body;
        await repo.updateAccount(trx, id, patch);
        const audit = { actor: auth, targetType: 'user' as const, targetId: id, hospitalId: before.hospital_id };
        const fields = Object.keys(patch).filter((k) => k !== 'isActive');
        if (fields.length > 0) await recordAudit(trx, meta, { ...audit, action: 'account.updated', details: { role, fields } });
        if (patch.isActive !== undefined && patch.isActive !== before.is_active) {
          if (!patch.isActive) {
            await repo.revokeSessions(trx, id, 'account_deactivated');
            await endShares(trx, { createdBy: id }, auth.userId);
            if (role === 'doctor') await cancelAppointmentsOf(trx, config, { doctorId: id }, AUTOMATIC_REASONS.doctorLeft, auth, meta);
          }
          await recordAudit(trx, meta, {
            ...audit,
            action: patch.isActive ? 'account.reactivated' : 'account.deactivated',
            details: { role },
          });
        }
        return null;
      });
      return unchanged ?? mustFind(auth, role, 'manage', id);
    },

    async remove(auth: Auth, role: StaffRole, id: string, meta: RequestMeta): Promise<void> {
      await db.transaction(async (trx) => {
        const before = await repo.findAccount(trx, auth, role, 'manage', id, true);
        if (!before) throw notFound(NOUN[role]);
        await repo.softDeleteAccount(trx, id);
        await repo.revokeSessions(trx, id, 'account_deleted');
        await endShares(trx, { createdBy: id }, auth.userId);
        if (role === 'doctor') await cancelAppointmentsOf(trx, config, { doctorId: id }, AUTOMATIC_REASONS.doctorLeft, auth, meta);
        await recordAudit(trx, meta, {
          actor: auth,
          action: 'account.deleted',
          targetType: 'user',
          targetId: id,
          hospitalId: before.hospital_id,
          details: { role },
        });
      });
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
