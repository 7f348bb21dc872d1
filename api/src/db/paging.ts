import type { Knex } from 'knex';
import type { Page } from '../http/pagination.js';

/** What to fetch for one page: the columns, the sort (plus a unique tie-breaker), and the page. */
export interface PageRequest {
  columns: readonly (string | Knex.Raw)[];
  orderBy: { column: string; direction: 'asc' | 'desc' };
  tieBreaker: string;
  page: number;
  pageSize: number;
}

/** Counts the filtered query, then fetches one page of it in a stable order. */
export async function fetchPage<T>(query: Knex.QueryBuilder, r: PageRequest): Promise<Page<T>> {
  const [{ count }] = (await query.clone().clearSelect().clearOrder().count({ count: '*' })) as [{ count: number }];
  const items: T[] = await query
    .select(r.columns as (string | Knex.Raw)[])
    .orderBy(r.orderBy.column, r.orderBy.direction)
    .orderBy(r.tieBreaker)
    .limit(r.pageSize)
    .offset((r.page - 1) * r.pageSize);
  return { items, total: Number(count), page: r.page, pageSize: r.pageSize };
}
