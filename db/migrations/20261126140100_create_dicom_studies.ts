import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The study index, kept in sync with Orthanc by the indexer. A study whose DICOM PatientID matches
  // no MediConnect patient has no patient_id: invisible to doctors and patients until reconciled.
  await knex.schema.createTable('dicom_studies', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('orthanc_id').notNullable().unique();
    t.text('study_instance_uid').notNullable();
    t.uuid('patient_id').references('id').inTable('users').onDelete('RESTRICT');
    t.text('dicom_patient_id');
    t.uuid('doctor_id').references('id').inTable('users').onDelete('RESTRICT');
    t.date('study_date');
    t.text('study_time');
    t.specificType('modalities', 'text[]').notNullable().defaultTo('{}');
    t.text('dicom_description');
    t.text('custom_description');
    t.specificType('labels', 'text[]').notNullable().defaultTo('{}');
    t.text('accession_number');
    t.specificType('body_parts', 'text[]').notNullable().defaultTo('{}');
    t.integer('number_of_series').notNullable().defaultTo(0);
    t.integer('number_of_instances').notNullable().defaultTo(0);
    t.bigInteger('size_bytes').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['patient_id', 'study_date']);
    t.index(['study_instance_uid']);
  });
  await knex.raw('CREATE INDEX dicom_studies_unmatched_idx ON dicom_studies (created_at) WHERE patient_id IS NULL');
  await knex.raw('CREATE INDEX dicom_studies_modalities_idx ON dicom_studies USING gin (modalities)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dicom_studies');
}
