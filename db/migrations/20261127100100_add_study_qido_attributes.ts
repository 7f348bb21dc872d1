import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // QIDO at the root is answered from the study index: it keeps the two study attributes OHIF's study
  // list asks for that it did not hold yet. Filled by the next refresh of each study (upload, indexer).
  await knex.schema.alterTable('dicom_studies', (t) => {
    t.text('referring_physician_name');
    t.text('dicom_study_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('dicom_studies', (t) => {
    t.dropColumn('referring_physician_name');
    t.dropColumn('dicom_study_id');
  });
}
