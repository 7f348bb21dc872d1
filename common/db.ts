import { createHash, randomUUID } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

// Return timestamps as Date and bigints (counts) as numbers small enough for JSON.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
// Calendar dates (birth dates) stay 'YYYY-MM-DD' strings, never shifted through a Date and a time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v);
const parseTimestamptzSlowly = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (v: string) => Date | number | null;

const isDigit = (v: string, i: number) => {
  const c = v.charCodeAt(i);
  return c >= 48 && c <= 57;
};

/**
 * timestamptz as PostgreSQL prints it (`2026-11-27 22:04:17.123456+00`, `…+05:30`), through the engine's ISO
 * parser: a page of appointments holds 120 of them, and pg's own parser (regular expressions, then date
 * arithmetic) took a fifth of the page's parsing. Sub-millisecond digits are dropped as pg's parser drops them.
 * Any other shape (BC, infinity, five-digit years, offsets with seconds) goes to pg's parser.
 */
export function parseTimestamptz(v: string): Date | number | null {
  const n = v.length;
  // The offset: ±HH or ±HH:MM at the end; the fraction: 0 to 6 digits after the seconds.
  const isSign = (i: number) => v[i] === '+' || v[i] === '-';
  const sign = isSign(n - 6) && v[n - 3] === ':' ? n - 6 : isSign(n - 3) ? n - 3 : -1;
  if (
    sign < 19 ||
    sign > 26 ||
    v[4] !== '-' ||
    v[7] !== '-' ||
    v[10] !== ' ' ||
    v[13] !== ':' ||
    v[16] !== ':' ||
    (sign > 19 && (v[19] !== '.' || sign === 20))
  )
    return parseTimestamptzSlowly(v);
  for (const i of [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, sign + 1, sign + 2])
    if (!isDigit(v, i)) return parseTimestamptzSlowly(v);
  for (let i = 20; i < sign; i++) if (!isDigit(v, i)) return parseTimestamptzSlowly(v);
  if (sign === n - 6 && !(isDigit(v, n - 2) && isDigit(v, n - 1))) return parseTimestamptzSlowly(v);
  const millis = Date.parse(`${v.slice(0, 10)}T${v.slice(11, sign)}${sign === n - 3 ? `${v.slice(sign)}:00` : v.slice(sign)}`);
  return Number.isNaN(millis) ? parseTimestamptzSlowly(v) : new Date(millis);
}
pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, parseTimestamptz);

/** The marker {@link prepared} puts in a query's options; the pool's query runner turns it into a name. */
const PREPARE = 'mediconnectPrepare';

const names = new Map<string, string>();
/** The name of a prepared statement: a hash of its text, so one text is prepared once per connection. */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    // Named texts take a bounded number of shapes; the bound here only guards against a misuse.
    if (names.size >= 10_000) names.clear();
    names.set(sql, (name = `mc_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`));
  }
  return name;
}

/**
 * Marks a query built with knex to run as a named prepared statement: PostgreSQL parses and plans it once per
 * connection instead of on every call. Only for queries whose SQL text takes a bounded number of shapes (fixed
 * filters and sorts, never a list of values of any length), or each shape would stay prepared on every
 * connection.
 *
 * A read outside a transaction (`select`, `first`) is then sent straight on a pooled connection: knex's runner
 * cost a list read as much as pg's own work (issue 13). It still emits knex's `query`, `query-response` and
 * `query-error` events, which the metrics and the principal barrier listen to. Writes and anything inside a
 * transaction keep knex's runner.
 */
export function prepared<Q extends Knex.QueryBuilder>(query: Q): Q {
  query.options({ [PREPARE]: true });
  const viaKnex = query.then.bind(query);
  const then: Q['then'] = (onFulfilled, onRejected) => {
    const client = query.client as unknown as KnexClient;
    const compiled = query.toSQL() as unknown as Compiled;
    if (client.transacting || (compiled.method !== 'select' && compiled.method !== 'first')) return viaKnex(onFulfilled, onRejected);
    const { sql, bindings } = compiled.toNative();
    const shape = (rows: unknown[]) => (compiled.method === 'first' ? rows[0] : rows);
    return runNamed(client, sql, bindings, { __knexQueryUid: compiled.__knexQueryUid, method: compiled.method }, shape, query).then(
      onFulfilled,
      onRejected,
    );
  };
  return Object.assign(query, { then });
}

