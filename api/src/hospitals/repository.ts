import { markPrincipalWrite } from '../../../common/principal-cache.js';
import type { Knex } from 'knex';
import type { QueryBuilder } from 'objection';
import type { Auth } from '../auth/types.js';
import { liveLinks } from '../../../common/access.js';
import { HospitalModel } from '../db/models.js';
import { likePattern, parseSort, type Page } from '../http/pagination.js';
import type { HospitalDto, HospitalPatch } from './schemas.js';

type Db = Knex | Knex.Transaction;

/**
 * Row scope of hospitals: the super admin sees every live hospital, staff only their own, a patient those
 * whose doctors follow it or where it has appointments. Every read below starts from it, so no handler can
 * forget it.
 */
function scoped(db: Db, auth: Auth): QueryBuilder<HospitalModel> {
  const query = HospitalModel.query(db).whereNull('deleted_at');
  if (auth.role === 'super_admin') return query;
  if (auth.hospitalId && ['hospital_admin', 'doctor', 'secretary'].includes(auth.role)) return query.where('id', auth.hospitalId);
  if (auth.role === 'patient') {
    return query.where((w) =>
      w
        .whereIn('id', db('patient_doctor_links').where('patient_id', auth.userId).select('hospital_id'))
        .orWhereIn('id', db('appointments').where('patient_id', auth.userId).select('hospital_id')),
    );
  }
  return query.whereRaw('false');
}

function toDto(m: HospitalModel): HospitalDto {
  return {
    id: m.id,
    name: m.name,
    address: m.address,
    city: m.city,
    phone: m.phone,
    email: m.email,
    isActive: m.isActive,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
  };
}

const SORT_COLUMNS = { name: 'name', city: 'city', createdAt: 'created_at' };

/** Lists the hospitals in the caller's scope. */
export async function listHospitals(
  db: Db,
  auth: Auth,
  q: { page: number; pageSize: number; sort: string; q?: string; isActive?: boolean },
): Promise<Page<HospitalDto>> {
  const base = scoped(db, auth);
  if (q.q) base.where((w) => w.whereILike('name', likePattern(q.q!)).orWhereILike('city', likePattern(q.q!)));
  if (q.isActive !== undefined) base.where('is_active', q.isActive);
  const { column, direction } = parseSort(q.sort, SORT_COLUMNS);
  const { results, total } = await base
    .orderBy(column, direction)
    .orderBy('id')
    .page(q.page - 1, q.pageSize);
  return { items: results.map(toDto), total, page: q.page, pageSize: q.pageSize };
}

/** One hospital in the caller's scope, or undefined; `forUpdate` locks it for the transaction. */
export async function findHospital(db: Db, auth: Auth, id: string, forUpdate = false): Promise<HospitalDto | undefined> {
  const query = scoped(db, auth).findById(id);
  const found = await (forUpdate ? query.forUpdate() : query);
  return found ? toDto(found) : undefined;
}

/** Whether a live hospital exists, whatever the caller's scope (used to validate references). */
export async function hospitalExists(db: Db, id: string): Promise<boolean> {
  return (await HospitalModel.query(db).whereNull('deleted_at').findById(id)) !== undefined;
}

/** Inserts a hospital. */
export async function insertHospital(db: Db, data: Omit<HospitalPatch, 'isActive'> & { name: string }): Promise<HospitalDto> {
  markPrincipalWrite();
  return toDto(await HospitalModel.query(db).insertAndFetch(data));
}

/** Applies a patch to a hospital the caller has already found in scope. */
export async function updateHospital(db: Db, id: string, patch: HospitalPatch): Promise<HospitalDto> {
  markPrincipalWrite();
  return toDto(await HospitalModel.query(db).patchAndFetchById(id, { ...patch, updatedAt: new Date() }));
}

/** Soft-deletes a hospital: references from accounts, records and the audit trail stay valid. */
export async function softDeleteHospital(db: Db, id: string): Promise<void> {
  markPrincipalWrite();
  await HospitalModel.query(db).patch({ deletedAt: new Date(), isActive: false, updatedAt: new Date() }).where('id', id);
}

/** Live accounts still attached to the hospital. */
export async function countLiveAccounts(db: Db, hospitalId: string): Promise<number> {
  const row = await db('users').where({ hospital_id: hospitalId }).whereNull('deleted_at').count<{ count: number }[]>('* as count').first();
  return Number(row?.count ?? 0);
}

/** Live patients linked to a doctor of this hospital and to no live doctor of another live hospital. */
export async function countPatientsOnlyHere(trx: Knex.Transaction, hospitalId: string): Promise<number> {
  const [row] = (await trx('users as p')
    .where('p.role', 'patient')
    .whereNull('p.deleted_at')
    // Links carry their doctor's hospital (set by the database).
    .whereExists((q) =>
      q.select(trx.raw('1')).from('patient_doctor_links as l').whereRaw('l.patient_id = p.id').where('l.hospital_id', hospitalId),
    )
    .whereNotExists(liveLinks(trx).select(trx.raw('1')).whereRaw('l.patient_id = p.id').whereNot('l.hospital_id', hospitalId))
    .count({ count: '*' })) as [{ count: string | number }];
  return Number(row.count);
}
