import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS btree_gist');
  await knex.schema.createTable('appointments', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('patient_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('doctor_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('hospital_id').notNullable().references('id').inTable('hospitals').onDelete('RESTRICT');
    t.timestamp('starts_at', { useTz: true }).notNullable();
    t.timestamp('ends_at', { useTz: true }).notNullable();
    t.text('reason').notNullable();
    t.text('status').notNullable().defaultTo('requested');
    t.text('status_reason');
    t.uuid('requested_by').references('id').inTable('users').onDelete('RESTRICT');
    t.uuid('status_changed_by').references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('status_changed_at', { useTz: true });
    t.timestamp('reminder_sent_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['doctor_id', 'starts_at']);
    t.index(['patient_id', 'starts_at']);
    t.index(['hospital_id', 'starts_at']);
  });
  await knex.raw(`ALTER TABLE appointments ADD CONSTRAINT appointments_status_check
    CHECK (status IN ('requested', 'validated', 'cancelled', 'completed', 'no_show'))`);
  await knex.raw('ALTER TABLE appointments ADD CONSTRAINT appointments_time_check CHECK (ends_at > starts_at)');
  // The last word on double booking: two validated appointments of one doctor can never overlap,
  // however many secretaries validate at the same moment.
  await knex.raw(`ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
    EXCLUDE USING gist (doctor_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (status = 'validated')`);
  await knex.raw(`CREATE INDEX appointments_reminder_due_idx ON appointments (starts_at)
    WHERE status = 'validated' AND reminder_sent_at IS NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('appointments');
}
