import type { Knex } from 'knex';

// A secretary's patients are those linked to its hospital's doctors. A doctor never changes hospital, so the link
// can carry the doctor's hospital, set by the database itself on insert, and the scope becomes one index range
// (hospital, patient) instead of a scan of every link (bench:scale).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('patient_doctor_links', (t) => {
    t.uuid('hospital_id');
  });
  await knex.raw(`UPDATE patient_doctor_links l SET hospital_id = d.hospital_id FROM users d WHERE d.id = l.doctor_id`);
  await knex.raw(`
    CREATE FUNCTION patient_doctor_links_hospital() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT hospital_id INTO NEW.hospital_id FROM users WHERE id = NEW.doctor_id;
      RETURN NEW;
    END $$;
    CREATE TRIGGER patient_doctor_links_hospital BEFORE INSERT OR UPDATE OF doctor_id ON patient_doctor_links
      FOR EACH ROW EXECUTE FUNCTION patient_doctor_links_hospital();
    CREATE INDEX patient_doctor_links_hospital_patient ON patient_doctor_links (hospital_id, patient_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER patient_doctor_links_hospital ON patient_doctor_links;
    DROP FUNCTION patient_doctor_links_hospital();
  `);
  await knex.schema.alterTable('patient_doctor_links', (t) => {
    t.dropColumn('hospital_id');
  });
}
