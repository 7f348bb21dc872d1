import { createHash } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

// Return timestamps as Date and bigints (counts) as numbers small enough for JSON.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
// Calendar dates (birth dates) stay 'YYYY-MM-DD' strings, never shifted through a Date and a time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v);

/** Creates the connection pool for the clinical database. */
export function createKnex(config: Pick<Config, 'db'>, overrides: Partial<Knex.Config> = {}, logger?: Logger): Knex {
  return knexFactory({
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
}

/**
 * Runs a fixed SQL statement as a named prepared statement on a pooled connection: PostgreSQL plans it
 * once per connection instead of on every call. Only for statements whose text never varies (the name
 * is derived from the text), on the hot path of every request.
 */
export async function preparedQuery<T>(db: Knex, sql: string, values: unknown[]): Promise<T[]> {
  const name = `mc_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
  const client = db.client as { acquireConnection(): Promise<pg.Client>; releaseConnection(c: pg.Client): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    return (await connection.query({ name, text: sql, values })).rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}
