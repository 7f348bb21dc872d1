// The patients an instance's PatientID can name: MediConnect writes a patient's identifier as PatientID
// (common/dicom/rewrite.ts), so a file carrying one was, or is meant to be, that patient's.
import type { Knex } from 'knex';
import { patientIdentity, type PatientIdentity } from '../dicom/rewrite.js';

/** Whether a MediConnect patient (erased or not) has this identifier. */
export async function identifierInUse(db: Knex, identifier: string): Promise<boolean> {
  return (await db('patients').where({ identifier }).first('user_id')) !== undefined;
}

/** The live patient with this identifier: its account id and the identity written into its instances. */
export async function patientByIdentifier(db: Knex, identifier: string): Promise<{ userId: string; identity: PatientIdentity } | null> {
  const patient:
    { user_id: string; identifier: string; first_name: string; last_name: string; birth_date: string; sex: string } | undefined = await db(
    'patients as p',
  )
    .join('users as u', 'u.id', 'p.user_id')
    .where('p.identifier', identifier)
    .whereNull('u.deleted_at')
    .first('p.user_id', 'p.identifier', 'u.first_name', 'u.last_name', 'p.birth_date', 'p.sex');
  return patient ? { userId: patient.user_id, identity: patientIdentity(patient) } : null;
}
