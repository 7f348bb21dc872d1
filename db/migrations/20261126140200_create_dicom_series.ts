import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('dicom_series', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('orthanc_id').notNullable().unique();
    t.uuid('study_id').notNullable().references('id').inTable('dicom_studies').onDelete('CASCADE');
    t.text('series_instance_uid').notNullable();
    t.text('modality');
    t.text('description');
    t.text('body_part');
    t.integer('series_number');
    t.integer('number_of_instances').notNullable().defaultTo(0);
    t.bigInteger('size_bytes').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['study_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dicom_series');
}
