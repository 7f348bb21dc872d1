import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // One patient per StudyInstanceUID, enforced by the database: two uploads racing with the same new UID
  // for two patients cannot both be indexed. Rows that already break the rule (from before) keep the
  // earliest owner; the others go to the quarantine (no patient), where nobody reads them.
  await knex.raw(`
    UPDATE dicom_studies s SET patient_id = NULL, updated_at = now()
    WHERE s.patient_id IS NOT NULL AND EXISTS (
      SELECT 1 FROM dicom_studies o
      WHERE o.study_instance_uid = s.study_instance_uid AND o.patient_id IS NOT NULL AND o.patient_id <> s.patient_id
        AND (o.created_at, o.id) < (s.created_at, s.id)
    )
  `);
  await knex.raw('CREATE UNIQUE INDEX dicom_studies_one_owner_per_uid ON dicom_studies (study_instance_uid) WHERE patient_id IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS dicom_studies_one_owner_per_uid');
}
