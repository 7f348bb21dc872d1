import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The language an account reads MediConnect in (messages, notifications, e-mails); null: the request's Accept-Language.
  await knex.schema.alterTable('users', (t) => {
    t.text('locale');
  });
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_locale_check CHECK (locale IN ('en', 'fr'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('locale');
  });
}
