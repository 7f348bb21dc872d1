import type { DatabaseConfig } from '../../common/config.js';
import { createKnex } from '../../common/db.js';
import { migrateLatest, rollbackLastBatch } from '../../db/migrate.js';
import { seedSuperAdmin } from '../../db/seeds/super-admin.js';

/** Applies pending migrations and, unless told otherwise, the idempotent seed. */
export async function migrateAndSeed(
  config: DatabaseConfig,
  options: { seed: boolean },
): Promise<{ applied: string[]; superAdminCreated: boolean }> {
  const knex = createKnex(config, { pool: { min: 0, max: 2 } });
  try {
    const applied = await migrateLatest(knex);
    const superAdminCreated = options.seed ? await seedSuperAdmin(knex, config.superAdminEmail, config.bcryptRounds) : false;
    return { applied, superAdminCreated };
  } finally {
    await knex.destroy();
  }
}

/** Undoes the last batch of migrations; returns their names, newest first. */
export async function rollback(config: DatabaseConfig): Promise<string[]> {
  const knex = createKnex(config, { pool: { min: 0, max: 2 } });
  try {
    return await rollbackLastBatch(knex);
  } finally {
    await knex.destroy();
  }
}
