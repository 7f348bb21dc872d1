import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('hospitals', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable();
    t.text('address');
    t.text('city');
    t.text('phone');
    t.text('email');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Soft delete: rows stay so that audit entries and medical data keep their references.
    t.timestamp('deleted_at', { useTz: true });
  });
  await knex.raw('CREATE INDEX hospitals_name_idx ON hospitals (lower(name)) WHERE deleted_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('hospitals');
}
