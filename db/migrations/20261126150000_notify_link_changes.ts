import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Processes that cache who may see which patient (the DICOMweb proxy) LISTEN here and drop their cache.
  await knex.raw(`
    CREATE FUNCTION notify_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('mediconnect_access', COALESCE(NEW.patient_id, OLD.patient_id)::text);
      RETURN NULL;
    END $$;
    CREATE TRIGGER patient_doctor_links_notify AFTER INSERT OR UPDATE OR DELETE ON patient_doctor_links
      FOR EACH ROW EXECUTE FUNCTION notify_access_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS patient_doctor_links_notify ON patient_doctor_links');
  await knex.raw('DROP FUNCTION IF EXISTS notify_access_change()');
}
