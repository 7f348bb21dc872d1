import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Failed logins per account key and per client address; shared by every API replica.
  await knex.schema.createTable('login_failures', (t) => {
    t.bigIncrements('id').primary();
    t.text('kind').notNullable();
    t.text('key').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['kind', 'key', 'occurred_at']);
  });
  await knex.raw(`ALTER TABLE login_failures ADD CONSTRAINT login_failures_kind_check CHECK (kind IN ('account', 'ip'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('login_failures');
}
