import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid('actor_id').references('id').inTable('users').onDelete('RESTRICT');
    t.text('actor_role');
    t.text('action').notNullable();
    t.text('target_type');
    t.text('target_id');
    t.uuid('hospital_id');
    t.text('request_id');
    t.text('ip');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['actor_id', 'occurred_at']);
    t.index(['target_type', 'target_id', 'occurred_at']);
    t.index(['action', 'occurred_at']);
  });
  // The trail is append-only, whatever the application does.
  await knex.raw(`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.raw('DROP FUNCTION IF EXISTS audit_log_append_only()');
}