type PgConnection = pg.Client & { connection: { parsedStatements: Record<string, string> }; __knexUid?: string; __knexTxId?: string };
type KnexClient = {
  transacting?: boolean;
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<unknown>;
  emit(event: string, ...args: unknown[]): boolean;
};
type Compiled = {
  sql: string;
  bindings: unknown[];
  method: string;
  __knexQueryUid: string;
  toNative(): { sql: string; bindings: unknown[] };
};

/**
 * Runs a text as a named statement on a pooled connection and emits knex's `query`, `query-response` and
 * `query-error` events for it, as knex's runner would (the metrics time them, the principal barrier counts them).
 */
async function runNamed(
  client: KnexClient,
  sql: string,
  bindings: unknown[],
  ids: { __knexQueryUid: string; method: string },
  shape: (rows: unknown[]) => unknown,
  builder?: Knex.QueryBuilder,
): Promise<unknown> {
  const connection = await client.acquireConnection();
  const event = { __knexUid: connection.__knexUid, __knexTxId: connection.__knexTxId, ...ids, sql, bindings };
  try {
    client.emit('query', event);
    let result: unknown;
    try {
      result = shape((await queryNamed(connection, sql, bindings)).rows);
    } catch (err) {
      client.emit('query-error', err, event);
      throw err;
    }
    client.emit('query-response', result, event, builder);
    return result;
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * Runs `run` (which sends the statement `name`) and, when a table changed under the prepared statement (a
 * rolling upgrade's migration added a column under `SELECT *`), forgets the statement and runs it again.
 */
async function reprepareIfStale<T>(connection: PgConnection, name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if ((err as { code?: string }).code !== '0A000' || !/cached plan must not change result type/.test((err as Error).message)) throw err;
    await connection.query(`DEALLOCATE ${name}`);
    delete connection.connection.parsedStatements[name];
    return run();
  }
}

/** Runs a text as a named statement on a connection. */
function queryNamed(connection: PgConnection, text: string, values: unknown[]): Promise<pg.QueryResult> {
  const name = statementName(text);
  return reprepareIfStale(connection, name, () => connection.query({ name, text, values }));
}

type RawClient = { _query(connection: PgConnection, obj: { sql: string; options?: Record<string, unknown> }): Promise<unknown> };

/** Runs queries marked by {@link prepared} as named statements, re-preparing one that a migration made stale. */
function namePreparedQueries(db: Knex): void {
  const client = db.client as unknown as RawClient;
  const run = client._query.bind(client);
  client._query = async (connection, obj) => {
    if (!obj.options?.[PREPARE]) return run(connection, obj);
    const name = statementName(obj.sql);
    obj.options = { name };
    return reprepareIfStale(connection, name, () => run(connection, obj));
  };
}

/** Creates the connection pool for the clinical database. */
export function createKnex(config: Pick<Config, 'db'>, overrides: Partial<Knex.Config> = {}, logger?: Logger): Knex {
  const db = knexFactory({
    // Knex writes pool errors to the console by default; keep them in the structured log instead.
    log: {
      warn: (message: unknown) => logger?.warn({ knex: String(message) }, 'knex warning'),
      error: (message: unknown) => logger?.error({ knex: String(message) }, 'knex error'),
      deprecate: (message: unknown) => logger?.warn({ knex: String(message) }, 'knex deprecation'),
      debug: () => undefined,
    },
    client: 'pg',
    connection: {
      host: config.db.host,
      port: config.db.port,
      user: config.db.user,
      password: config.db.password,
      database: config.db.name,
      application_name: 'mediconnect',
      // Requests are short and many run at once: a parallel plan (chosen once a doctor's scope holds thousands of
      // rows) spends more starting workers and merging than it saves, and takes cores from the requests beside it
      // (bench:scale: a doctor's entries across its patients 2.8× slower at scale with it). Set at connection start.
      options: '-c max_parallel_workers_per_gather=0',
    },
    pool: { min: 0, max: config.db.poolMax },
    acquireConnectionTimeout: 10_000,
    ...overrides,
  });
  namePreparedQueries(db);
  return db;
}

/**
 * Runs a fixed SQL statement as a named prepared statement on a pooled connection: PostgreSQL plans it
 * once per connection instead of on every call. Only for statements whose text never varies (the name
 * is derived from the text), on the hot path of every request.
 */
export async function preparedQuery<T>(db: Knex, sql: string, values: unknown[]): Promise<T[]> {
  return (await runNamed(
    db.client as unknown as KnexClient,
    sql,
    values,
    { __knexQueryUid: randomUUID(), method: 'raw' },
    (rows) => rows,
  )) as T[];
}
