import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Where the indexer stands in Orthanc's /changes feed. One row, locked while a batch is processed, so
  // several API processes never index the same changes concurrently and a restart resumes here.
  await knex.schema.createTable('dicom_index_cursor', (t) => {
    t.integer('id').primary();
    t.bigInteger('last_seq').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE dicom_index_cursor ADD CONSTRAINT dicom_index_cursor_single_row CHECK (id = 1)');
  await knex('dicom_index_cursor').insert({ id: 1, last_seq: 0 });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dicom_index_cursor');
}
