import type { Knex } from 'knex';

// Two browser tabs refreshing with the same token at once: the second, within a short grace, gets the pair the
// first was given instead of ending the session. The successor refresh token is kept sealed (encrypted with
// the clinical keys, bound to its row) on the used row — only for that answer; only hashes identify tokens.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_tokens', (t) => {
    t.text('successor_sealed');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_tokens', (t) => {
    t.dropColumn('successor_sealed');
  });
}
