import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Weekly hours in the doctor's own time zone (so they follow daylight saving), exceptions as UTC instants.
  await knex.schema.createTable('doctor_availability', (t) => {
    t.uuid('doctor_id').primary().references('id').inTable('users').onDelete('RESTRICT');
    t.text('timezone').notNullable();
    t.jsonb('weekly').notNullable().defaultTo('[]');
    t.jsonb('exceptions').notNullable().defaultTo('[]');
    t.uuid('updated_by').references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('doctor_availability');
}
