// Which device sent an instance: the device gate stores through Orthanc's REST API, where Orthanc records no
// calling AE title, so it writes a receipt keyed by Orthanc's instance id before the store; the indexer files
// studies by the receipt's hospital (api/src/dicom/index-sync.ts).
import type { Knex } from 'knex';

type Db = Knex | Knex.Transaction;

/** Records that `device` sent the instance Orthanc will know as `orthancInstanceId`. */
export async function writeReceipt(db: Db, orthancInstanceId: string, device: { aeTitle: string; hospitalId: string }): Promise<void> {
  await db('dicom_gate_receipts')
    .insert({ orthanc_instance_id: orthancInstanceId, ae_title: device.aeTitle, hospital_id: device.hospitalId })
    .onConflict('orthanc_instance_id')
    .merge(['ae_title', 'hospital_id', 'received_at']);
}

/**
 * After the API stored an instance anew: a receipt under its id is left from an earlier push of the same
 * instance, deleted since, and must not file the upload by that device.
 */
export async function forgetEarlierPush(db: Db, stored: { ID: string; Status: string }): Promise<void> {
  if (stored.Status === 'Success') await db('dicom_gate_receipts').where({ orthanc_instance_id: stored.ID }).delete();
}
