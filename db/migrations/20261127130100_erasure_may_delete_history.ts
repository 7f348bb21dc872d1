import type { Knex } from 'knex';

// The record history stays append-only, except for the audited erasure of one patient on request
// (api/src/patients/erase.ts), which sets `mediconnect.erasure` for its own transaction only.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION medical_record_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('mediconnect.erasure', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'medical record history is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION medical_record_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'medical record history is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$;
  `);
}
