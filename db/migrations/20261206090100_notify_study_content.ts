import type { Knex } from 'knex';

// The proxy keeps frames of recently read instances: it drops a study's when the study's content or owner
// changes (an instance or series added or removed, moved to another patient, the study deleted or erased).
// A channel of its own, with the StudyInstanceUID as payload: the access channel empties every read decision,
// which a frame cache must not do for each new upload.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION notify_study_content_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.patient_id IS NOT DISTINCT FROM OLD.patient_id
        AND NEW.study_instance_uid = OLD.study_instance_uid
        AND NEW.number_of_series = OLD.number_of_series
        AND NEW.number_of_instances = OLD.number_of_instances
        AND NEW.size_bytes = OLD.size_bytes THEN
        RETURN NULL;
      END IF;
      PERFORM pg_notify('mediconnect_study_content', OLD.study_instance_uid);
      IF TG_OP = 'UPDATE' AND NEW.study_instance_uid <> OLD.study_instance_uid THEN
        PERFORM pg_notify('mediconnect_study_content', NEW.study_instance_uid);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER dicom_studies_notify_content AFTER UPDATE OR DELETE ON dicom_studies
      FOR EACH ROW EXECUTE FUNCTION notify_study_content_change();

    CREATE FUNCTION notify_series_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('mediconnect_study_content', s.study_instance_uid) FROM dicom_studies s WHERE s.id = OLD.study_id;
      RETURN NULL;
    END $$;
    CREATE TRIGGER dicom_series_notify_content AFTER DELETE ON dicom_series
      FOR EACH ROW EXECUTE FUNCTION notify_series_removed();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS dicom_series_notify_content ON dicom_series;
    DROP FUNCTION IF EXISTS notify_series_removed();
    DROP TRIGGER IF EXISTS dicom_studies_notify_content ON dicom_studies;
    DROP FUNCTION IF EXISTS notify_study_content_change();
  `);
}
