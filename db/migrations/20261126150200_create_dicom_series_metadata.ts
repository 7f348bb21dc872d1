import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Series metadata (WADO-RS) is Orthanc's slow path: it reads every instance. Stable series are computed
  // once and kept here, gzipped, with Orthanc's base URL replaced by a placeholder.
  await knex.schema.createTable('dicom_series_metadata', (t) => {
    t.text('orthanc_series_id').primary();
    t.text('study_instance_uid').notNullable();
    t.text('series_instance_uid').notNullable();
    t.text('last_update').notNullable();
    t.integer('instances').notNullable();
    t.binary('body_gzip').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dicom_series_metadata');
}
