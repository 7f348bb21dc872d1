import type { Knex } from 'knex';

// A secretary's patient scope starts from its hospital's doctors, deleted ones included (their patients stay in
// the hospital's care): the existing partial index (live accounts only) cannot serve it.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX users_hospital_idx ON users (hospital_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX users_hospital_idx');
}
