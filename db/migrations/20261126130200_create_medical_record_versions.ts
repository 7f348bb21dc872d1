import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Every state an entry ever had, encrypted like the entry: nothing written is ever lost.
  await knex.schema.createTable('medical_record_versions', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('entry_id').notNullable().references('id').inTable('medical_record_entries').onDelete('RESTRICT');
    t.integer('version').notNullable();
    t.text('change').notNullable();
    t.jsonb('changed_fields').notNullable().defaultTo('[]');
    t.uuid('changed_by').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('key_id').notNullable();
    t.text('payload').notNullable();
    t.unique(['entry_id', 'version']);
  });
  await knex.raw(`ALTER TABLE medical_record_versions ADD CONSTRAINT medical_record_versions_change_check
    CHECK (change IN ('created', 'updated', 'deleted'))`);
  await knex.raw(`
    CREATE FUNCTION medical_record_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'medical record history is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$;
    CREATE TRIGGER medical_record_versions_append_only BEFORE UPDATE OR DELETE ON medical_record_versions
      FOR EACH ROW EXECUTE FUNCTION medical_record_versions_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('medical_record_versions');
  await knex.raw('DROP FUNCTION IF EXISTS medical_record_versions_append_only()');
}
