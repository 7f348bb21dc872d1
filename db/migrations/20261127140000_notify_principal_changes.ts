import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Processes that cache principals (common/principal-cache.ts) LISTEN here: a logout, a deactivation, a
  // deletion or a change to what a principal carries drops their entries in the same commit. Sessions are
  // only ever revoked (never un-revoked); users' logins (last_login_at) notify nothing.
  await knex.raw(`
    CREATE FUNCTION notify_principal_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('mediconnect_principal', TG_ARGV[0] || ':' || OLD.id::text);
      RETURN NULL;
    END $$;
    CREATE TRIGGER sessions_notify_principal AFTER UPDATE ON sessions FOR EACH ROW
      WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.user_id IS DISTINCT FROM NEW.user_id)
      EXECUTE FUNCTION notify_principal_change('s');
    CREATE TRIGGER sessions_notify_principal_delete AFTER DELETE ON sessions FOR EACH ROW
      EXECUTE FUNCTION notify_principal_change('s');
    CREATE TRIGGER users_notify_principal AFTER UPDATE ON users FOR EACH ROW
      WHEN ((OLD.email, OLD.role, OLD.hospital_id, OLD.is_active, OLD.must_change_password, OLD.deleted_at, OLD.locale,
             OLD.first_name, OLD.last_name, OLD.password_hash)
            IS DISTINCT FROM
            (NEW.email, NEW.role, NEW.hospital_id, NEW.is_active, NEW.must_change_password, NEW.deleted_at, NEW.locale,
             NEW.first_name, NEW.last_name, NEW.password_hash))
      EXECUTE FUNCTION notify_principal_change('u');
    CREATE TRIGGER users_notify_principal_delete AFTER DELETE ON users FOR EACH ROW
      EXECUTE FUNCTION notify_principal_change('u');
    CREATE TRIGGER hospitals_notify_principal AFTER UPDATE ON hospitals FOR EACH ROW
      WHEN ((OLD.is_active, OLD.deleted_at) IS DISTINCT FROM (NEW.is_active, NEW.deleted_at))
      EXECUTE FUNCTION notify_principal_change('h');
    CREATE TRIGGER hospitals_notify_principal_delete AFTER DELETE ON hospitals FOR EACH ROW
      EXECUTE FUNCTION notify_principal_change('h');
  `);
}

export async function down(knex: Knex): Promise<void> {
  for (const [trigger, table] of [
    ['sessions_notify_principal', 'sessions'],
    ['sessions_notify_principal_delete', 'sessions'],
    ['users_notify_principal', 'users'],
    ['users_notify_principal_delete', 'users'],
    ['hospitals_notify_principal', 'hospitals'],
    ['hospitals_notify_principal_delete', 'hospitals'],
  ]) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`);
  }
  await knex.raw('DROP FUNCTION IF EXISTS notify_principal_change()');
}
