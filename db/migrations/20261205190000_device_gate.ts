import type { Knex } from 'knex';

// The device gate stores pushed instances through Orthanc's REST API, where Orthanc records no calling AE
// title: the gate writes which registered device sent each instance (by Orthanc's instance id, known
// before the store) so the indexer files it by that device's hospital. AE titles are compared without
// case by devices and by DICOM toolkits: two registrations differing only in case would be one device.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('dicom_gate_receipts', (t) => {
    t.text('orthanc_instance_id').primary();
    t.text('ae_title').notNullable();
    t.uuid('hospital_id').nullable().references('id').inTable('hospitals').onDelete('SET NULL');
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  const clashes = await knex('modalities')
    .whereNull('deleted_at')
    .groupByRaw('upper(ae_title)')
    .havingRaw('count(*) > 1')
    .select(knex.raw('upper(ae_title) as ae_title'));
  if (clashes.length > 0) {
    throw new Error(
      `These AE titles are registered more than once, differing only in case: ${clashes.map((c: { ae_title: string }) => c.ae_title).join(', ')}. ` +
        'Delete or rename one of each (DELETE /api/modalities/{id}), then migrate again.',
    );
  }
  await knex.raw('drop index modalities_ae_title_unique');
  await knex.raw('create unique index modalities_ae_title_unique on modalities (upper(ae_title)) where deleted_at is null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index modalities_ae_title_unique');
  await knex.raw('create unique index modalities_ae_title_unique on modalities (ae_title) where deleted_at is null');
  await knex.schema.dropTable('dicom_gate_receipts');
}
