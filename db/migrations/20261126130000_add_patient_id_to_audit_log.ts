import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Which patient's data an entry concerns, so a patient can list who accessed its record.
  await knex.schema.alterTable('audit_log', (t) => {
    t.uuid('patient_id');
    t.index(['patient_id', 'occurred_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropColumn('patient_id');
  });
}
