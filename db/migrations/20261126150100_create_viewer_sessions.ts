import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Short-lived tokens that open one study in the viewer through the DICOMweb proxy, and nothing else.
  await knex.schema.createTable('viewer_sessions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('study_id').references('id').inTable('dicom_studies').onDelete('SET NULL');
    t.text('study_instance_uid').notNullable();
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.index(['user_id', 'expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('viewer_sessions');
}
