import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Which registered device pushed a study (C-STORE), so the quarantine is offered to that hospital only.
  await knex.schema.alterTable('dicom_studies', (t) => {
    t.text('source_ae_title');
    t.uuid('source_hospital_id').references('id').inTable('hospitals').onDelete('RESTRICT');
    t.index(['source_hospital_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('dicom_studies', (t) => {
    t.dropColumn('source_ae_title');
    t.dropColumn('source_hospital_id');
  });
}
