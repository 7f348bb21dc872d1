import type { Knex } from 'knex';

// The device gate and the upload ask, for every pushed instance, whether its study or series is
// already held under another PatientID (object key `patients/{PatientID}/studies/{Study}/series/{Series}/…`),
// as the upload asks for the SOP Instance UID: indexed by those segments, each question is one index lookup.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index orthanc_storage_keys_study on orthanc_storage_keys (split_part(object_key, '/', 4)) where object_key is not null`,
  );
  await knex.raw(
    `create index orthanc_storage_keys_series on orthanc_storage_keys (split_part(object_key, '/', 6)) where object_key is not null`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index orthanc_storage_keys_series');
  await knex.raw('drop index orthanc_storage_keys_study');
}
