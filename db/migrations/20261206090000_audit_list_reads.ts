import type { Knex } from 'knex';

// A list read is one audit entry naming every patient the page showed (it was one entry per patient, each with
// five indexes and a foreign key to maintain: the most-opened list spent more on its audit than on its rows). The
// patient's access log reads both shapes: `patient_id` (one patient) and `patient_ids` (a list read); entries
// written before keep their shape.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.specificType('patient_ids', 'uuid[]');
  });
  await knex.raw('CREATE INDEX audit_log_patient_ids_index ON audit_log USING gin (patient_ids) WHERE patient_ids IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('audit_log', (t) => {
    t.dropColumn('patient_ids');
  });
}
