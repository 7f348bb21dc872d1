import { createHash } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

// Return timestamps as Date and bigints (counts) as numbers small enough for JSON.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
// Calendar dates (birth dates) stay 'YYYY-MM-DD' strings, never shifted through a Date and a time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v);

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
 */
export function prepared<Q extends Knex.QueryBuilder>(query: Q): Q {
  return query.options({ [PREPARE]: true }) as Q;
}

type RawClient = { _query(connection: pg.Client & { connection: { parsedStatements: Record<string, string> } }, obj: { sql: string; options?: Record<string, unknown> }): Promise<unknown> };

/** Runs queries marked by {@link prepared} as named statements, re-preparing one that a migration made stale. */
function namePreparedQueries(db: Knex): void {
  const client = db.client as unknown as RawClient;
  const run = client._query.bind(client);
  client._query = async (connection, obj) => {
    if (!obj.options?.[PREPARE]) return run(connection, obj);
    const name = statementName(obj.sql);
    obj.options = { name };
    try {
      return await run(connection, obj);
    } catch (err) {
      // A table changed under the statement (a rolling upgrade's migration added a column): prepare it again.
      if ((err as { code?: string }).code !== '0A000' || !/cached plan must not change result type/.test((err as Error).message)) throw err;
      await connection.query(`DEALLOCATE ${name}`);
      delete connection.connection.parsedStatements[name];
      return run(connection, obj);
    }
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
  const name = statementName(sql);
  const client = db.client as { acquireConnection(): Promise<pg.Client>; releaseConnection(c: pg.Client): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name, text: sql, values })).rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}
