import { principalWrite } from '../../../common/principal-cache.js';
import type { Knex } from 'knex';
import type { Auth } from '../auth/types.js';
import { likePattern, parseSort, type Page } from '../http/pagination.js';
import { fetchPage } from '../db/paging.js';

type Db = Knex | Knex.Transaction;

/** Accounts that belong to a hospital and are managed through the API. */
export type StaffRole = 'hospital_admin' | 'doctor' | 'secretary';

/**
 * `manage`: the accounts the caller administers — hospital admins for the super admin, doctors and
 * secretaries of its own hospital for a hospital admin, nothing for anyone else.
 * `directory`: the public doctor directory (active doctors of active hospitals), plus, for a hospital
 * admin, its own hospital's doctors whatever their state.
 */
export type AccountScope = 'manage' | 'directory';

export interface AccountRow {
  id: string;
  email: string;
  role: StaffRole;
  hospital_id: string;
  hospital_name: string;
  first_name: string;
  last_name: string;
  phone: string | null;
  is_active: boolean;
  must_change_password: boolean;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
  specialty: string | null;
  license_number: string | null;
}

/** Whether the caller administers accounts of this role in this hospital (the `manage` scope, as a predicate). */
export function manages(auth: Auth, role: StaffRole, hospitalId: string): boolean {
  if (role === 'hospital_admin') return auth.role === 'super_admin';
  return auth.role === 'hospital_admin' && auth.hospitalId === hospitalId;
}

function applyScope(query: Knex.QueryBuilder, auth: Auth, role: StaffRole, scope: AccountScope): void {
  query.where('u.role', role);
  if (scope === 'directory' && role === 'doctor') {
    query.where((w) => {
      w.where((pub) => pub.where('u.is_active', true).where('h.is_active', true));
      if (auth.role === 'hospital_admin' && auth.hospitalId) w.orWhere('u.hospital_id', auth.hospitalId);
    });
    return;
  }
  if (role === 'hospital_admin' && auth.role === 'super_admin') return;
  if (role !== 'hospital_admin' && auth.role === 'hospital_admin' && auth.hospitalId) {
    query.where('u.hospital_id', auth.hospitalId);
    return;
  }
  query.whereRaw('false');
}

/** Live accounts of a role within the caller's scope; every account read starts here. */
function scoped(db: Db, auth: Auth, role: StaffRole, scope: AccountScope): Knex.QueryBuilder {
  const query = db('users as u')
    .join('hospitals as h', 'h.id', 'u.hospital_id')
    .leftJoin('doctor_profiles as dp', 'dp.user_id', 'u.id')
    .whereNull('u.deleted_at')
    .whereNull('h.deleted_at');
  applyScope(query, auth, role, scope);
  return query;
}

const COLUMNS = [
  'u.id',
  'u.email',
  'u.role',
  'u.hospital_id',
  'h.name as hospital_name',
  'u.first_name',
  'u.last_name',
  'u.phone',
  'u.is_active',
  'u.must_change_password',
  'u.last_login_at',
  'u.created_at',
  'u.updated_at',
  'dp.specialty',
  'dp.license_number',
];

const SORT_COLUMNS = {
  lastName: 'u.last_name',
  firstName: 'u.first_name',
  email: 'u.email',
  specialty: 'dp.specialty',
  createdAt: 'u.created_at',
};

/** Filters of an account list. */
export interface AccountListQuery {
  page: number;
  pageSize: number;
  sort: string;
  q?: string;
  isActive?: boolean;
  hospitalId?: string;
  specialty?: string;
}

