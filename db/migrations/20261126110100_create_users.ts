import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('email').notNullable();
    t.text('password_hash').notNullable();
    t.text('role').notNullable();
    t.uuid('hospital_id').references('id').inTable('hospitals').onDelete('RESTRICT');
    t.text('first_name').notNullable().defaultTo('');
    t.text('last_name').notNullable().defaultTo('');
    t.text('phone');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.boolean('must_change_password').notNullable().defaultTo(true);
    t.timestamp('password_changed_at', { useTz: true });
    t.timestamp('last_login_at', { useTz: true });
    t.uuid('created_by').references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Soft delete: a deleted account is gone from lists and login, but what it wrote keeps naming it.
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('super_admin', 'hospital_admin', 'doctor', 'secretary', 'patient'))`);
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_hospital_by_role_check
    CHECK ((role IN ('hospital_admin', 'doctor', 'secretary')) = (hospital_id IS NOT NULL))`);
  // E-mails are unique among live accounts only, so a deleted account's address can be reused.
  await knex.raw('CREATE UNIQUE INDEX users_email_live_unique ON users (lower(email)) WHERE deleted_at IS NULL');
  await knex.raw('CREATE INDEX users_hospital_role_idx ON users (hospital_id, role) WHERE deleted_at IS NULL');
  // An account belongs to its hospital forever: enforce it below the API too.
  await knex.raw(`
    CREATE FUNCTION users_hospital_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.hospital_id IS DISTINCT FROM OLD.hospital_id OR NEW.role IS DISTINCT FROM OLD.role THEN
        RAISE EXCEPTION 'hospital and role of an account cannot change' USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER users_hospital_immutable BEFORE UPDATE ON users
      FOR EACH ROW EXECUTE FUNCTION users_hospital_immutable();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
  await knex.raw('DROP FUNCTION IF EXISTS users_hospital_immutable()');
}
