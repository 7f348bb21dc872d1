import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('doctor_profiles', (t) => {
    t.uuid('user_id').primary().references('id').inTable('users').onDelete('RESTRICT');
    t.text('specialty').notNullable();
    t.text('license_number');
  });
  await knex.raw('CREATE INDEX doctor_profiles_specialty_idx ON doctor_profiles (lower(specialty))');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('doctor_profiles');
}
