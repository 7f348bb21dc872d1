import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('patient_doctor_links', (t) => {
    t.foreign('appointment_id').references('id').inTable('appointments').onDelete('RESTRICT');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('patient_doctor_links', (t) => {
    t.dropForeign(['appointment_id']);
  });
}
