import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Reports are medical data: encrypted like record entries, and kept (with their patient and study UID)
  // even if the study is later deleted from the imaging store.
  await knex.schema.createTable('dicom_reports', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('study_id').references('id').inTable('dicom_studies').onDelete('SET NULL');
    t.text('study_instance_uid').notNullable();
    t.uuid('patient_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('author_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.text('key_id').notNullable();
    t.text('payload').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['study_id']);
    t.index(['patient_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dicom_reports');
}
