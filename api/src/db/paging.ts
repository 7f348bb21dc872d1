import type { Knex } from 'knex';
import type { Page } from '../http/pagination.js';
import { badRequest } from '../../../common/http/errors.js';
import { prepared } from '../../../common/db.js';

/** What to fetch for one page: the columns, the sort (plus a unique tie-breaker), and the page. */
export interface PageRequest {
  columns: readonly (string | Knex.Raw)[];
  orderBy: { column: string; direction: 'asc' | 'desc' };
  tieBreaker: string;
  page: number;
  pageSize: number;
  /**
   * Joins that only add columns to a row (names of people, of the hospital) and never filter: applied to the
   * page's rows alone, not to every row counted. The query then names one table, `alias`, which the order
   * and the tie-breaker refer to.
   */
  decorate?: { alias: string; join: (rows: Knex.QueryBuilder) => Knex.QueryBuilder };
}

const TOTAL = 'mc_total';

/** How many rows the filtered query holds. */
async function countOf(query: Knex.QueryBuilder): Promise<number> {
  const [{ count }] = (await prepared(query.clone().clearSelect().clearOrder().count({ count: '*' }))) as [{ count: number }];
  return Number(count);
}

/**
 * One page of the filtered query in a stable order, with the total: rows and count come back together from
 * one prepared statement (`count(*) over ()`); only a page past the end, which has no row to carry the total,
 * asks for the count alone. The query must select no DISTINCT or grouped rows.
 */
export async function fetchPage<T>(query: Knex.QueryBuilder, r: PageRequest): Promise<Page<T>> {
  const counted = r.decorate ? [`${r.decorate.alias}.*`] : (r.columns as (string | Knex.Raw)[]);
  let page = query
    .clone()
    .select([...counted, query.client.raw(`count(*) over () as ${TOTAL}`)])
    .orderBy(r.orderBy.column, r.orderBy.direction)
    .orderBy(r.tieBreaker)
    .limit(r.pageSize)
    .offset((r.page - 1) * r.pageSize);
  if (r.decorate) {
    const rows = (query.client as Knex.Client).queryBuilder().from(page.as(r.decorate.alias));
    page = r.decorate
      .join(rows)
      .select([...(r.columns as (string | Knex.Raw)[]), `${r.decorate.alias}.${TOTAL}`])
      .orderBy(r.orderBy.column, r.orderBy.direction)
      .orderBy(r.tieBreaker);
  }
  const rows: (T & { [TOTAL]?: number })[] = await prepared(page);
  let total: number;
  if (rows.length > 0) total = Number(rows[0]![TOTAL]);
  else if (r.page === 1) total = 0;
  else total = await countOf(query);
  for (const row of rows) delete row[TOTAL];
  return { items: rows as T[], total, page: r.page, pageSize: r.pageSize };
}

/** The most rows a free-text search decrypts to filter: narrower filters are asked for beyond it. */
export const SEARCH_MAX_ROWS = 2000;

/**
 * A page of the rows that `matches` accepts, for searches on encrypted text the database cannot read:
 * at most {@link SEARCH_MAX_ROWS} candidates are fetched in the page order and filtered here; more
 * candidates than that is a 400 asking for narrower filters, never an unbounded scan.
 */
export async function fetchSearchPage<T>(query: Knex.QueryBuilder, r: PageRequest, matches: (row: T) => boolean): Promise<Page<T>> {
  const count = await countOf(query);
  if (count > SEARCH_MAX_ROWS) {
    throw badRequest(
      `The search would read ${count} items (at most ${SEARCH_MAX_ROWS}): narrow it with other filters`,
      [{ field: 'q', message: 'Add filters (patient, type, dates, status)' }],
      'SEARCH_TOO_BROAD',
    );
  }
  const rows: T[] = await prepared(
    (r.decorate ? r.decorate.join(query) : query)
      .select(r.columns as (string | Knex.Raw)[])
      .orderBy(r.orderBy.column, r.orderBy.direction)
      .orderBy(r.tieBreaker),
  );
  const found = rows.filter(matches);
  return { items: found.slice((r.page - 1) * r.pageSize, r.page * r.pageSize), total: found.length, page: r.page, pageSize: r.pageSize };
}
