import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A viewer session without a study opens the caller's study list (every study it may read).
  await knex.schema.alterTable('viewer_sessions', (t) => {
    t.text('study_instance_uid').nullable().alter();
  });
  // Share links: one study, read-only, no account; only a hash of the token is kept. A link works while
  // its creator may still read the study (the proxy checks the creator's access on every request).
  await knex.schema.createTable('study_shares', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('study_id').notNullable().references('id').inTable('dicom_studies').onDelete('CASCADE');
    t.text('study_instance_uid').notNullable();
    t.uuid('patient_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('created_by').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.text('token_hash').notNullable().unique();
    t.text('recipient_email');
    t.text('note');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.uuid('revoked_by').references('id').inTable('users').onDelete('RESTRICT');
    t.index(['study_id', 'expires_at']);
  });
  // Key images a doctor marks in a study, printed with its reports.
  await knex.schema.createTable('dicom_key_images', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('study_id').notNullable().references('id').inTable('dicom_studies').onDelete('CASCADE');
    t.text('series_instance_uid').notNullable();
    t.text('sop_instance_uid').notNullable();
    t.integer('frame').notNullable().defaultTo(1);
    t.text('orthanc_instance_id').notNullable();
    t.text('note');
    t.uuid('created_by').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['study_id', 'sop_instance_uid', 'frame']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('dicom_key_images');
  await knex.schema.dropTable('study_shares');
  await knex('viewer_sessions').whereNull('study_instance_uid').delete();
  await knex.schema.alterTable('viewer_sessions', (t) => {
    t.text('study_instance_uid').notNullable().alter();
  });
}
