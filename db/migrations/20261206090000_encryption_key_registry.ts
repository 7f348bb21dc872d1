import type { Knex } from 'knex';

// Which key sealed this database's clinical text, by fingerprint (never the key): a process started with another
// key under the same id (a lost .data/secrets.json, a typo in ENCRYPTION_KEYS) refuses to start instead of
// answering every record read with a decryption failure (issue 22).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('encryption_keys', (t) => {
    t.text('key_id').primary();
    t.text('fingerprint').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('encryption_keys');
}
