import type { Knex } from 'knex';
import { createKnex } from '../../common/db.js';
import { testConfig } from './server.js';

let db: Knex | null = null;

/** Direct database access, for checks the API does not expose (audit rows, stored hashes). */
export function testDb(): Knex {
  db ??= createKnex(testConfig(), { pool: { min: 0, max: 4 } });
  return db;
}

/** Closes the direct connection pool. */
export async function closeTestDb(): Promise<void> {
  await db?.destroy();
  db = null;
}
