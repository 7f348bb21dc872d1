import type { Knex } from 'knex';

// A doctor's scope reads its patients from its links: (doctor_id, patient_id) answers it from the index alone,
// where the plain doctor_id index sent the planner to a full scan of the (patient_id, doctor_id) one (bench:scale).
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX patient_doctor_links_doctor_patient ON patient_doctor_links (doctor_id, patient_id)');
  await knex.raw('DROP INDEX IF EXISTS patient_doctor_links_doctor_id_index');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS patient_doctor_links_doctor_id_index ON patient_doctor_links (doctor_id)');
  await knex.raw('DROP INDEX patient_doctor_links_doctor_patient');
}
