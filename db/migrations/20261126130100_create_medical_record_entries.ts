import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Clinical text (title, content, prescription details) lives only in `payload`, AES-256-GCM encrypted
  // with the key named by `key_id`; type and dates stay clear so the record can be filtered and sorted.
  await knex.schema.createTable('medical_record_entries', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('patient_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.text('type').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.text('key_id').notNullable();
    t.text('payload').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.uuid('author_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('updated_by').references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.uuid('deleted_by').references('id').inTable('users').onDelete('RESTRICT');
    t.index(['patient_id', 'type', 'recorded_at']);
  });
  await knex.raw(`ALTER TABLE medical_record_entries ADD CONSTRAINT medical_record_entries_type_check
    CHECK (type IN ('consultation', 'antecedent', 'treatment', 'prescription', 'allergy', 'note'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('medical_record_entries');
}
