import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The link is what grants a doctor access to a patient's records and images.
  await knex.schema.createTable('patient_doctor_links', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('patient_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('doctor_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.text('source').notNullable();
    t.uuid('appointment_id');
    t.uuid('created_by').references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['patient_id', 'doctor_id']);
    t.index(['doctor_id']);
  });
  await knex.raw(`ALTER TABLE patient_doctor_links ADD CONSTRAINT patient_doctor_links_source_check
    CHECK (source IN ('patient_creation', 'appointment', 'secretary'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('patient_doctor_links');
}
