import type { Knex } from 'knex';

// Orthanc's storage plugin writes one row per stored instance, before Orthanc's own index commits, whatever
// the path (upload, C-STORE, STOW): its object key `patients/{PatientID}/studies/{Study}/series/{Series}/{SOP}.dcm`
// says who holds a SOP Instance UID. Indexed by that segment, the upload asks PostgreSQL, not Orthanc (whose
// answer waits behind its own stores).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index orthanc_storage_keys_sop_file on orthanc_storage_keys (split_part(object_key, '/', 7)) where object_key is not null`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index orthanc_storage_keys_sop_file');
}