/** Lists accounts of a role in the caller's scope. */
export async function listAccounts(
  db: Db,
  auth: Auth,
  role: StaffRole,
  scope: AccountScope,
  q: AccountListQuery,
): Promise<Page<AccountRow>> {
  const query = scoped(db, auth, role, scope);
  if (q.q) {
    const pattern = likePattern(q.q);
    query.where((w) => {
      w.whereILike('u.first_name', pattern)
        .orWhereILike('u.last_name', pattern)
        .orWhereRaw(`(u.first_name || ' ' || u.last_name) ILIKE ?`, [pattern])
        .orWhereILike('dp.specialty', pattern);
      // Only managers may search on e-mail: the directory does not expose addresses.
      if (scope === 'manage') w.orWhereILike('u.email', pattern);
    });
  }
  if (q.isActive !== undefined) query.where('u.is_active', q.isActive);
  if (q.hospitalId) query.where('u.hospital_id', q.hospitalId);
  if (q.specialty) query.whereILike('dp.specialty', likePattern(q.specialty));
  return fetchPage<AccountRow>(query, {
    columns: COLUMNS,
    orderBy: parseSort(q.sort, SORT_COLUMNS),
    tieBreaker: 'u.id',
    page: q.page,
    pageSize: q.pageSize,
  });
}

/** One account in the caller's scope; `forUpdate` locks the user row for the transaction. */
export async function findAccount(
  db: Db,
  auth: Auth,
  role: StaffRole,
  scope: AccountScope,
  id: string,
  forUpdate = false,
): Promise<AccountRow | undefined> {
  const query = scoped(db, auth, role, scope).where('u.id', id).first(COLUMNS);
  return forUpdate ? query.forUpdate('u') : query;
}

/** The fields stored for a new account. */
export interface NewAccount {
  email: string;
  passwordHash: string;
  role: StaffRole;
  hospitalId: string;
  firstName: string;
  lastName: string;
  phone: string | null;
  createdBy: string;
  specialty?: string;
  licenseNumber?: string | null;
}

/** Inserts the user row and, for doctors, the profile row; call inside a transaction. */
export async function insertAccount(trx: Knex.Transaction, a: NewAccount): Promise<string> {
  const [row] = await principalWrite(trx, 'users')
    .insert({
      email: a.email,
      password_hash: a.passwordHash,
      role: a.role,
      hospital_id: a.hospitalId,
      first_name: a.firstName,
      last_name: a.lastName,
      phone: a.phone,
      created_by: a.createdBy,
    })
    .returning('id');
  if (a.role === 'doctor') {
    await trx('doctor_profiles').insert({ user_id: row.id, specialty: a.specialty, license_number: a.licenseNumber ?? null });
  }
  return row.id as string;
}

/** A change to an account; undefined fields stay as they are. */
export interface AccountPatch {
  email?: string;
  firstName?: string;
  lastName?: string;
  phone?: string | null;
  isActive?: boolean;
  specialty?: string;
  licenseNumber?: string | null;
}

/** Applies a patch to an account already found (and locked) in scope. */
export async function updateAccount(trx: Knex.Transaction, id: string, p: AccountPatch): Promise<void> {
  const user = Object.fromEntries(
    Object.entries({ email: p.email, first_name: p.firstName, last_name: p.lastName, phone: p.phone, is_active: p.isActive }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  await principalWrite(trx, 'users')
    .where({ id })
    .update({ ...user, updated_at: trx.fn.now() });
  const profile = Object.fromEntries(
    Object.entries({ specialty: p.specialty, license_number: p.licenseNumber }).filter(([, v]) => v !== undefined),
  );
  if (Object.keys(profile).length > 0) await trx('doctor_profiles').where({ user_id: id }).update(profile);
}

/** Soft-deletes an account: gone from lists and login, still named by what it wrote and by the audit trail. */
export async function softDeleteAccount(trx: Knex.Transaction, id: string): Promise<void> {
  await principalWrite(trx, 'users').where({ id }).update({ deleted_at: trx.fn.now(), is_active: false, updated_at: trx.fn.now() });
}

/** Ends every open session of an account, so its tokens stop working at once. */
export async function revokeSessions(trx: Knex.Transaction, userId: string, reason: string): Promise<void> {
  await principalWrite(trx, 'sessions')
    .where({ user_id: userId })
    .whereNull('revoked_at')
    .update({ revoked_at: trx.fn.now(), revoked_reason: reason });
}
