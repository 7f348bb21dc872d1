import type { Knex } from 'knex';
import type { Principal } from './principal.js';

/**
 * The patient identifiers (DICOM PatientIDs) whose images the caller may see: a doctor's linked patients
 * (any hospital), a patient itself, nobody's for anyone else. The one access query on the link table
 * shared by the API and the DICOMweb proxy.
 */
export async function visiblePatientIdentifiers(db: Knex, who: Pick<Principal, 'role' | 'userId'>): Promise<Set<string>> {
  let rows: { identifier: string }[] = [];
  if (who.role === 'doctor') {
    rows = await db('patient_doctor_links as l').join('patients as p', 'p.user_id', 'l.patient_id').where('l.doctor_id', who.userId).select('p.identifier');
  } else if (who.role === 'patient') {
    rows = await db('patients').where('user_id', who.userId).select('identifier');
  }
  return new Set(rows.map((r) => r.identifier));
}
