import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Written by Orthanc's storage plugin (orthanc/storage_plugin.py): which object key holds each of
  // Orthanc's attachments. Shared by every Orthanc process, so they can serve each other's files.
  // Only DICOM instances go to the object store (one object each); Orthanc's small auxiliary
  // attachments (e.g. the header cache "dicom-until-pixel-data") are kept inline here.
  await knex.schema.createTable('orthanc_storage_keys', (t) => {
    t.text('uuid').primary();
    t.text('object_key');
    t.binary('inline_data');
    t.integer('content_type').notNullable();
    t.bigInteger('size').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['object_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('orthanc_storage_keys');
}
