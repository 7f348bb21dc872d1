import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The patient's profile; name, e-mail and phone live on its `users` row.
  await knex.schema.createTable('patients', (t) => {
    t.uuid('user_id').primary().references('id').inTable('users').onDelete('RESTRICT');
    // DICOM PatientID and the {patientId} of the image storage path: unique and never changed.
    t.text('identifier').notNullable().unique();
    t.date('birth_date').notNullable();
    t.text('sex').notNullable();
    t.uuid('created_by').references('id').inTable('users').onDelete('RESTRICT');
  });
  await knex.raw(`ALTER TABLE patients ADD CONSTRAINT patients_sex_check CHECK (sex IN ('female', 'male', 'other', 'unknown'))`);
  await knex.raw(`ALTER TABLE patients ADD CONSTRAINT patients_identifier_format CHECK (identifier ~ '^[A-Z0-9]{4,64}$')`);
  await knex.raw(`
    CREATE FUNCTION patients_identifier_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.identifier IS DISTINCT FROM OLD.identifier THEN
        RAISE EXCEPTION 'a patient identifier never changes' USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER patients_identifier_immutable BEFORE UPDATE ON patients
      FOR EACH ROW EXECUTE FUNCTION patients_identifier_immutable();
  `);
  await knex.raw('CREATE INDEX patients_birth_date_idx ON patients (birth_date)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('patients');
  await knex.raw('DROP FUNCTION IF EXISTS patients_identifier_immutable()');
}
