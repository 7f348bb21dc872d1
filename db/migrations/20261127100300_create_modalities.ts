import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // The DICOM devices of a hospital that may push images (C-STORE) to the imaging store.
  await knex.schema.createTable('modalities', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('hospital_id').notNullable().references('id').inTable('hospitals').onDelete('RESTRICT');
    t.text('ae_title').notNullable();
    t.text('host').notNullable();
    t.integer('port').notNullable();
    t.text('description');
    t.boolean('is_active').notNullable().defaultTo(true);
    t.uuid('created_by').references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.index(['hospital_id']);
  });
  // An AE title names one device across every hospital: Orthanc tells callers apart by it.
  await knex.raw('CREATE UNIQUE INDEX modalities_ae_title_unique ON modalities (ae_title) WHERE deleted_at IS NULL');
  await knex.raw(`ALTER TABLE modalities ADD CONSTRAINT modalities_port_check CHECK (port BETWEEN 1 AND 65535)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('modalities');
}
