import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The proxy caches what a viewer token resolves to (common/principal-cache.ts): ending a viewer session or a
  // share link, or shortening its life, drops it in every process in the same commit.
  await knex.raw(`
    CREATE TRIGGER viewer_sessions_notify AFTER UPDATE ON viewer_sessions FOR EACH ROW
      WHEN ((OLD.revoked_at, OLD.expires_at, OLD.session_id, OLD.user_id, OLD.study_instance_uid)
            IS DISTINCT FROM (NEW.revoked_at, NEW.expires_at, NEW.session_id, NEW.user_id, NEW.study_instance_uid))
      EXECUTE FUNCTION notify_principal_change('v');
    CREATE TRIGGER viewer_sessions_notify_delete AFTER DELETE ON viewer_sessions FOR EACH ROW
      EXECUTE FUNCTION notify_principal_change('v');
    CREATE TRIGGER study_shares_notify AFTER UPDATE ON study_shares FOR EACH ROW
      WHEN ((OLD.revoked_at, OLD.expires_at, OLD.created_by, OLD.study_instance_uid)
            IS DISTINCT FROM (NEW.revoked_at, NEW.expires_at, NEW.created_by, NEW.study_instance_uid))
      EXECUTE FUNCTION notify_principal_change('k');
    CREATE TRIGGER study_shares_notify_delete AFTER DELETE ON study_shares FOR EACH ROW
      EXECUTE FUNCTION notify_principal_change('k');
  `);
}

export async function down(knex: Knex): Promise<void> {
  for (const [trigger, table] of [
    ['viewer_sessions_notify', 'viewer_sessions'],
    ['viewer_sessions_notify_delete', 'viewer_sessions'],
    ['study_shares_notify', 'study_shares'],
    ['study_shares_notify_delete', 'study_shares'],
  ]) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
  }
}
