import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // A viewer session belongs to the login session that opened it. The revocations below live in the
  // database so that no code path (logout, password change, deactivation, deletion) can forget them,
  // and a later reactivation cannot bring an ended viewer session back.
  await knex.schema.alterTable('viewer_sessions', (t) => {
    t.uuid('session_id').references('id').inTable('sessions').onDelete('RESTRICT');
    t.index(['session_id']);
  });
  // Sessions opened before this migration have no login session: end them.
  await knex('viewer_sessions').whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
  await knex.raw(`
    CREATE FUNCTION end_viewer_sessions_of_login() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
        UPDATE viewer_sessions SET revoked_at = now() WHERE session_id = NEW.id AND revoked_at IS NULL;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER sessions_end_viewer_sessions AFTER UPDATE OF revoked_at ON sessions
      FOR EACH ROW EXECUTE FUNCTION end_viewer_sessions_of_login();

    CREATE FUNCTION end_viewer_sessions_of_user() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (OLD.is_active AND NOT NEW.is_active)
        OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL)
        OR NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        UPDATE viewer_sessions SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER users_end_viewer_sessions AFTER UPDATE OF is_active, deleted_at, password_hash ON users
      FOR EACH ROW EXECUTE FUNCTION end_viewer_sessions_of_user();

    CREATE FUNCTION end_viewer_sessions_of_hospital() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (OLD.is_active AND NOT NEW.is_active) OR (NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL) THEN
        UPDATE viewer_sessions v SET revoked_at = now()
          FROM users u WHERE u.id = v.user_id AND u.hospital_id = NEW.id AND v.revoked_at IS NULL;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER hospitals_end_viewer_sessions AFTER UPDATE OF is_active, deleted_at ON hospitals
      FOR EACH ROW EXECUTE FUNCTION end_viewer_sessions_of_hospital();

    -- Who owns a study is read from the study index: processes caching read decisions drop them when
    -- a study appears, moves to another patient or disappears.
    CREATE FUNCTION notify_study_owner_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.patient_id IS NOT DISTINCT FROM OLD.patient_id
        AND NEW.study_instance_uid = OLD.study_instance_uid THEN
        RETURN NULL;
      END IF;
      PERFORM pg_notify('mediconnect_access', 'study');
      RETURN NULL;
    END $$;
    CREATE TRIGGER dicom_studies_notify AFTER INSERT OR UPDATE OR DELETE ON dicom_studies
      FOR EACH ROW EXECUTE FUNCTION notify_study_owner_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS dicom_studies_notify ON dicom_studies;
    DROP FUNCTION IF EXISTS notify_study_owner_change();
    DROP TRIGGER IF EXISTS hospitals_end_viewer_sessions ON hospitals;
    DROP FUNCTION IF EXISTS end_viewer_sessions_of_hospital();
    DROP TRIGGER IF EXISTS users_end_viewer_sessions ON users;
    DROP FUNCTION IF EXISTS end_viewer_sessions_of_user();
    DROP TRIGGER IF EXISTS sessions_end_viewer_sessions ON sessions;
    DROP FUNCTION IF EXISTS end_viewer_sessions_of_login();
  `);
  await knex.schema.alterTable('viewer_sessions', (t) => t.dropColumn('session_id'));
}
