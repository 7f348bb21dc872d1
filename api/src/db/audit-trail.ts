import type { Knex } from 'knex';
import type { Page } from '../http/pagination.js';

/** An audit entry with the account that acted (if any), as the access logs show it. */
export interface AuditTrailRow {
  occurred_at: Date;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, string>;
  actor_id: string | null;
  first_name: string | null;
  last_name: string | null;
  role: string | null;
}

/** Who acted, as an access log names them (null: the system or an anonymous share link). */
export function actorOf(r: AuditTrailRow): { id: string; firstName: string; lastName: string; role: string } | null {
  return r.actor_id ? { id: r.actor_id, firstName: r.first_name ?? '', lastName: r.last_name ?? '', role: r.role ?? '' } : null;
}

/**
 * One page, newest first, of the audit entries `query` selects (on `audit_log as a`), each with its actor: what a
 * patient's access log and a study's views list.
 */
export async function auditTrailPage<T>(
  query: Knex.QueryBuilder,
  page: { page: number; pageSize: number },
  present: (row: AuditTrailRow) => T,
): Promise<Page<T>> {
  const [{ total }] = (await query.clone().count({ total: '*' })) as [{ total: string | number }];
  const rows: AuditTrailRow[] = await query
    .leftJoin('users as u', 'u.id', 'a.actor_id')
    .orderBy('a.id', 'desc')
    .limit(page.pageSize)
    .offset((page.page - 1) * page.pageSize)
    .select(
      'a.occurred_at',
      'a.action',
      'a.target_type',
      'a.target_id',
      'a.details',
      'a.actor_id',
      'u.first_name',
      'u.last_name',
      'u.role',
    );
  return { items: rows.map(present), total: Number(total), page: page.page, pageSize: page.pageSize };
}
