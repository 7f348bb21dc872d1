import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Knex migrator settings shared by the start script, the test harness and `npm run db:migrate`. */
export const migrationConfig: Knex.MigratorConfig = {
  directory: path.join(here, 'migrations'),
  loadExtensions: ['.ts', '.js'],
  tableName: 'knex_migrations',
};

/** Brings the schema to the latest version; safe to run concurrently (knex takes a lock). */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(migrationConfig)) as [number, string[]];
  return applied;
}

/**
 * Undoes the last batch of migrations (what one start or `db:migrate` applied at once) with their `down()`;
 * returns their names, newest first. A `down()` cannot bring back data its `up()` transformed.
 */
export async function rollbackLastBatch(knex: Knex): Promise<string[]> {
  const [, undone] = (await knex.migrate.rollback(migrationConfig)) as [number, string[]];
  return undone;
}
